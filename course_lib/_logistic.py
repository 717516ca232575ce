"""Overflow-free kernels shared by the activation modules (no argument checks).

Each exponentiates only numbers ``<= 0``: ``np.exp`` may underflow to 0 there,
which is harmless, but never overflows to ``inf``.
"""

from __future__ import annotations

import numpy as np


def as_dtype(value: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``value`` cast to ``like``'s dtype (no copy when it already matches)."""
    return np.asarray(value, dtype=like.dtype)


def logistic(x: np.ndarray) -> np.ndarray:
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`, computed from :math:`e^{-|x|}`, in x's dtype."""
    z = np.exp(-np.abs(x))
    return as_dtype(np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)), x)


def logistic_slope(x: np.ndarray) -> np.ndarray:
    r""":math:`\sigma'(x) = e^{-|x|} / (1 + e^{-|x|})^2`, without cancellation, in x's dtype."""
    z = np.exp(-np.abs(x))
    return as_dtype(z / ((1.0 + z) * (1.0 + z)), x)


def tanh_slope(x: np.ndarray) -> np.ndarray:
    r""":math:`1 - \tanh^2(x) = 4 e^{-2|x|} / (1 + e^{-2|x|})^2`, without cancellation."""
    return 4.0 * logistic_slope(2.0 * x)
