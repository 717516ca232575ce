"""Where the checks get their right answers: the reference implementations.

Check modules never import :mod:`course_lib.reference` themselves. They ask this
module: ``ref = reference("norms")`` gives the reference module's functions and
constants, and a helper of a check module that needs a whole reference model (LeNet-5's
weights and logits) is marked :func:`stored`.

That is the seam between the two editions. Here, in the full edition, answers are
computed by the references, and :func:`recording` can write every answer a check uses
into an :class:`~course_lib.checks.stored.AnswerStore`. The student edition has no
references: its copy of this module (written by ``course bundle``) looks the same names
up in the store, so the same check code gives the same verdicts and messages there.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from course_lib.checks.stored import AnswerStore

#: The store answers are written to while :func:`recording` is active.
_recorder: AnswerStore | None = None


def is_recording() -> bool:
    """True inside :func:`recording` (the reference then stands in for the student)."""
    return _recorder is not None


@contextmanager
def recording(store: AnswerStore) -> Iterator[AnswerStore]:
    """Write into ``store`` every answer the checks compute while the block runs."""
    global _recorder
    previous, _recorder = _recorder, store
    try:
        yield store
    finally:
        _recorder = previous


def _recorded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, writing each call and its result into the active recorder, if any."""

    @functools.wraps(fn)
    def answer(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if _recorder is not None:
            _recorder.record(name, args, kwargs, result)
            if name not in _recorder.signatures:
                _recorder.signatures[name] = list(inspect.signature(fn).parameters)
        return result

    return answer


class References:
    """One reference module as the checks see it: its functions record their answers.

    Args:
        topic: the module of :mod:`course_lib.reference`, e.g. ``"activations"``.
    """

    def __init__(self, topic: str) -> None:
        self._topic = topic

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(f"course_lib.reference.{self._topic}")
        value = getattr(module, name)
        key = f"reference.{self._topic}.{name}"
        if callable(value) and not isinstance(value, type):
            # Wrapped on each look-up, not cached: the module's current attribute counts
            # (tests swap a reference function for a wrong one).
            return _recorded(key, value)
        if _recorder is not None and not isinstance(value, type):
            _recorder.constants[key] = value
        return value


@functools.cache
def reference(topic: str) -> References:
    """The reference module ``course_lib.reference.<topic>``, as checks use it."""
    return References(topic)


def stored(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a check helper whose result needs a reference (e.g. a reference model's logits).

    Its arguments and result must be data (arrays, numbers, strings, tuples, lists,
    dicts): the student edition answers it from the store.
    """
    return _recorded(f"stored.{fn.__module__}.{fn.__qualname__}", fn)


def mistake_name(description: str) -> str:
    """The store's name for the outputs of the classic mistake ``description``."""
    return f"mistake.{description}"
