"""Checks for the ReLU variants of notebook 04: Leaky ReLU, PReLU, RReLU and ELU.

Leaky ReLU, ELU and its derivative are rows of the elementwise table
(:mod:`course_lib.checks.elementwise`). PReLU's weight holds one slope per channel on
axis 1 (or one shared slope), as in ``torch.nn.functional.prelu``; its cases include a
4-D input whose last axis has as many entries as there are channels, where
broadcasting on the wrong axis runs without error but gives wrong values.
``check_rrelu`` compares evaluation mode with the reference and judges training mode,
whose output is random, by its properties: positives unchanged, one slope per negative
element drawn uniformly from ``[lower, upper]`` through the ``rng`` argument.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from course_lib.checks import answers
from course_lib.checks.core import Checker, numerical_gradient
from course_lib.checks.elementwise import (
    DTYPE_HINT,
    GRAD_HINT,
    HUGE_VALUES,
    KINK_VALUES,
    SHAPE_HINT,
    STABLE_HINT,
    Case,
    Elementwise,
    array,
    away_from_kinks,
    elementwise_check,
)
from course_lib.checks.mistakes import relu_variants as mistakes
from course_lib.checks.mistakes.relu_variants import (
    AXES_HINT,
    EVAL_HINT,
    HARD_CODED_AXES,
    SUM_HINT,
    TRAIN_HINT,
)

ref = answers.reference("relu_variants")  # the right answers (see checks/answers.py)

__all__ = ["check_elu", "check_elu_grad", "check_leaky_relu", "check_prelu",
           "check_prelu_backward", "check_rrelu"]

# ---------------------------------------------------------------- Leaky ReLU and ELU

check_leaky_relu = elementwise_check(Elementwise(
    "leaky_relu", ref.leaky_relu, mistakes.LEAKY_RELU_MISTAKES,
    hint="leaky_relu(x) = x for x > 0 and negative_slope * x for x <= 0",
    fixed=lambda rng: [Case("default negative_slope = 0.01", (array(KINK_VALUES),)), *(
        Case(f"negative_slope = {slope}", (array(KINK_VALUES),), {"negative_slope": slope})
        for slope in (0.2, 0.0, 1.5))],
    battery={"negative_slope": 0.1},
    thorough=lambda rng: [Case("negative_slope = -0.5 (allowed, as in PyTorch)",
                               (rng.normal(size=(4, 5)),), {"negative_slope": -0.5})],
    signature="x, negative_slope=0.01"))


def _alpha_cases(rng: np.random.Generator) -> list[Case]:
    return [case for alpha in (0.5, 2.0) for case in (
        Case(f"alpha = {alpha}", (array(KINK_VALUES),), {"alpha": alpha}),
        Case(f"alpha = {alpha}, very large |x|, float32", (array(HUGE_VALUES, np.float32),),
             {"alpha": alpha}, STABLE_HINT))]


check_elu = elementwise_check(Elementwise(
    "elu", ref.elu, mistakes.ELU_MISTAKES,
    hint="elu(x) = x for x > 0 and alpha * (exp(x) - 1) for x <= 0",
    fixed=lambda rng: [*_alpha_cases(rng), Case("alpha = 0 (then elu is relu)",
                                                 (rng.normal(size=(3, 3)),), {"alpha": 0.0})],
    thorough=lambda rng: [Case("alpha = 1.7, random 4-D", (rng.normal(0.0, 3.0, (2, 3, 4, 5)),
                                                           1.7))],
    signature="x, alpha=1.0"))

check_elu_grad = elementwise_check(Elementwise(
    "elu_grad", ref.elu_grad, mistakes.ELU_GRAD_MISTAKES,
    hint="elu'(x) = 1 for x > 0 and alpha * exp(x) for x <= 0 (alpha at x == 0, as PyTorch)",
    fixed=_alpha_cases, derivative_of=[(ref.elu, {}), (ref.elu, {"alpha": 1.7})],
    kinks=(0.0,), signature="x, alpha=1.0"))


# ---------------------------------------------------------------- PReLU


def _prelu_inputs(rng, shape, channels, dtype=np.float64):
    x = rng.normal(size=shape).astype(dtype)
    weight = rng.uniform(-0.5, 1.5, channels).astype(dtype)
    return x, weight


def check_prelu(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``prelu(x, weight)``: one slope per channel on axis 1, as torch.nn.functional.

    Arguments and failures as for every check (see :mod:`course_lib.checks`).
    """
    checker = Checker("prelu", student_fn, ref.prelu, mistakes=mistakes.PRELU_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = ("prelu(x)[n, c, ...] = x if x > 0 else weight[c] * x; channels are on axis 1, "
            "so reshape weight to (1, C, 1, 1) for a 4-D x")
    checker.case("x (N, C) = (2, 3) with zeros, weight (C,)",
                 array([[-2.0, 0.0, 3.0], [1.0, -1.0, -4.0]]), array([0.1, 0.2, 0.3]), hint=hint)
    checker.case("slopes above 1 and below 0 (learned slopes are unconstrained)",
                 array([[-2.0, -1.0, -0.5], [2.0, 1.0, 0.5], [-3.0, 0.0, 4.0]]),
                 array([1.5, -0.5, 3.0]), hint=hint)
    checker.case("x (N, C, H, W) = (2, 3, 4, 3): W == C, so only axis 1 is right",
                 *_prelu_inputs(rng, (2, 3, 4, 3), 3), hint=hint)
    checker.case("x (N, C, L) = (2, 3, 5), weight (C,)", *_prelu_inputs(rng, (2, 3, 5), 3),
                 hint=hint)
    checker.case("shared weight of shape (1,), x (2, 3, 4, 5)",
                 *_prelu_inputs(rng, (2, 3, 4, 5), 1), hint="a weight of shape (1,) is one "
                 "slope shared by every channel")
    checker.case("float32 x (4, 6, 2, 2) and weight (6,)",
                 *_prelu_inputs(rng, (4, 6, 2, 2), 6, np.float32), hint=DTYPE_HINT)
    checker.case("1-D x (no channel axis), weight (1,)", *_prelu_inputs(rng, (7,), 1), hint=hint)
    checker.case("very large |x|", array([[-1e4, 1e4], [-1000.0, 1000.0]]), array([0.25, 2.0]),
                 hint=hint)
    checker.case("empty batch, x (0, 3)", np.zeros((0, 3)), array([0.1, 0.2, 0.3]),
                 hint=SHAPE_HINT)
    if thorough:
        x, weight = _prelu_inputs(rng, (8, 5, 6, 7), 5, np.float32)
        checker.case("non-contiguous x[:, :, ::2, ::-1]", x[:, :, ::2, ::-1], weight, hint=hint)
        checker.case("large x (16, 32, 16, 16)", *_prelu_inputs(rng, (16, 32, 16, 16), 32),
                     hint=hint)
        checker.case("x (N, C, D, H, W) = (2, 4, 3, 2, 2)", *_prelu_inputs(rng, (2, 4, 3, 2, 2), 4),
                     hint=hint)
    checker.done()


def _prelu_backward_inputs(rng, shape, channels, dtype=np.float64):
    x, weight = _prelu_inputs(rng, shape, channels, dtype)
    return rng.normal(size=shape).astype(dtype), x, weight


def _prelu_gradient_case(checker: Checker, rng: np.random.Generator, shape, channels) -> None:
    dout, x, weight = _prelu_backward_inputs(rng, shape, channels)
    x = away_from_kinks(x, (0.0,))
    dx = numerical_gradient(lambda v: ref.prelu(v, weight), x, dout)
    dweight = numerical_gradient(lambda w: ref.prelu(x, w), weight, dout)
    checker.case(f"numerical gradient check, x {shape}, weight ({channels},), float64",
                 dout, x, weight, expected=(dx, dweight), rtol=1e-5, atol=1e-8, hint=GRAD_HINT)


#: What NumPy says when a sum names axis 2 or 3 of an array with fewer axes.
_MISSING_AXIS = re.compile(r"AxisError: axis [23] is out of bounds for array of dimension [0-3]\b")


def _backward_case(checker: Checker, description: str, dout: np.ndarray, x: np.ndarray,
                   weight: np.ndarray, **options) -> None:
    """One case of prelu_backward. For x with fewer than 4 axes the student's function runs
    first on its own: a sum over a hard-coded ``axis=(0, 2, 3)`` raises there, and the
    failure then names that mistake rather than only the error."""
    if x.ndim < 4:
        run = checker.run_student((dout, x, weight))
        if run.error is not None and _MISSING_AXIS.match(run.error):
            checker.fail(description, f"your function raised {run.error}. This is a known "
                         f"mistake: {HARD_CODED_AXES}", args=(dout, x, weight), hint=AXES_HINT)
    checker.case(description, dout, x, weight, **options)


def check_prelu_backward(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``prelu_backward(dout, x, weight) -> (dx, dweight)``, also numerically.

    Arguments and failures as for every check (see :mod:`course_lib.checks`).
    """
    checker = Checker("prelu_backward", student_fn, ref.prelu_backward,
                      outputs=("dx", "dweight"), mistakes=mistakes.PRELU_BACKWARD_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = ("dx = dout where x > 0 and weight[c] * dout where x <= 0 (also at x == 0, as "
            "PyTorch); " + SUM_HINT)
    x = array([[-2.0, 0.0, 3.0], [1.0, -1.0, 0.0]])
    _backward_case(checker, "x (N, C) = (2, 3) with zeros", np.ones_like(x), x,
                   array([0.1, 0.2, 0.3]), hint=hint)
    checker.case("x (N, C, H, W) = (2, 3, 4, 3), weight (C,)",
                 *_prelu_backward_inputs(rng, (2, 3, 4, 3), 3), hint=hint)
    _backward_case(checker, "x (N, C, L) = (3, 2, 5), weight (C,)",
                   *_prelu_backward_inputs(rng, (3, 2, 5), 2), hint=hint)
    checker.case("shared weight (1,), x (2, 3, 4, 5)",
                 *_prelu_backward_inputs(rng, (2, 3, 4, 5), 1), hint=hint)
    checker.case("float32, x (4, 6, 2, 2)",
                 *_prelu_backward_inputs(rng, (4, 6, 2, 2), 6, np.float32), hint=DTYPE_HINT)
    checker.case("1-D x (no channel axis), weight (1,)",
                 *_prelu_backward_inputs(rng, (6,), 1), hint=hint)
    big = array([[-1e4, 1e4], [-1000.0, 1000.0]])
    checker.case("very large |x|", np.ones_like(big), big, array([0.25, 2.0]), hint=hint)
    checker.case("empty batch, x (0, 3): dweight is zeros", np.zeros((0, 3)), np.zeros((0, 3)),
                 array([0.1, 0.2, 0.3]), hint=SUM_HINT)
    for shape, channels in [((4, 3), 3), ((2, 3, 2, 2), 3), ((2, 3, 2, 2), 1)]:
        _prelu_gradient_case(checker, rng, shape, channels)
    if thorough:
        dout, x, weight = _prelu_backward_inputs(rng, (6, 5, 6, 7), 5, np.float32)
        checker.case("non-contiguous views", dout[:, :, ::2, ::-1], x[:, :, ::2, ::-1], weight,
                     hint=hint)
        checker.case("large x (16, 32, 16, 16)",
                     *_prelu_backward_inputs(rng, (16, 32, 16, 16), 32), hint=hint)
        checker.case("x (N, C, D, H, W) = (2, 4, 3, 2, 2)",
                     *_prelu_backward_inputs(rng, (2, 4, 3, 2, 2), 4), hint=hint)
        _prelu_gradient_case(checker, rng, (2, 4, 3, 2), 4)
    checker.done()


# ---------------------------------------------------------------- RReLU


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

    Arguments and failures as for every check (see :mod:`course_lib.checks`).
    """
    checker = Checker("rrelu", student_fn, ref.rrelu, mistakes=mistakes.RRELU_MISTAKES)
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
