"""Checks for sigmoid, tanh and ReLU and their derivatives (notebooks 02 and 03).

Each ``check_<name>(student_fn, *, seed=0, thorough=False)`` runs the student's function
on the shared battery of :mod:`course_lib.checks.elementwise` (zero, the kinks, ``|x|``
up to ``1e4``, float32 and float64, 1-D, N-D and empty arrays; with ``thorough=True``,
the hidden tests, views, tiny values and large arrays) and compares it with the
reference. Derivatives are also compared with central differences of the forward
function in float64. ``check_relu_backward`` judges the backward pass of a ReLU layer,
``relu_backward(dout, x) -> dx``, the same way, with upstream gradients of both signs so
that a mask taken from ``dout`` instead of ``x`` shows. Each check knows the classic wrong
implementations and names the one it sees.
"""

from __future__ import annotations

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
    Elementwise,
    array,
    away_from_kinks,
    elementwise_check,
)
from course_lib.checks.mistakes import activations as mistakes

ref = answers.reference("activations")  # the right answers (see checks/answers.py)

__all__ = ["check_relu", "check_relu_backward", "check_relu_grad", "check_sigmoid",
           "check_sigmoid_grad", "check_tanh_grad"]

check_sigmoid = elementwise_check(Elementwise(
    "sigmoid", ref.sigmoid, mistakes.SIGMOID_MISTAKES,
    hint="sigmoid(x) = 1 / (1 + exp(-x)); sigmoid(0) = 0.5"))

check_sigmoid_grad = elementwise_check(Elementwise(
    "sigmoid_grad", ref.sigmoid_grad, mistakes.SIGMOID_GRAD_MISTAKES,
    hint="sigmoid'(x) = s * (1 - s) with s = sigmoid(x); it is 0.25 at x = 0",
    derivative_of=[(ref.sigmoid, {})]))

check_tanh_grad = elementwise_check(Elementwise(
    "tanh_grad", ref.tanh_grad, mistakes.TANH_GRAD_MISTAKES,
    hint="tanh'(x) = 1 - tanh(x)**2; it is 1 at x = 0 and 0 far away",
    derivative_of=[(np.tanh, {})]))

check_relu = elementwise_check(Elementwise(
    "relu", ref.relu, mistakes.RELU_MISTAKES,
    hint="keep the positive values and put 0 elsewhere, in a new array of x's dtype"))

check_relu_grad = elementwise_check(Elementwise(
    "relu_grad", ref.relu_grad, mistakes.RELU_GRAD_MISTAKES,
    hint="1 where x > 0 and 0 elsewhere (0 at x == 0 too); a boolean mask needs "
         ".astype(x.dtype)",
    derivative_of=[(ref.relu, {})], kinks=(0.0,)))


#: Upstream gradients of both signs for the kink values: every classic mistake gives a
#: different dx on them, so the first case already names the mistake it sees.
_KINK_DOUT = [0.5, -1.5, 2.0, -0.25, 3.0, -2.0, 1.25, -0.75, 4.0]


def _backward_inputs(rng: np.random.Generator, shape: tuple, dtype: type = np.float64,
                     scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """``(dout, x)``: a random upstream gradient and a random input, both ``dtype``."""
    return (rng.normal(size=shape).astype(dtype),
            rng.normal(0.0, scale, size=shape).astype(dtype))


def check_relu_backward(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``relu_backward(dout, x) -> dx`` against the reference and central differences.

    Args:
        student_fn: the student's ``relu_backward``.
        seed: seed of the random cases.
        thorough: add views, more values and large arrays (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and the
            received values, the known mistake it matches, and a hint.
    """
    checker = Checker("relu_backward", student_fn, ref.relu_backward, outputs=("dx",),
                      mistakes=mistakes.RELU_BACKWARD_MISTAKES)
    rng = np.random.default_rng(seed)
    hint = mistakes.RELU_BACKWARD_HINT
    x, dout = array(KINK_VALUES), array(_KINK_DOUT)
    checker.case("x with zero and the kinks, dout of both signs, float64", dout, x, hint=hint)
    checker.case("the same values in float32", dout.astype(np.float32), x.astype(np.float32),
                 hint=DTYPE_HINT)
    checker.case("very large |x| (up to 1e4)", rng.normal(size=len(HUGE_VALUES)),
                 array(HUGE_VALUES), hint=hint)
    checker.case("random 3-D dout and x, float64", *_backward_inputs(rng, (2, 3, 4)), hint=hint)
    checker.case("random 2-D dout and x, float32", *_backward_inputs(rng, (5, 7), np.float32),
                 hint=DTYPE_HINT)
    checker.case("empty arrays of shape (2, 0, 3)", np.zeros((2, 0, 3)), np.zeros((2, 0, 3)),
                 hint=SHAPE_HINT)
    if thorough:
        dout, x = _backward_inputs(rng, (6, 8))
        checker.case("non-contiguous views x[::2, ::3]", dout[::2, ::3], x[::2, ::3],
                     hint=SHAPE_HINT)
        checker.case("4-D arrays, float32", *_backward_inputs(rng, (2, 3, 4, 5), np.float32),
                     hint=hint)
        checker.case("tiny |x| near 0", rng.normal(size=6),
                     array([-1e-30, -1e-8, -1e-300, 1e-300, 1e-8, 1e-30]), hint=hint)
        for dtype in (np.float64, np.float32):
            checker.case(f"200,000 values, {np.dtype(dtype).name}",
                         *_backward_inputs(rng, (200_000,), dtype, scale=100.0), hint=hint)
    shapes = [(12,), (3, 4)] + ([(2, 3, 4), (40,)] if thorough else [])
    for shape in shapes:
        dout, x = _backward_inputs(rng, shape)
        x = away_from_kinks(x, (0.0,))
        expected = numerical_gradient(ref.relu, x, dout)
        checker.case(f"numerical gradient check, shape {shape}, float64", dout, x,
                     expected=expected, rtol=1e-5, atol=1e-8, hint=GRAD_HINT)
    checker.done()
