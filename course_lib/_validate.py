"""Argument checks shared by the references, the lab helpers and the data loaders.

Every error names the argument, what was expected and what came, so that a
learner who passes the wrong thing can fix the call without reading our code.

Two ways to use them:

* one value at a time, ``n = positive_int(n, "n")``, in helpers with one or two
  arguments;
* declared in one line in front of a reference implementation, so its body is the
  algorithm and nothing else::

      @checked(x=floats(ndim=(2, 3, 4)), gamma=per_channel("x"), eps=positive)
      def layer_norm(x, gamma, beta, eps=1e-5): ...

  A *rule* is a function ``rule(value, name, arguments) -> value``: it returns the
  value (converted where that helps, e.g. an int to a float) or raises. Rules run in
  the order of the signature, so ``per_channel("x")`` sees ``x`` checked already.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)

Rule = Callable[[Any, str, dict[str, Any]], Any]


def describe(value: object) -> str:
    """Short description of a value for error messages: type, dtype and shape."""
    if isinstance(value, np.ndarray):
        return f"np.ndarray of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:120]


# ------------------------------------------------------------------ one value at a time


def float_array(value: object, name: str) -> np.ndarray:
    """Return ``value`` if it is a float32/float64 ``np.ndarray``, else raise ``TypeError``."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected a float32 or float64 np.ndarray, got "
                        f"{describe(value)}; convert with np.asarray({name}, dtype=np.float64)")
    if value.dtype.type not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {value.dtype}; "
                        f"convert with {name}.astype(np.float64)")
    return value


def real_number(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def positive_number(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number > 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number > 0, got {describe(value)}")
    if not 0 < value < math.inf:
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)


def non_negative(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number >= 0, else raise."""
    number = real_number(value, name)
    if number < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    return number


def fraction(value: object, name: str) -> float:
    """Return ``value`` as a float if it lies in [0, 1], else raise."""
    number = real_number(value, name)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
    return number


def _integer(value: object, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a positive int" if least == 1 else f"an int >= {least}"
        raise TypeError(f"{name}: expected {kind}, got {describe(value)}")
    if value < least:
        raise ValueError(f"{name}: expected an int >= {least}, got {value!r}")
    return int(value)


def positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise."""
    return _integer(value, name, 1)


def non_negative_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 0, else raise."""
    return _integer(value, name, 0)


def choice(value: object, name: str, allowed: Sequence[str]) -> str:
    """Return ``value`` lower-cased (``-`` read as ``_``) if it names one of ``allowed``."""
    options = ", ".join(repr(v) for v in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {options}, got {describe(value)}")
    key = value.strip().lower().replace("-", "_")
    if key not in allowed:
        raise ValueError(f"{name}: expected one of {options}, got {value!r}")
    return key


def boolean(value: object, name: str, _arguments: dict | None = None) -> bool:
    """Return ``value`` if it is True or False (a NumPy bool too), else raise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {describe(value)}")
    return bool(value)


# ------------------------------------------------------------------ rules for @checked


def _scalar(check: Callable[[object, str], Any]) -> Rule:
    return lambda value, name, _arguments: check(value, name)


real = _scalar(real_number)
positive = _scalar(positive_number)
non_negative_real = _scalar(non_negative)
unit_interval = _scalar(fraction)
count = _scalar(positive_int)
whole = _scalar(non_negative_int)


def floats(ndim: Sequence[int] | None = None, layout: str = "", nonempty: bool = False) -> Rule:
    """A float32/float64 array, with ``ndim`` in the given set if one is given."""

    def rule(value: object, name: str, _arguments: dict) -> np.ndarray:
        value = float_array(value, name)
        if ndim is not None and value.ndim not in ndim:
            raise ValueError(f"{name}: expected {layout or f'{tuple(ndim)} dimensions'}, got "
                             f"shape {value.shape} ({value.ndim}-D)")
        if nonempty and value.size == 0:
            raise ValueError(f"{name}: expected a non-empty array, got shape {value.shape}")
        return value

    return rule


def like(other: str, shape: Callable[[np.ndarray], tuple[int, ...]] | None = None,
         why: str = "") -> Rule:
    """A float array of ``other``'s dtype; of ``shape(other)`` (default: ``other``'s shape)."""
    shape = shape or (lambda array: array.shape)

    def rule(value: object, name: str, arguments: dict) -> np.ndarray:
        value, reference = float_array(value, name), arguments[other]
        wanted = tuple(shape(reference))
        if value.shape != wanted:
            reason = why or f"the shape of {other}"
            raise ValueError(f"{name}: expected shape {wanted} ({reason}), got {value.shape}")
        if value.dtype != reference.dtype:
            raise TypeError(f"{name}: expected dtype {reference.dtype} like {other}, got "
                            f"{value.dtype}")
        return value

    return rule


def per_channel(other: str = "x", non_negative_values: bool = False) -> Rule:
    """A ``(C,)`` array for ``other`` of shape ``(N, C, ...)``, in ``other``'s dtype."""
    base = like(other, lambda array: (array.shape[1],), "one value per channel, C = "
                f"{other}.shape[1]")

    def rule(value: object, name: str, arguments: dict) -> np.ndarray:
        value = base(value, name, arguments)
        if non_negative_values and np.any(value < 0):
            raise ValueError(f"{name}: expected non-negative values, got minimum "
                             f"{float(value.min())}")
        return value

    return rule


def generator_or_none(value: object, name: str, _arguments: dict) -> np.random.Generator | None:
    """A ``np.random.Generator`` or None."""
    if value is not None and not isinstance(value, np.random.Generator):
        raise TypeError(f"{name}: expected a np.random.Generator (np.random.default_rng(seed)) "
                        f"or None, got {describe(value)}")
    return value


def checked(**rules: Rule) -> Callable[[Callable], Callable]:
    """Check a function's arguments with ``rules`` (argument name -> rule) before it runs.

    The wrapped function keeps its name, docstring and signature
    (``inspect.signature`` follows ``__wrapped__``).
    """

    def decorate(fn: Callable) -> Callable:
        signature = inspect.signature(fn)
        unknown = sorted(set(rules) - set(signature.parameters))
        if unknown:  # a mistake in this package, caught at import time
            raise TypeError(f"checked: {fn.__name__} has no argument {unknown[0]!r}")
        order = [name for name in signature.parameters if name in rules]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{fn.__name__}(): {error}") from None
            bound.apply_defaults()
            for name in order:
                bound.arguments[name] = rules[name](bound.arguments[name], name,
                                                    bound.arguments)
            return fn(*bound.args, **bound.kwargs)

        return wrapper

    return decorate
