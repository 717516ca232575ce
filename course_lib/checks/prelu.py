"""Checks for PReLU (notebook 04): ``prelu(x, weight)`` and ``prelu_backward``.

The weight holds one slope per channel on axis 1 (or one shared slope), as in
``torch.nn.functional.prelu``; the cases include a 4-D input whose last axis has
as many entries as there are channels, where broadcasting on the wrong axis runs
without error but gives wrong values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import activations as ref
from course_lib.checks._activation_cases import (
    DTYPE_HINT,
    GRAD_HINT,
    SHAPE_HINT,
    array,
    away_from_kinks,
    leaky,
)
from course_lib.checks.core import Checker, Mistake, numerical_gradient

__all__ = [
    "check_prelu",
    "check_prelu_backward",
]


def _prelu_last_axis(x, weight):
    return np.where(x > 0, x, x * weight)


PRELU_MISTAKES = [
    Mistake("weight broadcast on the last axis instead of the channel axis 1", _prelu_last_axis,
            "reshape weight to (1, C, 1, 1) for x of shape (N, C, H, W): "
            "weight.reshape((1, -1) + (1,) * (x.ndim - 2))"),
    Mistake("condition inverted: the slope is applied to x > 0",
            lambda x, weight: np.where(x > 0, -ref.prelu(-x, weight), x),
            "keep x where x > 0; multiply by the channel's weight where x <= 0"),
    Mistake("the first channel's slope weight[0] used for every channel",
            lambda x, weight: leaky(x, weight[0]), "each channel c has its own slope weight[c]"),
]


def _prelu_inputs(rng, shape, channels, dtype=np.float64):
    x = rng.normal(size=shape).astype(dtype)
    weight = rng.uniform(-0.5, 1.5, channels).astype(dtype)
    return x, weight


def check_prelu(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``prelu(x, weight)``: one slope per channel on axis 1, as torch.nn.functional.

    Args:
        student_fn: the student's ``prelu(x, weight)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("prelu", student_fn, ref.prelu, mistakes=PRELU_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = ("prelu(x)[n, c, ...] = x if x > 0 else weight[c] * x; channels are on axis 1, "
            "so reshape weight to (1, C, 1, 1) for a 4-D x")
    checker.case("x (N, C) = (2, 3) with zeros, weight (C,)",
                 array([[-2.0, 0.0, 3.0], [1.0, -1.0, -4.0]]), array([0.1, 0.2, 0.3]), hint=hint)
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


def _dweight_terms(dout, x):
    return np.where(x <= 0, x * dout, 0.0).astype(x.dtype)


def _reduce_like(terms, weight):
    """Sum per-element weight gradients to ``weight``'s shape, as the reference does."""
    if weight.shape[0] == 1:
        return terms.sum().reshape(1)
    return terms.sum(axis=(0, *range(2, terms.ndim)))


def _with_dweight(reduce: Callable) -> Callable:
    """A prelu_backward whose dx is right and whose dweight is ``reduce(terms, weight)``."""
    def backward(dout, x, weight):
        return ref.prelu_backward(dout, x, weight)[0], reduce(_dweight_terms(dout, x), weight)
    return backward


def _with_dx(dx_fn: Callable) -> Callable:
    """A prelu_backward whose dweight is right and whose dx is ``dx_fn(dout, x, weight)``."""
    def backward(dout, x, weight):
        return dx_fn(dout, x, weight), ref.prelu_backward(dout, x, weight)[1]
    return backward


SUM_HINT = ("dweight has the shape of weight: sum x * dout over the batch axis 0 and every "
            "spatial axis (2, 3, ...) where x <= 0, e.g. terms.sum(axis=(0, 2, 3)); with a "
            "shared weight of shape (1,), sum over everything")
PRELU_BACKWARD_MISTAKES = [
    Mistake("prelu_backward does not sum dweight over batch and space (one value per element)",
            _with_dweight(lambda terms, weight: terms), SUM_HINT),
    Mistake("dweight summed over the batch axis only, not over the spatial axes",
            _with_dweight(lambda terms, weight: terms.sum(axis=0)), SUM_HINT),
    Mistake("dweight summed over the spatial axes only, not over the batch",
            _with_dweight(lambda terms, weight: terms.sum(axis=tuple(range(2, terms.ndim)))),
            SUM_HINT),
    Mistake("dweight summed over every axis, channels too, for a per-channel weight",
            _with_dweight(lambda terms, weight: terms.sum().reshape(1)), SUM_HINT),
    Mistake("dweight summed with keepdims=True: shape (1, C, 1, 1) instead of (C,)",
            _with_dweight(lambda terms, weight: terms.sum(axis=(0, *range(2, terms.ndim)),
                                                          keepdims=True)), SUM_HINT),
    Mistake("dweight sums dout where x <= 0 but forgets the factor x",
            lambda dout, x, weight: (ref.prelu_backward(dout, x, weight)[0],
                                     _reduce_like(np.where(x <= 0, dout, 0.0), weight)),
            "d out / d a_c = x where x <= 0, so dweight sums x * dout, not dout"),
    Mistake("dweight also sums x * dout where x > 0",
            lambda dout, x, weight: (ref.prelu_backward(dout, x, weight)[0],
                                     _reduce_like(x * dout, weight)),
            "where x > 0 the output does not depend on the weight: those terms are 0"),
    Mistake("dx ignores the weight: dout * (x > 0) is ReLU's gradient",
            _with_dx(lambda dout, x, weight: dout * (x > 0)),
            "where x <= 0, dx = weight[c] * dout"),
    Mistake("dx broadcasts weight on the last axis instead of the channel axis 1",
            _with_dx(lambda dout, x, weight: np.where(x > 0, dout, dout * weight)),
            "reshape weight to (1, C, 1, 1) for x of shape (N, C, H, W)"),
]


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


def check_prelu_backward(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``prelu_backward(dout, x, weight) -> (dx, dweight)``, also numerically.

    Args:
        student_fn: the student's ``prelu_backward(dout, x, weight) -> (dx, dweight)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("prelu_backward", student_fn, ref.prelu_backward,
                      outputs=("dx", "dweight"), mistakes=PRELU_BACKWARD_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = ("dx = dout where x > 0 and weight[c] * dout where x <= 0 (also at x == 0, as "
            "PyTorch); " + SUM_HINT)
    x = array([[-2.0, 0.0, 3.0], [1.0, -1.0, 0.0]])
    checker.case("x (N, C) = (2, 3) with zeros", np.ones_like(x), x, array([0.1, 0.2, 0.3]),
                 hint=hint)
    checker.case("x (N, C, H, W) = (2, 3, 4, 3), weight (C,)",
                 *_prelu_backward_inputs(rng, (2, 3, 4, 3), 3), hint=hint)
    checker.case("x (N, C, L) = (3, 2, 5), weight (C,)",
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
