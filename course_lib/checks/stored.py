"""Right answers as data: the store the student edition's checks read instead of references.

An :class:`AnswerStore` maps a call (a reference function, a stored check helper or a
classic mistake, with its arguments) to what it returned. The bundle builder fills one
by running every visible check with the reference as the student
(:mod:`course_lib.checks.answers`); the student edition's checks look their answers up
in it. Everything in it is data: a JSON tree plus one ``.npz`` of arrays, read with
``allow_pickle=False``, so loading a store can never run code.

A lookup first tries the exact arguments, then arguments equal to within a few units in
the last place: NumPy's vectorised ``exp`` or ``tanh`` may differ by an ulp between
CPUs, and an input computed with them must still find its answer.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.checks import wire

#: File names of a store inside its folder.
TREE_FILE, ARRAYS_FILE = "answers.json", "answers.npz"
#: Relative tolerance of the second, approximate lookup (a few float64 ulps).
ULP_RTOL = 1e-12


class AnswerNotStored(LookupError):
    """A call whose answer the store does not hold."""


# ------------------------------------------------------------------ fingerprints


def _fingerprint(value: Any) -> str | None:
    """A description of an object that is compared, never rebuilt (models, generators)."""
    if isinstance(value, np.random.Generator):
        return "generator:" + repr(value.bit_generator.state)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    if isinstance(value, torch.Tensor):
        return None  # stored as an array by encode_value's caller
    if isinstance(value, torch.nn.Module):
        return _module_fingerprint(value)
    return None


def _module_fingerprint(model: Any) -> str:
    """Structure, not weights: layers, parameter shapes, which are frozen or shared, mode."""
    seen: dict[int, str] = {}
    parts = [type(model).__qualname__, repr(model), f"training={model.training}"]
    for name, parameter in model.named_parameters(remove_duplicate=False):
        shared = seen.setdefault(id(parameter), name)
        parts.append(f"{name}:{tuple(parameter.shape)}:{parameter.requires_grad}:{shared}")
    parts += [f"buffer {name}:{tuple(b.shape)}" for name, b in model.named_buffers()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _decode(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    return wire.decode(tree, arrays, fingerprints=True)


def _plain(value: Any) -> Any:
    """Tensors as arrays, so that both are stored and compared alike."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


# ------------------------------------------------------------------ comparing arguments


def _same(stored: Any, query: Any, exact: bool) -> bool:
    """Does the decoded stored argument equal the query (to within ulps unless ``exact``)?"""
    query = _plain(query)
    if isinstance(stored, dict) and set(stored) == {"$fingerprint"}:
        return _fingerprint(query) == stored["$fingerprint"]
    if isinstance(stored, np.ndarray):
        if not isinstance(query, np.ndarray) or query.shape != stored.shape:
            return False
        if query.dtype != stored.dtype:
            return False
        if exact or stored.dtype.kind not in "fc":
            return bool(np.array_equal(stored, query, equal_nan=stored.dtype.kind in "fc"))
        return bool(np.allclose(stored, query, rtol=ULP_RTOL, atol=0.0, equal_nan=True))
    if isinstance(stored, (tuple, list)):
        return (type(stored) is type(query) and len(stored) == len(query)
                and all(_same(s, q, exact) for s, q in zip(stored, query)))
    if isinstance(stored, dict):
        return (isinstance(query, dict) and set(stored) == set(query)
                and all(_same(stored[k], query[k], exact) for k in stored))
    if isinstance(stored, float) and isinstance(query, float) and not exact:
        return math.isclose(stored, query, rel_tol=ULP_RTOL) or stored == query
    return type(stored) is type(query) and stored == query


# ------------------------------------------------------------------ the store


class AnswerStore:
    """Calls and what they returned, saved as data.

    Entries are grouped by the name of what was called, e.g.
    ``"reference.activations.sigmoid"``; each entry keeps the arguments (to find it
    again) and the result.
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[tuple[Any, Any, Any]]] = {}
        self.constants: dict[str, Any] = {}
        self.signatures: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def record(self, name: str, args: tuple, kwargs: dict, result: Any) -> None:
        """Keep ``name(*args, **kwargs) -> result`` (once per distinct arguments)."""
        args, kwargs = _frozen(args), _frozen(kwargs)
        entries = self._entries.setdefault(name, [])
        if any(_same(a, args, True) and _same(k, kwargs, True) for a, k, _ in entries):
            return
        entries.append((args, kwargs, _frozen(result)))

    def lookup(self, name: str, args: tuple, kwargs: dict) -> Any:
        """What ``name(*args, **kwargs)`` returned when the store was built.

        Raises:
            AnswerNotStored: no entry of ``name`` has these arguments.
        """
        entries = self._entries.get(name, [])
        for exact in (True, False):
            for stored_args, stored_kwargs, result in entries:
                if _same(stored_args, args, exact) and _same(stored_kwargs, kwargs, exact):
                    return _copied(result)
        raise AnswerNotStored(
            f"the stored answers have no {name} for these arguments (the student edition "
            "holds the answers of the visible checks' own cases only)")

    def save(self, folder: str | Path) -> Path:
        """Write ``answers.json`` and ``answers.npz`` into ``folder``."""
        encode = wire.Encoder()
        tree = {
            "entries": {name: [[encode(a), encode(k), encode(r)] for a, k, r in entries]
                        for name, entries in sorted(self._entries.items())},
            "constants": {name: encode(value) for name, value in sorted(self.constants.items())},
            "signatures": self.signatures,
        }
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / TREE_FILE).write_text(json.dumps(tree, sort_keys=True), encoding="utf-8")
        np.savez_compressed(folder / ARRAYS_FILE,
                            **{f"a{i}": array for i, array in enumerate(encode.arrays)})
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> AnswerStore:
        """The store saved in ``folder`` (arrays read without pickle: data only)."""
        folder = Path(folder)
        tree = json.loads((folder / TREE_FILE).read_text(encoding="utf-8"))
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        store = cls()
        store._entries = {name: [tuple(_decode(part, arrays) for part in entry)
                                 for entry in entries]
                          for name, entries in tree["entries"].items()}
        store.constants = {name: _decode(v, arrays) for name, v in tree["constants"].items()}
        store.signatures = tree["signatures"]
        return store

    def knows(self, name: str) -> bool:
        """Does the store hold calls (or the signature) of ``name``?"""
        return name in self._entries or name in self.signatures

    def names(self) -> list[str]:
        """The names it holds calls of, sorted."""
        return sorted(self._entries)

    def lookup_function(self, name: str) -> Callable[..., Any]:
        """A function that answers calls of ``name`` from the store, named like it."""
        import inspect

        def answer(*args: Any, **kwargs: Any) -> Any:
            return self.lookup(name, args, kwargs)

        answer.__name__ = answer.__qualname__ = name.rsplit(".", 1)[-1]
        answer.__module__ = name.rsplit(".", 1)[0]
        if name in self.signatures:  # the checks name inputs after the reference's parameters
            answer.__signature__ = inspect.Signature(
                [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                 for p in self.signatures[name]])
        return answer


def _frozen(value: Any) -> Any:
    """A copy of ``value`` as data: arrays copied, tensors as arrays, objects that are
    compared but never rebuilt (models, generators) as their fingerprint, taken now."""
    value = _plain(value)
    fingerprint = _fingerprint(value)
    if fingerprint is not None:
        return {"$fingerprint": fingerprint}
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, list):
        return [_frozen(v) for v in value]
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _copied(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value
