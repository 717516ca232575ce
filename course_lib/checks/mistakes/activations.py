"""Classic wrong sigmoid, tanh and ReLU (notebooks 02, 03), so a failed check can name them.

See :mod:`course_lib.checks.mistakes` for what a mistake is and how it is used.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import Mistake
from course_lib.checks.elementwise import STABLE_HINT
from course_lib.reference import activations as ref


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


def _tanh_grad_via_cosh(x):
    return 1.0 / np.cosh(x) ** 2


#: 1 / cosh(x)**2 is the right derivative; only its intermediate overflows. It is
#: recognised on the cases where it warns, because its values there are the right ones.
COSH_HINT = (
    "your values are right: 1 / np.cosh(x)**2 is 1 - tanh(x)**2. But for large |x|, cosh(x)**2 "
    "(above |x| = 45 in float32, 355 in float64) or cosh(x) itself (above 89 and 710) is "
    "larger than the largest float: NumPy makes it inf, 1 / inf = 0 is still the right value, "
    "but NumPy warns about the overflow, and under nbgrader a warning scores the test 0. Use "
    "1 - np.tanh(x)**2 (np.tanh never overflows), or keep cosh and compute it inside "
    "`with np.errstate(over='ignore'):`"
)

TANH_GRAD_MISTAKES = [
    Mistake("right values through 1 / np.cosh(x)**2, but cosh(x) overflows to inf on the "
            "way for large |x|", _tanh_grad_via_cosh, COSH_HINT),
    Mistake("tanh computed as (e^x - e^-x) / (e^x + e^-x), which overflows to inf / inf",
            lambda x: 1 - _naive_tanh(x) ** 2, "use np.tanh, which is stable for every x"),
    Mistake("tanh_grad written as 1 - tanh(x): the square is missing", lambda x: 1 - np.tanh(x),
            "the derivative is 1 - tanh(x)**2"),
    Mistake("tanh_grad uses x instead of tanh(x): 1 - x**2", lambda x: 1 - x**2,
            "compute t = np.tanh(x) first, then 1 - t**2"),
    Mistake("tanh_grad written as 1 + tanh(x)**2: wrong sign", lambda x: 1 + np.tanh(x) ** 2,
            "the derivative is 1 - tanh(x)**2, at most 1"),
]


RELU_MISTAKES = [
    Mistake("relu returns the mask x > 0 (that is the gradient)",
            lambda x: (x > 0).astype(x.dtype), "relu(x) = max(0, x): keep the positive values"),
    Mistake("np.minimum instead of np.maximum", lambda x: np.minimum(x, 0.0),
            "relu keeps the larger of x and 0"),
    Mistake("np.abs instead of relu", np.abs, "negative values become 0, not -x"),
]


RELU_GRAD_MISTAKES = [
    Mistake("relu_grad is 1 at x == 0; PyTorch's autograd uses 0 there",
            lambda x: (x >= 0).astype(x.dtype), "use x > 0, not x >= 0"),
    Mistake("relu_grad returns relu(x) instead of its derivative", ref.relu,
            "the derivative is 1 where x > 0 and 0 elsewhere"),
    Mistake("relu_grad is inverted: 1 for x <= 0", lambda x: (x <= 0).astype(x.dtype),
            "the derivative is 1 where x > 0 and 0 elsewhere"),
]


RELU_BACKWARD_HINT = ("dx = dout where x > 0 and 0 where x <= 0: the upstream gradient times "
                      "ReLU's slope at the layer's input x, e.g. np.where(x > 0, dout, 0.0)")
RELU_BACKWARD_MISTAKES = [
    Mistake("relu_backward ignores dout and returns ReLU's slope (1 or 0)",
            lambda dout, x: (x > 0).astype(x.dtype),
            "the chain rule multiplies the slope by the upstream gradient: dx = dout * slope"),
    Mistake("relu_backward passes 1 * dout at x == 0; PyTorch's autograd uses 0 there",
            lambda dout, x: np.where(x >= 0, dout, 0.0), "use x > 0, not x >= 0"),
    Mistake("relu_backward masks with dout > 0 instead of x > 0",
            lambda dout, x: np.where(dout > 0, dout, 0.0),
            "the mask is where the forward pass's input x was positive; the sign of dout does "
            "not matter"),
    Mistake("relu_backward returns dout unchanged (no mask)", lambda dout, x: dout.copy(),
            "where x <= 0 ReLU is flat, so no gradient passes there: dx = 0"),
    Mistake("relu_backward multiplies dout by relu(x) instead of by its slope",
            lambda dout, x: dout * ref.relu(x),
            "the local derivative of ReLU is its slope (1 for x > 0, else 0), not its value"),
    Mistake("relu_backward's mask is inverted: dout passes where x <= 0",
            lambda dout, x: np.where(x > 0, 0.0, dout), RELU_BACKWARD_HINT),
]
