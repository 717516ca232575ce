"""Cases, values and hints shared by the activation checks.

:func:`elementwise_cases` runs the standard battery on a function of one array
(zero and the kinks, ``|x|`` up to ``1e4``, float32 and float64, N-D and empty
arrays, and with ``thorough=True`` views, tiny values and 200,000-element arrays);
:func:`gradient_cases` compares a derivative with central differences.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks.core import Checker, numerical_gradient

STABLE_HINT = (
    "np.exp of a large positive number overflows (x > 88 in float32, x > 709 in float64). "
    "Only exponentiate numbers <= 0, e.g. np.exp(-np.abs(x)), and remember that np.where "
    "computes both branches before choosing"
)
DTYPE_HINT = (
    "keep the input's dtype: a float32 input must give a float32 output (avoid "
    "np.float64(...) constants, astype(float), and np.where(..., 1.0, 0.0) without "
    ".astype(x.dtype))"
)
SHAPE_HINT = "the output has the shape of x: work elementwise, without reducing or reshaping"
GRAD_HINT = "your derivative disagrees with the slope of the forward function measured numerically"
KINK_VALUES = [-6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0]
HUGE_VALUES = [-1e4, -1000.0, -100.0, -20.0, 20.0, 100.0, 1000.0, 1e4]


def array(values, dtype=np.float64) -> np.ndarray:
    """``values`` as a new array of ``dtype``."""
    return np.asarray(values, dtype=dtype)


def elementwise_cases(checker: Checker, rng: np.random.Generator, thorough: bool,
                      hint: str, **kwargs) -> None:
    """The shared cases of an elementwise function ``f(x, **kwargs)``."""
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        checker.case(f"zero and the kinks, {name}", array(KINK_VALUES, dtype), hint=hint,
                     **kwargs)
        checker.case(f"very large |x| (up to 1e4), {name}", array(HUGE_VALUES, dtype),
                     hint=STABLE_HINT, **kwargs)
    checker.case("random 3-D array, float64", rng.normal(0.0, 3.0, (2, 3, 4)), hint=hint, **kwargs)
    checker.case("random 2-D array, float32", rng.normal(0.0, 3.0, (5, 7)).astype(np.float32),
                 hint=DTYPE_HINT, **kwargs)
    checker.case("empty array of shape (0,)", np.zeros(0), hint=SHAPE_HINT, **kwargs)
    checker.case("empty array of shape (2, 0, 3)", np.zeros((2, 0, 3), np.float32),
                 hint=SHAPE_HINT, **kwargs)
    if not thorough:
        return
    grid = rng.normal(0.0, 5.0, (6, 8))
    checker.case("non-contiguous view x[::2, ::3]", grid[::2, ::3], hint=SHAPE_HINT, **kwargs)
    checker.case("transposed view x.T, float32", grid.T.astype(np.float32).T[:, ::-1],
                 hint=SHAPE_HINT, **kwargs)
    checker.case("4-D array, float32", rng.normal(0.0, 2.0, (2, 3, 4, 5)).astype(np.float32),
                 hint=hint, **kwargs)
    checker.case("tiny |x| near 0", array([-1e-30, -1e-8, -1e-300, 1e-300, 1e-8, 1e-30]),
                 hint=hint, **kwargs)
    checker.case("dense grid over [-50, 50]", np.linspace(-50.0, 50.0, 2001), hint=hint, **kwargs)
    for dtype in (np.float64, np.float32):
        big = (rng.standard_cauchy(200_000) * 10.0).clip(-1e4, 1e4).astype(dtype)
        checker.case(f"200,000 heavy-tailed values, {np.dtype(dtype).name}", big,
                     hint=STABLE_HINT, **kwargs)


def away_from_kinks(x: np.ndarray, kinks: tuple[float, ...], gap: float = 1e-3) -> np.ndarray:
    """Move points within ``gap`` of a kink off it, so central differences are valid there."""
    x = x.copy()
    for kink in kinks:
        near = np.abs(x - kink) < gap
        x[near] = kink + np.where(x[near] >= kink, 2 * gap, -2 * gap)
    return x


def gradient_cases(checker: Checker, forward: Callable, rng: np.random.Generator,
                   thorough: bool, kinks: tuple[float, ...] = (), **kwargs) -> None:
    """Compare an elementwise derivative with central differences of ``forward``."""
    shapes = [(12,), (3, 4)] + ([(2, 3, 4), (40,)] if thorough else [])
    for shape in shapes:
        x = away_from_kinks(rng.uniform(-5.0, 5.0, shape), kinks)
        expected = numerical_gradient(lambda v: forward(v, **kwargs), x, np.ones(shape))
        checker.case(f"numerical gradient check, shape {shape}, float64", x, expected=expected,
                     rtol=1e-5, atol=1e-8, hint=GRAD_HINT, **kwargs)


def leaky(x: np.ndarray, slope: float) -> np.ndarray:
    """Leaky ReLU with ``slope``, unchecked: the building block of several known mistakes."""
    return np.where(x > 0, x, slope * x)
