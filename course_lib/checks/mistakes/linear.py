"""Classic wrong collapsed linear stacks (notebook 01), so that a failed check can name the mistake.

See :mod:`course_lib.checks.mistakes` for what a mistake is and how it is used.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import Mistake
from course_lib.reference import linear as reference


def _wrong_order(weights, biases):
    W, b = weights[0], biases[0]
    for w_i, b_i in zip(weights[1:], biases[1:]):
        W = W @ w_i  # the new layer on the right: W_1 W_2 ... instead of ... W_2 W_1
        b = w_i @ b + b_i
    return W, b


def _summed_biases(weights, biases):
    W = weights[0]
    for w_i in weights[1:]:
        W = w_i @ W
    return W, np.sum(biases, axis=0)  # raises when the widths differ, as the student's would


def _last_bias_only(weights, biases):
    W = weights[0]
    for w_i in weights[1:]:
        W = w_i @ W
    return W, biases[-1]


def _bias_added_too_early(weights, biases):
    W, b = weights[0], biases[0]
    for w_i, b_i in zip(weights[1:], biases[1:]):
        W = w_i @ W
        b = w_i @ (b + b_i)  # b_i added before the layer that owns it is applied
    return W, b


def _bias_dropped(weights, biases):
    W, b = weights[0], biases[0]
    for w_i, _ in zip(weights[1:], biases[1:]):
        W = w_i @ W
        b = w_i @ b  # forgot "+ b_i"
    return W, b


def _transposed(weights, biases):
    W, b = reference.collapse_linear(weights, biases)
    return W.T, b


ORDER_HINT = (
    "the layer applied last goes on the left: W = W_k @ ... @ W_2 @ W_1, so update the "
    "running product as W = weights[i] @ W"
)
BIAS_HINT = (
    "each bias passes through every later layer: update b = weights[i] @ b + biases[i]"
)

COLLAPSE_LINEAR_MISTAKES = (
    Mistake("multiplying the matrices in the wrong order (W_1 @ W_2 @ ... instead of "
            "... @ W_2 @ W_1)", _wrong_order, ORDER_HINT),
    Mistake("returning W transposed, shape (in_1, out_k) instead of (out_k, in_1)",
            _transposed, "W must map inputs to outputs like nn.Linear.weight: "
            "shape (out_features, in_features); build it as weights[i] @ W"),
    Mistake("summing the biases (b_1 + b_2 + ...) without sending earlier ones through "
            "later layers", _summed_biases, BIAS_HINT),
    Mistake("keeping only the last layer's bias", _last_bias_only, BIAS_HINT),
    Mistake("adding a layer's bias before applying that layer's weights",
            _bias_added_too_early, "a layer computes W_i h + b_i: multiply first, then add "
            "its own bias: b = weights[i] @ b + biases[i]"),
    Mistake("dropping the biases of later layers (b = W_i @ b without + b_i)", _bias_dropped,
            BIAS_HINT),
)
