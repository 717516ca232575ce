"""Checks for the dead-ReLU exercises of notebook 03: ``dead_unit_fraction`` and
``dead_layer_probability``."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from course_lib.checks import answers
from course_lib.checks.core import Checker
from course_lib.checks.mistakes.dead_relu import DEAD_LAYER_MISTAKES, DEAD_UNIT_MISTAKES

#: The last classic mistake: the number of dead units, not their fraction.
_DEAD_COUNT = DEAD_UNIT_MISTAKES[-1]

reference = answers.reference("dead_relu")  # the right answers (see checks/answers.py)

__all__ = ["check_dead_layer_probability", "check_dead_unit_fraction"]

# ---------------------------------------------------------------- dead_unit_fraction


def _result_problem(value: object) -> tuple[str, str] | None:
    """Why ``value`` is not an acceptable result, and what to do; None if it is a float."""
    if isinstance(value, (bool, np.bool_)):
        return (f"expected a float, got the bool {value!r}",
                "return the fraction of dead units, e.g. float(np.mean(dead)), not a test "
                "of whether any unit is dead")
    if isinstance(value, np.ndarray):
        return (f"expected one float for the whole layer, got an np.ndarray of shape "
                f"{value.shape}",
                "you have a value per unit (or per sample): average it into one number and "
                "return float(...)")
    if isinstance(value, (numbers.Integral, np.integer)):
        return (f"expected a float, got the integer {value!r} ({type(value).__name__})",
                "return the fraction of dead units (a count divided by the number of units), "
                "as a float")
    if not isinstance(value, (float, np.floating)):
        kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
        return (f"expected a float, got {kind}",
                "return a Python float or NumPy floating-point number, e.g. float(np.mean(dead))")
    return None


def _case(checker: Checker, description: str, acts: np.ndarray, hint: str | None = None) -> None:
    """One case: insist on a float result (with a targeted hint), then compare values."""
    run = checker.run_student((acts,))
    if run.error is None and run.delegated_to is None and not run.mutated and not run.warnings:
        problem = _result_problem(run.outputs[0])
        if problem is not None:
            value, dead_count = run.outputs[0], _DEAD_COUNT.fn(acts)
            is_count = (isinstance(value, (numbers.Integral, np.integer))
                        and not isinstance(value, (bool, np.bool_)) and int(value) == dead_count
                        and dead_count != reference.dead_unit_fraction(acts))
            advice = _DEAD_COUNT.hint if is_count else problem[1]
            checker.fail(description, problem[0], args=(acts,), hint=advice)
    checker.case(description, acts, hint=hint)


def _random_acts(rng: np.random.Generator, samples: int, units: int, dead_share: float,
                 dtype: type) -> np.ndarray:
    """ReLU-like activations: dead columns all <= 0, live columns positive on a few rows."""
    acts = np.maximum(rng.normal(size=(samples, units)), 0.0)
    acts[rng.random(size=(samples, units)) < 0.7] = 0.0  # mostly zeros, like a real ReLU
    dead = rng.random(units) < dead_share
    acts[:, dead] = np.minimum(-np.abs(rng.normal(size=(samples, int(dead.sum())))), 0.0) * (
        rng.random(size=(samples, int(dead.sum()))) < 0.5
    )
    live = ~dead & ~np.any(acts > 0, axis=0)  # make sure every live column really is live
    acts[rng.integers(samples, size=int(live.sum())), np.flatnonzero(live)] = 0.5
    return acts.astype(dtype)


def check_dead_unit_fraction(student_fn: Callable[[np.ndarray], float], *, seed: int = 0,
                             thorough: bool = False) -> None:
    """Check ``dead_unit_fraction(acts)`` against the reference.

    Args:
        student_fn: the student's function of one ``(N, units)`` array.
        seed: seed of the random cases.
        thorough: add more and larger random cases (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and
            the received value and a hint.
    """
    checker = Checker("dead_unit_fraction", student_fn, reference.dead_unit_fraction,
                      kind="float", mistakes=DEAD_UNIT_MISTAKES)
    rows = "rows are samples, columns are units"
    # Columns: always 0, always 0, negative or 0, always negative. Each classic mistake
    # gives its own wrong share here, so the first failure names the right one.
    _case(checker, "every unit is dead (all values <= 0)",
          np.array([[0.0, 0.0, -1.0, -2.0], [0.0, 0.0, 0.0, -0.5], [0.0, 0.0, -3.0, -0.1],
                    [0.0, 0.0, 0.0, -4.0]]),
          hint="a unit is dead when it is never positive: 0 and negative values both count")
    _case(checker, "no unit is dead",
          np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.1], [0.3, 0.0, 0.0]]))
    _case(checker, "one unit is positive on a single sample only (it is alive)",
          np.array([[0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0],
                    [0.0, 0.0, 0.0, 3.0, 0.0]]),
          hint=f"one positive value is enough to keep a unit alive; {rows}")
    _case(checker, "zeros are not positive: a column of zeros is a dead unit",
          np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5], [0.0, 0.2, 0.0, 0.0],
                    [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.4, 0.0, 0.0]]),
          hint="alive means positive at least once; 0 is not positive")
    _case(checker, "a unit positive on one sample and negative on the others is alive",
          np.array([[2.0, -1.0, 0.5], [-3.0, -1.0, 0.0], [-1.0, -1.0, 0.0]]),
          hint="one positive value keeps a unit alive, whatever its other values are")
    _case(checker, "negative zeros (-0.0) are not positive either",
          np.array([[-0.0, 0.5], [-0.0, 0.0], [-0.0, 0.0]]),
          hint="-0.0 > 0 is False; compare with > 0 rather than looking at the sign bit")
    _case(checker, "float32 activations, more units than samples",
          _random_acts(np.random.default_rng(seed), 3, 11, 0.4, np.float32))
    _case(checker, "a single sample: a unit is dead when its only value is <= 0",
          np.array([[0.7, 0.0, -1.0, 2.0, 0.0, 0.0, 0.1]]), hint=rows)
    _case(checker, "a single unit observed on many samples",
          np.array([[0.0], [-1.0], [0.0], [0.0], [0.2]]), hint=rows)
    _case(checker, "large magnitudes (|a| up to 1e4)",
          np.array([[-1e4, 1e4, 0.0], [-5e3, -1e4, 0.0]], dtype=np.float32))

    rng = np.random.default_rng(seed)
    shapes = [(50, 20, 0.3), (17, 64, 0.5), (128, 7, 0.1)]
    if thorough:
        shapes += [(1000, 256, 0.2), (2, 300, 0.9), (300, 2, 0.5), (64, 64, 0.0), (5, 40, 1.0)]
    for samples, units, dead_share in shapes:
        for dtype in (np.float64, np.float32):
            acts = _random_acts(rng, samples, units, dead_share, dtype)
            _case(checker, f"random ReLU outputs, {samples} samples x {units} units "
                  f"({np.dtype(dtype).name})", acts, hint=rows)
    checker.done()


# ---------------------------------------------------------------- dead_layer_probability

# (description, width, depth), in an order that names mistakes unambiguously.
_FIXED_CASES = (
    ("one layer of one unit: off half of the time", 1, 1),
    ("width 2, depth 3", 2, 3),
    ("width 2, one layer: both units off, 1/4", 2, 1),
    ("no hidden layer (depth 0): nothing can switch off", 8, 0),
    ("a narrow, deep network: width 3, depth 50", 3, 50),
    ("width 1, depth 1000: almost surely switched off", 1, 1000),
    ("a typical MLP layer, width 100, depth 10: about 8e-30", 100, 10),
    ("a very wide layer, width 2000 (2**-2000 underflows to 0 in float64)", 2000, 5),
)


def check_dead_layer_probability(student_fn: Callable[[int, int], float], *, seed: int = 0,
                                 thorough: bool = False) -> None:
    """Check ``dead_layer_probability(width, depth) -> float`` against the reference.

    Args:
        student_fn: the student's function of two ints.
        seed: seed of the random (width, depth) pairs.
        thorough: run more random cases (the hidden test).

    Raises:
        CheckFailure: on the first wrong case, saying which and why.
    """
    checker = Checker("dead_layer_probability", student_fn, reference.dead_layer_probability,
                      kind="float", mistakes=DEAD_LAYER_MISTAKES)
    hint = ("each layer is all zeros with probability 2**-width (given a non-zero input); "
            "compute the chance that none of the `depth` layers is, then take 1 minus it")
    for description, width, depth in _FIXED_CASES:
        checker.case(description, width, depth, hint=hint)
    rng = np.random.default_rng(seed)
    for _ in range(30 if thorough else 6):
        width, depth = int(rng.integers(1, 41)), int(rng.integers(0, 301))
        checker.case(f"random network, width {width}, depth {depth}", width, depth, hint=hint)
    checker.done()
