"""Argument checks shared by the reference implementations.

Every error names the argument, what was expected and what came, so that a
learner who passes the wrong thing can fix the call without reading our code.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def describe(value: object) -> str:
    """Short description of a value for error messages: type, dtype and shape."""
    if isinstance(value, np.ndarray):
        return f"np.ndarray of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:120]


def float_array(value: object, name: str) -> np.ndarray:
    """Return ``value`` if it is a float32/float64 ``np.ndarray``, else raise ``TypeError``."""
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name}: expected a float32 or float64 np.ndarray, got {describe(value)}; "
            f"convert with np.asarray({name}, dtype=np.float64)"
        )
    if value.dtype.type not in FLOAT_DTYPES:
        raise TypeError(
            f"{name}: expected dtype float32 or float64, got {value.dtype}; "
            f"convert with {name}.astype(np.float64)"
        )
    return value


def same_dtype(value: np.ndarray, name: str, like: np.ndarray, like_name: str) -> None:
    """Raise ``TypeError`` unless two arrays share one float dtype."""
    if value.dtype != like.dtype:
        raise TypeError(
            f"{name}: expected dtype {like.dtype} like {like_name}, got {value.dtype}"
        )


def ndim_in(value: np.ndarray, name: str, allowed: tuple[int, ...], layout: str) -> None:
    """Raise ``ValueError`` unless ``value.ndim`` is one of ``allowed``."""
    if value.ndim not in allowed:
        raise ValueError(
            f"{name}: expected {layout}, got shape {value.shape} ({value.ndim}-D)"
        )


def shape_is(value: np.ndarray, name: str, shape: tuple[int, ...], why: str) -> None:
    """Raise ``ValueError`` unless ``value.shape == shape``."""
    if value.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} ({why}), got {value.shape}")


def positive_number(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a real number > 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {describe(value)}")
    if not value > 0:
        raise ValueError(f"{name}: expected a number > 0, got {value!r}")
    return float(value)


def real_number(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {describe(value)}")
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def fraction(value: object, name: str) -> float:
    """Return ``value`` as a float if it lies in [0, 1], else raise."""
    number = real_number(value, name)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
    return number


def positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive int, got {describe(value)}")
    if value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
    return int(value)


def non_negative_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= 0, got {describe(value)}")
    if value < 0:
        raise ValueError(f"{name}: expected an int >= 0, got {value!r}")
    return int(value)
