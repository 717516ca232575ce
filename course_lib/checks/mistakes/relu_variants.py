"""Classic wrong Leaky ReLU, PReLU, RReLU and ELU (notebook 04), to name in a failed check.

See :mod:`course_lib.checks.mistakes` for what a mistake is and how it is used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks.core import Mistake
from course_lib.reference import activations
from course_lib.reference import relu_variants as ref


def leaky(x: np.ndarray, slope: float) -> np.ndarray:
    """Leaky ReLU with ``slope``, unchecked: the building block of several known mistakes."""
    return np.where(x > 0, x, slope * x)


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
    Mistake("plain relu: the negative side is 0",
            lambda x, negative_slope=0.01: activations.relu(x),
            "x <= 0 gives negative_slope * x, not 0"),
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
    Mistake("np.maximum(x, weight * x) is only right for slopes <= 1, and PReLU's slopes are "
            "learned and unconstrained: training can push one above 1",
            lambda x, weight: np.maximum(x, x * ref._broadcastable(weight, x.ndim)),
            "use np.where(x > 0, x, slope * x), which is right for every slope"),
]


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
            "spatial axis (2, 3, ...) where x <= 0, e.g. "
            "terms.sum(axis=(0,) + tuple(range(2, x.ndim))); with a shared weight of shape "
            "(1,), sum over everything")
HARD_CODED_AXES = ("dweight summed over a hard-coded axis=(0, 2, 3): those are the batch and "
                   "spatial axes of a 4-D x only")
AXES_HINT = ("sum over axis 0 and every axis from 2 on, whatever x.ndim is: "
             "axis=(0,) + tuple(range(2, x.ndim)); a 2-D x (N, C) has no spatial axes")
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
    Mistake(HARD_CODED_AXES, _with_dweight(lambda terms, weight: terms.sum(axis=(0, 2, 3))),
            AXES_HINT),
]


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
