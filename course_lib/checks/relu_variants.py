"""Checks for the ReLU variants of notebook 04: Leaky ReLU, RReLU, ELU and its derivative.

``check_rrelu`` compares evaluation mode with the reference and judges training
mode, whose output is random, by its properties: positives unchanged, one slope
per negative element drawn uniformly from ``[lower, upper]`` through the ``rng``
argument. See :mod:`course_lib.checks.activations` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import activations as ref
from course_lib.checks._activation_cases import (
    DTYPE_HINT,
    HUGE_VALUES,
    KINK_VALUES,
    SHAPE_HINT,
    STABLE_HINT,
    array,
    elementwise_cases,
    gradient_cases,
    leaky,
)
from course_lib.checks.core import Checker, Mistake

__all__ = [
    "check_elu",
    "check_elu_grad",
    "check_leaky_relu",
    "check_leaky_relu_grad",
    "check_rrelu",
]


LEAKY_RELU_MISTAKES = [
    Mistake("np.maximum(x, negative_slope * x) is only right for slopes <= 1",
            lambda x, negative_slope=0.01: np.maximum(x, negative_slope * x),
            "use np.where(x > 0, x, negative_slope * x), which works for any slope"),
    Mistake("condition inverted: the slope is applied to x > 0 and x < 0 is left unchanged",
            lambda x, negative_slope=0.01: np.where(x > 0, negative_slope * x, x),
            "keep x where x > 0; multiply by negative_slope where x <= 0"),
    Mistake("negative_slope applied to the positive values too",
            lambda x, negative_slope=0.01: negative_slope * x,
            "only x <= 0 is scaled; positive x passes through unchanged"),
    Mistake("negative_slope ignored (always 0.01)",
            lambda x, negative_slope=0.01: leaky(x, 0.01), "use the negative_slope argument"),
    Mistake("plain relu: the negative side is 0", lambda x, negative_slope=0.01: ref.relu(x),
            "x <= 0 gives negative_slope * x, not 0"),
]


def check_leaky_relu(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``leaky_relu(x, negative_slope=0.01)`` against the reference.

    Args:
        student_fn: the student's ``leaky_relu(x, negative_slope=0.01)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("leaky_relu", student_fn, ref.leaky_relu, mistakes=LEAKY_RELU_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = "leaky_relu(x) = x for x > 0 and negative_slope * x for x <= 0"
    checker.case("default negative_slope = 0.01", array(KINK_VALUES), hint=hint)
    for slope in (0.2, 0.0, 1.5):
        checker.case(f"negative_slope = {slope}", array(KINK_VALUES), hint=hint,
                     negative_slope=slope)
    elementwise_cases(checker, rng, thorough, hint=hint, negative_slope=0.1)
    if thorough:
        checker.case("negative_slope = -0.5 (allowed, as in PyTorch)",
                     rng.normal(size=(4, 5)), hint=hint, negative_slope=-0.5)
    checker.done()


LEAKY_RELU_GRAD_MISTAKES = [
    Mistake("leaky_relu_grad is 1 at x == 0; PyTorch's autograd uses negative_slope there",
            lambda x, negative_slope=0.01: np.where(x >= 0, 1.0, negative_slope),
            "use x > 0 for the slope-1 branch, so x == 0 gets negative_slope"),
    Mistake("leaky_relu_grad is 0 for x <= 0, which is ReLU's derivative",
            lambda x, negative_slope=0.01: (x > 0).astype(x.dtype),
            "where x <= 0 the derivative is negative_slope"),
    Mistake("negative_slope ignored (always 0.01)",
            lambda x, negative_slope=0.01: np.where(x > 0, 1.0, 0.01),
            "use the negative_slope argument"),
    Mistake("leaky_relu_grad returns leaky_relu(x) instead of its derivative",
            lambda x, negative_slope=0.01: leaky(x, negative_slope),
            "differentiate: 1 for x > 0, negative_slope for x <= 0"),
]


def check_leaky_relu_grad(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``leaky_relu_grad(x, negative_slope=0.01)`` against the reference and numerically.

    Args:
        student_fn: the student's ``leaky_relu_grad(x, negative_slope=0.01)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("leaky_relu_grad", student_fn, ref.leaky_relu_grad,
                      mistakes=LEAKY_RELU_GRAD_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = ("1 where x > 0 and negative_slope where x <= 0 (negative_slope at x == 0, as "
            "PyTorch), in x's dtype: np.where(x > 0, 1.0, negative_slope).astype(x.dtype)")
    for slope in (0.2, 1.5):
        checker.case(f"negative_slope = {slope}", array(KINK_VALUES), hint=hint,
                     negative_slope=slope)
    elementwise_cases(checker, rng, thorough, hint=hint)
    gradient_cases(checker, ref.leaky_relu, rng, thorough, kinks=(0.0,), negative_slope=0.3)
    checker.done()



EVAL_HINT = ("in evaluation mode (training=False) rrelu is deterministic: every x < 0 gets the "
             "mean slope (lower + upper) / 2, like torch.nn.functional.rrelu")
TRAIN_HINT = ("in training mode draw one slope per element from the rng argument, e.g. "
              "rng.uniform(lower, upper, size=x.shape), and use it where x < 0")
RRELU_MISTAKES = [
    Mistake("evaluation mode uses lower instead of (lower + upper) / 2",
            lambda x, lower=1 / 8, upper=1 / 3, training=False, rng=None: leaky(x, lower),
            EVAL_HINT),
    Mistake("evaluation mode uses upper instead of (lower + upper) / 2",
            lambda x, lower=1 / 8, upper=1 / 3, training=False, rng=None: leaky(x, upper),
            EVAL_HINT),
    Mistake("evaluation mode uses (upper - lower) / 2 instead of (lower + upper) / 2",
            lambda x, lower=1 / 8, upper=1 / 3, training=False, rng=None:
            leaky(x, (upper - lower) / 2), EVAL_HINT),
    Mistake("the slope is applied to x > 0 instead of x < 0",
            lambda x, lower=1 / 8, upper=1 / 3, training=False, rng=None:
            np.where(x < 0, x, x * ((lower + upper) / 2)), "x >= 0 passes through unchanged"),
]


def _rrelu_eval_is_deterministic(checker: Checker, x: np.ndarray) -> None:
    """Two evaluation-mode calls with different generators must agree."""
    like = ref.rrelu(x)
    first, second = (checker.outputs_of("evaluation mode, called twice", x, like=like,
                                        hint=EVAL_HINT, training=False,
                                        rng=np.random.default_rng(s))[0] for s in (1, 2))
    if not np.array_equal(first, second, equal_nan=True):
        checker.fail("evaluation mode, called twice",
                     "two calls with training=False gave different outputs. This is a known "
                     "mistake: random slopes in evaluation mode", args=(x,),
                     kwargs={"training": False}, hint=EVAL_HINT)
    checker.passed()


def _slope_problem(slopes: np.ndarray, lower: float, upper: float, rtol: float) -> str | None:
    """What is wrong with training-mode slopes, or None."""
    if slopes.size > 1 and np.ptp(slopes) <= rtol * abs(upper):
        return ("every x < 0 got the same slope. This is a known mistake: one slope for the "
                "whole array (or a fixed slope) in training mode")
    margin = rtol * max(abs(lower), abs(upper))
    if slopes.min() < lower - margin or slopes.max() > upper + margin:
        return (f"slopes must lie in [lower, upper] = [{lower}, {upper}], found slopes from "
                f"{slopes.min():.6g} to {slopes.max():.6g}")
    spread, expected_spread = slopes.std(), (upper - lower) / np.sqrt(12.0)
    mean_error = abs(slopes.mean() - (lower + upper) / 2)
    if slopes.size >= 50 and (mean_error > 6 * expected_spread / np.sqrt(slopes.size)
                              or not 0.65 * expected_spread < spread < 1.35 * expected_spread):
        return (f"slopes should be uniform in [lower, upper]: their mean is {slopes.mean():.4g} "
                f"(expected about {(lower + upper) / 2:.4g}) and their spread {spread:.4g} "
                f"(expected about {expected_spread:.4g})")
    return None


def _rrelu_training_case(checker: Checker, x: np.ndarray, lower: float, upper: float,
                         seed: int) -> None:
    """Properties of a training-mode call: its result is random, so no reference value."""
    label = f"training mode, lower={lower}, upper={upper}, {x.dtype}, shape {x.shape}"
    kwargs = {"lower": lower, "upper": upper, "training": True}
    eval_output = ref.rrelu(x, lower, upper)

    def run(rng: np.random.Generator | None) -> np.ndarray:
        extra = {} if rng is None else {"rng": rng}
        return checker.outputs_of(label, x, like=eval_output, hint=TRAIN_HINT, **kwargs,
                                  **extra)[0]

    def fail(problem: str) -> None:
        checker.fail(label, problem, args=(x,), kwargs=kwargs, hint=TRAIN_HINT)

    output = run(np.random.default_rng(seed))
    keep = x >= 0
    if not np.array_equal(output[keep], x[keep]):
        fail("x >= 0 must pass through unchanged in training mode too")
    if np.array_equal(output, eval_output):
        fail("the output equals the evaluation-mode output. This is a known mistake: a fixed "
             "slope (lower + upper) / 2 in training mode")
    rtol = 1e-6 if x.dtype == np.float32 else 1e-12
    problem = _slope_problem(output[~keep].astype(np.float64) / x[~keep], lower, upper, rtol)
    if problem:
        fail(problem)
    if not np.array_equal(output, run(np.random.default_rng(seed))):
        fail("two calls with rng=np.random.default_rng(seed) and the same seed gave different "
             "outputs. This is a known mistake: the slopes are not drawn from the rng argument")
    if np.array_equal(output, run(np.random.default_rng(seed + 1))):
        fail("two different seeds gave the same output: draw the slopes from the rng argument")
    unseeded = run(None)
    problem = _slope_problem(unseeded[~keep].astype(np.float64) / x[~keep], lower, upper, rtol)
    if problem or not np.array_equal(unseeded[keep], x[keep]):
        fail(f"with rng=None (use np.random.default_rng()): {problem or 'x >= 0 changed'}")
    checker.passed()


def _with_zeros(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x.reshape(-1)[::17] = 0.0
    return x


def check_rrelu(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``rrelu``: evaluation mode against the reference, training mode by its properties.

    Args:
        student_fn: the student's ``rrelu(x, lower=1/8, upper=1/3, training=False, rng=None)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("rrelu", student_fn, ref.rrelu, mistakes=RRELU_MISTAKES)
    rng = np.random.default_rng(seed)
    _rrelu_eval_is_deterministic(checker, rng.normal(size=(4, 25)))
    checker.case("evaluation mode, default lower and upper", array(KINK_VALUES), hint=EVAL_HINT)
    checker.case("evaluation mode, lower=0.1, upper=0.3", array(KINK_VALUES), 0.1, 0.3,
                 hint=EVAL_HINT)
    checker.case("evaluation mode, training=False, float32 (3, 4)",
                 rng.normal(size=(3, 4)).astype(np.float32), lower=0.2, upper=0.5,
                 training=False, hint=DTYPE_HINT)
    checker.case("evaluation mode, very large |x|", array(HUGE_VALUES), hint=EVAL_HINT)
    checker.case("evaluation mode, empty array", np.zeros((0, 2)), hint=SHAPE_HINT)
    checker.case("evaluation mode, lower == upper == 0.25", array(KINK_VALUES), 0.25, 0.25,
                 hint=EVAL_HINT)
    for dtype in (np.float64, np.float32):
        x = _with_zeros(rng.normal(size=(4, 100))).astype(dtype)
        _rrelu_training_case(checker, x, 1 / 8, 1 / 3, seed)
    _rrelu_training_case(checker, _with_zeros(rng.normal(size=(2, 3, 40))), 0.1, 0.9, seed)
    if thorough:
        _rrelu_training_case(checker, rng.normal(0.0, 1e3, (64, 64)).astype(np.float32)[::2, 1:],
                             0.01, 0.5, seed)
        _rrelu_training_case(checker, array(HUGE_VALUES * 20), 0.2, 0.4, seed)
        checker.case("evaluation mode, non-contiguous, float32",
                     rng.normal(size=(8, 9)).astype(np.float32).T[::2], 0.05, 0.15,
                     hint=EVAL_HINT)
        checker.case("evaluation mode, 200,000 values", rng.normal(0.0, 100.0, 200_000),
                     hint=EVAL_HINT)
    checker.done()


ELU_MISTAKES = [
    Mistake("elu via np.exp on the positive values too (np.where computes both branches), "
            "which overflows", lambda x, alpha=1.0: np.where(x > 0, x, alpha * (np.exp(x) - 1)),
            "exponentiate only non-positive numbers: np.expm1(np.minimum(x, 0))"),
    Mistake("elu without alpha: exp(x) - 1 instead of alpha * (exp(x) - 1)",
            lambda x, alpha=1.0: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
            "multiply the negative branch by alpha"),
    Mistake("the - 1 is missing: alpha * exp(x) for x <= 0",
            lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0.0))),
            "elu(x) = alpha * (exp(x) - 1) for x <= 0, so elu(0) = 0"),
    Mistake("alpha applied to the positive values too",
            lambda x, alpha=1.0: alpha * ref.elu(x, 1.0), "x > 0 passes through unchanged"),
]


def check_elu(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``elu(x, alpha=1.0)`` against :func:`course_lib.activations.elu`.

    Args:
        student_fn: the student's ``elu(x, alpha=1.0)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("elu", student_fn, ref.elu, mistakes=ELU_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = "elu(x) = x for x > 0 and alpha * (exp(x) - 1) for x <= 0"
    for alpha in (0.5, 2.0):
        checker.case(f"alpha = {alpha}", array(KINK_VALUES), hint=hint, alpha=alpha)
        checker.case(f"alpha = {alpha}, very large |x|, float32",
                     array(HUGE_VALUES, np.float32), hint=STABLE_HINT, alpha=alpha)
    checker.case("alpha = 0 (then elu is relu)", rng.normal(size=(3, 3)), hint=hint, alpha=0.0)
    elementwise_cases(checker, rng, thorough, hint=hint)
    if thorough:
        checker.case("alpha = 1.7, random 4-D", rng.normal(0.0, 3.0, (2, 3, 4, 5)), 1.7,
                     hint=hint)
    checker.done()


ELU_GRAD_MISTAKES = [
    Mistake("elu_grad via np.exp on the positive values too, which overflows",
            lambda x, alpha=1.0: np.where(x > 0, 1.0, alpha * np.exp(x)).astype(x.dtype),
            "exponentiate only non-positive numbers: np.exp(np.minimum(x, 0))"),
    Mistake("elu_grad missing alpha: exp(x) instead of alpha * exp(x) for x <= 0",
            lambda x, alpha=1.0: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0))).astype(x.dtype),
            "the derivative of alpha * (exp(x) - 1) is alpha * exp(x)"),
    Mistake("elu_grad is 1 at x == 0; PyTorch's autograd uses alpha there",
            lambda x, alpha=1.0: np.where(x >= 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))),
            "use x > 0 for the slope-1 branch, so x == 0 gets alpha * exp(0) = alpha"),
    Mistake("elu_grad returns elu(x) instead of its derivative",
            lambda x, alpha=1.0: ref.elu(x, alpha), "differentiate: 1 for x > 0, "
            "alpha * exp(x) for x <= 0"),
]


def check_elu_grad(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``elu_grad(x, alpha=1.0)`` against the reference and central differences.

    Args:
        student_fn: the student's ``elu_grad(x, alpha=1.0)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("elu_grad", student_fn, ref.elu_grad, mistakes=ELU_GRAD_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = "elu'(x) = 1 for x > 0 and alpha * exp(x) for x <= 0 (alpha at x == 0, as PyTorch)"
    for alpha in (0.5, 2.0):
        checker.case(f"alpha = {alpha}", array(KINK_VALUES), hint=hint, alpha=alpha)
        checker.case(f"alpha = {alpha}, very large |x|, float32",
                     array(HUGE_VALUES, np.float32), hint=STABLE_HINT, alpha=alpha)
    elementwise_cases(checker, rng, thorough, hint=hint)
    gradient_cases(checker, ref.elu, rng, thorough, kinks=(0.0,))
    gradient_cases(checker, ref.elu, rng, thorough, kinks=(0.0,), alpha=1.7)
    checker.done()
