"""Values as data: a JSON tree plus arrays, for stored answers and for what a sandbox sends.

:func:`encode` turns numbers, strings, arrays, NumPy scalars, tuples, lists and dicts into
a JSON-ready tree, collecting arrays on the side (saved in an ``.npz``); :func:`decode`
turns them back, keeping each value's exact type (``float`` and ``np.float32`` stay
apart, as the checks tell them apart). Nothing in the format can name code, so decoding
can never run any: arrays are read with ``allow_pickle=False`` and an object array is
refused.

What comes out of a grading sandbox is hostile: :func:`decode` checks every node and
raises :class:`WireError` on anything it did not write (an unknown tag, a missing array,
nesting too deep). A value of another type (a tensor, an object that fakes ``__eq__``)
is sent, when ``foreign=True``, as a :class:`Foreign`: its type's name and a short repr,
so that a check can still say "expected a np.ndarray, got torch.Tensor".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Deepest nesting decoded; a tree deeper than that is refused.
MAX_DEPTH = 64
#: Longest string kept from a sandbox (error messages, warnings, reprs).
MAX_TEXT = 2000


class WireError(ValueError):
    """A tree that :func:`encode` did not write (corrupt, or forged)."""


@dataclass(frozen=True)
class Foreign:
    """Stands for a value of a type the wire does not carry.

    Args:
        type_name: ``module.qualname`` of its type, e.g. ``"torch.Tensor"``.
        text: its repr, shortened.
    """

    type_name: str
    text: str

    def __repr__(self) -> str:
        return self.text


def type_name(value: Any) -> str:
    """``module.qualname`` of ``value``'s type (``builtins.`` left out)."""
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as error:  # a hostile __repr__
        text = f"<{type_name(value)} whose repr raised {type(error).__name__}>"
    return text if len(text) <= 200 else text[:200] + "..."


class Encoder:
    """Turns values into JSON-ready trees, collecting arrays in :attr:`arrays`.

    Args:
        foreign: send values of other types as :class:`Foreign` instead of raising.
    """

    def __init__(self, *, foreign: bool = False) -> None:
        self.arrays: list[np.ndarray] = []
        self.foreign = foreign

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if value is None or kind in (bool, str):
            return value
        if kind is int:
            return value
        if kind is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, Foreign):
            return {"$foreign": value.type_name, "text": value.text}
        if kind is np.ndarray and not value.dtype.hasobject and value.dtype.kind in "biufcSU?":
            self.arrays.append(value.copy(order="C"))  # (ascontiguousarray makes 0-d 1-d)
            return {"$array": len(self.arrays) - 1}
        if isinstance(value, np.generic) and kind.__module__ == "numpy" \
                and value.dtype.kind in "biufc?":
            self.arrays.append(np.asarray(value).reshape(()))
            return {"$scalar": len(self.arrays) - 1}
        if kind is tuple:
            return {"$tuple": [self(v) for v in value]}
        if kind is list:
            return [self(v) for v in value]
        if kind is dict:
            if set(value) == {"$fingerprint"}:
                return value
            return {"$dict": [[self(k), self(v)] for k, v in value.items()]}
        if self.foreign:
            return {"$foreign": type_name(value), "text": _short_repr(value)}
        raise TypeError(f"cannot encode a {type_name(value)}")


def encode(value: Any, *, foreign: bool = False) -> tuple[Any, list[np.ndarray]]:
    """``(tree, arrays)`` of ``value`` (see :class:`Encoder`)."""
    encoder = Encoder(foreign=foreign)
    return encoder(value), encoder.arrays


def decode(tree: Any, arrays: dict[str, np.ndarray], *, fingerprints: bool = False,
           depth: int = 0) -> Any:
    """The value :func:`encode` made ``tree`` from; ``arrays`` maps ``"a<i>"`` to arrays.

    Args:
        tree: the JSON tree.
        arrays: the ``.npz``'s arrays, read with ``allow_pickle=False``.
        fingerprints: keep ``{"$fingerprint": ...}`` nodes as they are (stored answers);
            a sandbox's output has none.

    Raises:
        WireError: ``tree`` is not something :func:`encode` writes.
    """
    if depth > MAX_DEPTH:
        raise WireError(f"nesting deeper than {MAX_DEPTH}")
    if tree is None or type(tree) in (bool, int, float):
        return tree
    if type(tree) is str:
        return tree[:MAX_TEXT]
    if type(tree) is list:
        return [decode(v, arrays, fingerprints=fingerprints, depth=depth + 1) for v in tree]
    if type(tree) is not dict or len(tree) not in (1, 2):
        raise WireError(f"unexpected node of type {type(tree).__name__}")
    return _decode_tagged(tree, arrays, fingerprints, depth)


def _array(arrays: dict[str, np.ndarray], index: Any) -> np.ndarray:
    if type(index) is not int or f"a{index}" not in arrays:
        raise WireError(f"no array {index!r}")
    return arrays[f"a{index}"]


def _decode_tagged(tree: dict, arrays: dict[str, np.ndarray], fingerprints: bool,
                   depth: int) -> Any:
    tag = next(iter(tree))
    body = tree[tag]
    if tag == "$float" and len(tree) == 1 and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$array" and len(tree) == 1:
        return _array(arrays, body).copy()
    if tag == "$scalar" and len(tree) == 1:
        scalar = _array(arrays, body)
        if scalar.shape != ():
            raise WireError("a scalar with a shape")
        return scalar[()]
    if tag in ("$tuple", "$dict") and len(tree) == 1 and type(body) is list:
        items = [decode(v, arrays, fingerprints=fingerprints, depth=depth + 1) for v in body]
        if tag == "$tuple":
            return tuple(items)
        if not all(type(pair) is list and len(pair) == 2 for pair in items):
            raise WireError("a dict entry that is not a pair")
        try:
            return {key: value for key, value in items}
        except TypeError as error:  # an unhashable key
            raise WireError(f"bad dict key: {error}") from None
    if tag == "$foreign" and set(tree) == {"$foreign", "text"} \
            and type(body) is str and type(tree["text"]) is str:
        return Foreign(body[:200], tree["text"][:MAX_TEXT])
    if tag == "$fingerprint" and fingerprints and len(tree) == 1:
        return tree
    raise WireError(f"unknown node {tag!r}")
