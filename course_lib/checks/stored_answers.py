"""The student edition's ``course_lib.checks.answers``: right answers looked up in data.

``course bundle`` installs this file as ``answers.py`` in the student edition, beside the
data it reads (``answers_data/``, written by the instructor's full edition). It has the
same names as :mod:`course_lib.checks.answers`, so the check modules run unchanged; there
are no reference implementations behind them, only the answers of the visible checks' own
cases. A call the data does not hold raises
:class:`~course_lib.checks.stored.AnswerNotStored`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from course_lib.checks.stored import AnswerStore

#: The folder of the stored answers, beside this module.
DATA = Path(__file__).with_name("answers_data")


@functools.cache
def _store() -> AnswerStore:
    return AnswerStore.load(DATA)  # on first use: importing the checks stays cheap


def is_recording() -> bool:
    """Never: answers are only recorded in the full edition."""
    return False


class References:
    """A reference module's names as the checks use them, answered from the data."""

    def __init__(self, topic: str) -> None:
        self._topic = topic

    def __getattr__(self, name: str) -> Any:
        key = f"reference.{self._topic}.{name}"
        store = _store()
        if key in store.constants:
            return store.constants[key]
        if store.knows(key):
            answer = store.lookup_function(key)
            setattr(self, name, answer)
            return answer
        raise AttributeError(f"{name}: the student edition has no course_lib.reference."
                             f"{self._topic}, only stored answers of the visible checks")


@functools.cache
def reference(topic: str) -> References:
    """The stored answers of ``course_lib.reference.<topic>``."""
    return References(topic)


def stored(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A check helper answered from the data (its full-edition body is never run here)."""
    name = f"stored.{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def answer(*args: Any, **kwargs: Any) -> Any:
        return _store().lookup(name, args, kwargs)

    return answer


def mistake_name(description: str) -> str:
    """The store's name for the outputs of the classic mistake ``description``."""
    return f"mistake.{description}"


def mistake(description: str, hint: str):
    """A classic mistake recognised by its stored outputs on the visible cases."""
    from course_lib.checks.core import Mistake

    def outputs(*args: Any, **kwargs: Any) -> Any:
        return _store().lookup(mistake_name(description), args, kwargs)

    return Mistake(description, outputs, hint)
