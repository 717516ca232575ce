"""The activation checks, as one table: cases, values and hints shared by every
elementwise exercise, and :func:`elementwise_check`, which turns one row of the table
into a ``check_<name>`` function.

:func:`elementwise_cases` runs the standard battery on a function of one array (zero
and the kinks, ``|x|`` up to ``1e4``, float32 and float64, N-D and empty arrays, and
with ``thorough=True`` views, tiny values and 200,000-element arrays);
:func:`gradient_cases` compares a derivative with central differences of its forward
function in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from course_lib.checks.core import Checker, Mistake, numerical_gradient

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


# ---------------------------------------------------------------- one row of the table


@dataclass(frozen=True)
class Case:
    """One fixed case: what it tests, its arguments, and its hint (default: the exercise's)."""

    description: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    hint: str | None = None


@dataclass(frozen=True)
class Elementwise:
    """How to check one elementwise exercise.

    Args:
        name: the exercise, e.g. ``"relu_grad"``.
        reference: the reference implementation.
        mistakes: its classic wrong versions.
        hint: the hint of the shared battery's cases.
        fixed: cases run before the battery, e.g. other values of a parameter.
        thorough: cases the hidden tests add after the battery.
        battery: keyword arguments for the shared battery (e.g. ``negative_slope=0.1``).
        derivative_of: for a derivative, ``(forward, kwargs)`` pairs whose central
            differences it must match.
        kinks: points where the forward function is not differentiable.
        signature: the student's signature, for the docstring.
    """

    name: str
    reference: Callable
    mistakes: Sequence[Mistake]
    hint: str
    fixed: Callable[[np.random.Generator], Iterable[Case]] = lambda rng: ()
    thorough: Callable[[np.random.Generator], Iterable[Case]] = lambda rng: ()
    battery: dict = field(default_factory=dict)
    derivative_of: Sequence[tuple[Callable, dict]] = ()
    kinks: tuple[float, ...] = ()
    signature: str = "x"


def elementwise_check(exercise: Elementwise) -> Callable[..., None]:
    """The ``check_<name>(student_fn, *, seed=0, thorough=False)`` of ``exercise``."""

    def check(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
        checker = Checker(exercise.name, student_fn, exercise.reference,
                          mistakes=exercise.mistakes)
        rng = np.random.default_rng(seed)
        fixed = list(exercise.fixed(rng))  # drawn first: the random cases follow them
        for case in fixed:
            checker.case(case.description, *case.args, hint=case.hint or exercise.hint,
                         **case.kwargs)
        elementwise_cases(checker, rng, thorough, hint=exercise.hint, **exercise.battery)
        for case in exercise.thorough(rng) if thorough else ():
            checker.case(case.description, *case.args, hint=case.hint or exercise.hint,
                         **case.kwargs)
        for forward, kwargs in exercise.derivative_of:
            gradient_cases(checker, forward, rng, thorough, kinks=exercise.kinks, **kwargs)
        checker.done()

    numerical = " and against central differences" if exercise.derivative_of else ""
    check.__name__ = check.__qualname__ = f"check_{exercise.name}"
    check.__doc__ = (f"Check ``{exercise.name}({exercise.signature})`` against the reference"
                     f"{numerical}.\n" + _CHECK_ARGS.format(name=exercise.name))
    return check


_CHECK_ARGS = """
    Args:
        student_fn: the student's ``{name}``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
