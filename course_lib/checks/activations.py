"""Checks for sigmoid, tanh and ReLU and their derivatives (notebooks 02 and 03).

Each ``check_<name>(student_fn, *, seed=0, thorough=False)`` runs the student's function
on the shared battery of :mod:`course_lib.checks.elementwise` (zero, the kinks, ``|x|``
up to ``1e4``, float32 and float64, 1-D, N-D and empty arrays; with ``thorough=True``,
the hidden tests, views, tiny values and large arrays) and compares it with the
reference. Derivatives are also compared with central differences of the forward
function in float64. Each check knows the classic wrong implementations and names the
one it sees.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks import answers
from course_lib.checks.elementwise import Elementwise, elementwise_check
from course_lib.checks.mistakes import activations as mistakes

ref = answers.reference("activations")  # the right answers (see checks/answers.py)

__all__ = ["check_relu", "check_relu_grad", "check_sigmoid", "check_sigmoid_grad",
           "check_tanh_grad"]

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
