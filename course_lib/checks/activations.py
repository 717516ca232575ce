"""Checks for the activation exercises (notebooks 02, 03 and 04).

Each ``check_<name>(student_fn, *, seed=0, thorough=False)`` runs the student's
function on deterministic cases (zero, the kinks, ``|x|`` up to ``1e4``, float32
and float64, 1-D, N-D and empty arrays) and on random ones drawn from
``np.random.default_rng(seed)``, and compares it with the reference in
:mod:`course_lib.activations`. ``thorough=True`` (the hidden tests) adds
non-contiguous views, larger arrays and more values. Derivatives are also
compared with central differences of the reference forward in float64. Each
check knows the classic wrong implementations and names the one it sees.

This module holds the checks of notebooks 02 and 03 (and ``check_softmax``) and
re-exports those of notebook 04 (:mod:`course_lib.checks.relu_variants`,
:mod:`course_lib.checks.prelu`), so that ``course_lib.checks`` finds every
activation check here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import activations as ref
from course_lib.checks._activation_cases import (
    SHAPE_HINT,
    STABLE_HINT,
    elementwise_cases,
    gradient_cases,
)
from course_lib.checks.core import Checker, Mistake
from course_lib.checks.prelu import check_prelu, check_prelu_backward
from course_lib.checks.relu_variants import (
    check_elu,
    check_elu_grad,
    check_leaky_relu,
    check_leaky_relu_grad,
    check_rrelu,
)

__all__ = [
    "check_elu",
    "check_elu_grad",
    "check_leaky_relu",
    "check_leaky_relu_grad",
    "check_prelu",
    "check_prelu_backward",
    "check_relu",
    "check_relu_grad",
    "check_rrelu",
    "check_sigmoid",
    "check_sigmoid_grad",
    "check_softmax",
    "check_tanh_grad",
]


# ---------------------------------------------------------------- notebook 02


def _naive_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _naive_tanh(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


SIGMOID_MISTAKES = [
    Mistake("the naive sigmoid 1 / (1 + np.exp(-x)) overflows for very negative x",
            _naive_sigmoid, STABLE_HINT),
    Mistake("np.exp(x) / (1 + np.exp(x)) gives inf / inf = nan for large positive x",
            lambda x: np.exp(x) / (1.0 + np.exp(x)), STABLE_HINT),
    Mistake("wrong sign in the exponent: 1 / (1 + exp(x)) is sigmoid(-x)",
            lambda x: ref.sigmoid(-x), "sigmoid(x) = 1 / (1 + exp(-x)); sigmoid(0) = 0.5, "
            "sigmoid(large) = 1"),
]


def check_sigmoid(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``sigmoid(x)`` against :func:`course_lib.activations.sigmoid`.

    Args:
        student_fn: the student's ``sigmoid(x)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("sigmoid", student_fn, ref.sigmoid, mistakes=SIGMOID_MISTAKES)
    elementwise_cases(checker, np.random.default_rng(seed), thorough,
                      hint="sigmoid(x) = 1 / (1 + exp(-x)); sigmoid(0) = 0.5")
    checker.done()


SIGMOID_GRAD_MISTAKES = [
    Mistake("sigmoid computed with the naive 1 / (1 + np.exp(-x)), which overflows",
            lambda x: _naive_sigmoid(x) * (1 - _naive_sigmoid(x)), STABLE_HINT),
    Mistake("sigmoid_grad written as s * (1 + s)", lambda x: ref.sigmoid(x) * (1 + ref.sigmoid(x)),
            "the derivative is s * (1 - s) with s = sigmoid(x)"),
    Mistake("sigmoid_grad uses x instead of s = sigmoid(x): x * (1 - x)", lambda x: x * (1 - x),
            "compute s = sigmoid(x) first, then s * (1 - s)"),
    Mistake("sigmoid_grad returns sigmoid(x) itself", ref.sigmoid,
            "return the derivative s * (1 - s), not s"),
]


def check_sigmoid_grad(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``sigmoid_grad(x)`` against the reference and against central differences.

    Args:
        student_fn: the student's ``sigmoid_grad(x)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("sigmoid_grad", student_fn, ref.sigmoid_grad,
                      mistakes=SIGMOID_GRAD_MISTAKES)
    rng = np.random.default_rng(seed)
    elementwise_cases(checker, rng, thorough,
                      hint="sigmoid'(x) = s * (1 - s) with s = sigmoid(x); it is 0.25 at x = 0")
    gradient_cases(checker, ref.sigmoid, rng, thorough)
    checker.done()


TANH_GRAD_MISTAKES = [
    Mistake("tanh computed as (e^x - e^-x) / (e^x + e^-x), which overflows to inf / inf",
            lambda x: 1 - _naive_tanh(x) ** 2, "use np.tanh, which is stable for every x"),
    Mistake("tanh_grad written as 1 - tanh(x): the square is missing", lambda x: 1 - np.tanh(x),
            "the derivative is 1 - tanh(x)**2"),
    Mistake("tanh_grad uses x instead of tanh(x): 1 - x**2", lambda x: 1 - x**2,
            "compute t = np.tanh(x) first, then 1 - t**2"),
    Mistake("tanh_grad written as 1 + tanh(x)**2: wrong sign", lambda x: 1 + np.tanh(x) ** 2,
            "the derivative is 1 - tanh(x)**2, at most 1"),
]


def check_tanh_grad(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``tanh_grad(x)`` against the reference and against central differences.

    Args:
        student_fn: the student's ``tanh_grad(x)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("tanh_grad", student_fn, ref.tanh_grad, mistakes=TANH_GRAD_MISTAKES)
    rng = np.random.default_rng(seed)
    elementwise_cases(checker, rng, thorough,
                      hint="tanh'(x) = 1 - tanh(x)**2; it is 1 at x = 0 and 0 far away")
    gradient_cases(checker, ref.tanh, rng, thorough)
    checker.done()


# ---------------------------------------------------------------- notebook 03


RELU_MISTAKES = [
    Mistake("relu returns the mask x > 0 (that is the gradient)",
            lambda x: (x > 0).astype(x.dtype), "relu(x) = max(0, x): keep the positive values"),
    Mistake("np.minimum instead of np.maximum", lambda x: np.minimum(x, 0.0),
            "relu keeps the larger of x and 0"),
    Mistake("np.abs instead of relu", np.abs, "negative values become 0, not -x"),
]


def check_relu(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``relu(x)`` against :func:`course_lib.activations.relu`.

    Args:
        student_fn: the student's ``relu(x)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("relu", student_fn, ref.relu, mistakes=RELU_MISTAKES)
    elementwise_cases(checker, np.random.default_rng(seed), thorough,
                      hint="keep the positive values and put 0 elsewhere, in a new array "
                      "of x's dtype")
    checker.done()


RELU_GRAD_MISTAKES = [
    Mistake("relu_grad is 1 at x == 0; PyTorch's autograd uses 0 there",
            lambda x: (x >= 0).astype(x.dtype), "use x > 0, not x >= 0"),
    Mistake("relu_grad returns relu(x) instead of its derivative", ref.relu,
            "the derivative is 1 where x > 0 and 0 elsewhere"),
    Mistake("relu_grad is inverted: 1 for x <= 0", lambda x: (x <= 0).astype(x.dtype),
            "the derivative is 1 where x > 0 and 0 elsewhere"),
]


def check_relu_grad(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``relu_grad(x)``: 1 for x > 0, 0 otherwise (0 at x == 0, as PyTorch).

    Args:
        student_fn: the student's ``relu_grad(x)``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("relu_grad", student_fn, ref.relu_grad, mistakes=RELU_GRAD_MISTAKES)
    rng = np.random.default_rng(seed)
    elementwise_cases(checker, rng, thorough,
                      hint="1 where x > 0 and 0 elsewhere (0 at x == 0 too); a boolean "
                      "mask needs .astype(x.dtype)")
    gradient_cases(checker, ref.relu, rng, thorough, kinks=(0.0,))
    checker.done()


# ------------------------------------------------------------------- softmax


def _naive_softmax(x, axis=-1):
    exp = np.exp(x)
    return exp / exp.sum(axis=axis, keepdims=True)


def _softmax_global_max(x, axis=-1):
    exp = np.exp(x - x.max())
    return exp / exp.sum(axis=axis, keepdims=True)


SOFTMAX_MISTAKES = [
    Mistake("np.exp(x) without subtracting the maximum overflows for large x",
            _naive_softmax, "subtract the maximum along the axis first: "
            "x - x.max(axis=axis, keepdims=True); softmax does not change"),
    Mistake("the maximum of the whole array is subtracted, not the maximum along the axis",
            _softmax_global_max, "a row far below the global maximum underflows to 0 / 0: "
            "use x.max(axis=axis, keepdims=True)"),
    Mistake("normalized along the wrong axis",
            lambda x, axis=-1: ref.softmax(x, axis=0 if axis in (-1, x.ndim - 1) else -1),
            "sum over the axis argument: exp.sum(axis=axis, keepdims=True)"),
    Mistake("normalized by the sum of the whole array",
            lambda x, axis=-1: np.exp(x - x.max()) / np.exp(x - x.max()).sum(),
            "each slice along the axis sums to 1: exp.sum(axis=axis, keepdims=True)"),
]


def check_softmax(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``softmax(x, axis=-1)`` against :func:`course_lib.activations.softmax`.

    Args:
        student_fn: the student's ``softmax(x, axis=-1)``.
        seed: seed of the random cases.
        thorough: add views, more shapes and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("softmax", student_fn, ref.softmax, mistakes=SOFTMAX_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = "softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) along the axis, m its maximum"
    checker.case("1-D logits", np.array([1.0, 2.0, 3.0, 0.0]), hint=hint)
    checker.case("rows of a (4, 5) batch, default axis=-1", rng.normal(0.0, 2.0, (4, 5)),
                 hint=hint)
    checker.case("axis=0 of a (4, 5) array", rng.normal(0.0, 2.0, (4, 5)), axis=0, hint=hint)
    checker.case("axis=1 of a (2, 3, 4) array", rng.normal(0.0, 2.0, (2, 3, 4)), axis=1,
                 hint=hint)
    checker.case("logits up to 1e4", np.array([[1e4, 0.0, -1e4], [1000.0, 999.0, 998.0]]),
                 hint=STABLE_HINT)
    checker.case("rows on very different scales", np.array([[0.0, 1.0, 2.0], [-2e3, -2e3, -2e3]]),
                 hint="subtract each row's own maximum: x.max(axis=axis, keepdims=True)")
    checker.case("float32 logits (3, 6)", rng.normal(0.0, 5.0, (3, 6)).astype(np.float32),
                 hint="keep the input's dtype (float32 in, float32 out)")
    if thorough:
        grid = rng.normal(0.0, 10.0, (9, 12))
        checker.case("non-contiguous view", grid[::2, ::-3], hint=hint)
        checker.case("transposed float32, axis=0", grid.T.astype(np.float32), axis=0, hint=hint)
        checker.case("(256, 1000) float32 logits", rng.normal(0.0, 30.0, (256, 1000)).astype(
            np.float32), hint=STABLE_HINT)
        checker.case("empty batch (0, 3)", np.zeros((0, 3)), hint=SHAPE_HINT)
    checker.done()
