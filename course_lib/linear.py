"""Stacks of linear layers, and why they collapse into one.

A linear layer computes :math:`y = W x + b` with ``W`` shaped ``(out, in)``,
like ``torch.nn.Linear.weight``. Composing two of them gives
:math:`W_2 (W_1 x + b_1) + b_2 = (W_2 W_1) x + (W_2 b_1 + b_2)`: one linear
layer again. However many layers we stack, without a nonlinearity between them
the stack can only ever represent what a single layer represents.

NumPy only, pure functions: inputs are never modified and the float dtype of
the weights is kept (float32 stays float32).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_lib._validate import describe, float_array


def _validate_stack(weights: object, biases: object) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Check that ``weights`` and ``biases`` describe a chain of linear layers.

    Each message names the layer (``weights[i]`` / ``biases[i]``), what was
    expected and what came.
    """
    for name, value in (("weights", weights), ("biases", biases)):
        if isinstance(value, np.ndarray) or not isinstance(value, Sequence) or isinstance(
            value, str
        ):
            raise TypeError(
                f"{name}: expected a list of np.ndarray (one per layer), got {describe(value)}"
            )
    if len(weights) == 0:
        raise ValueError("weights: expected at least one layer, got an empty list")
    if len(biases) != len(weights):
        raise ValueError(
            f"biases: expected one bias per layer ({len(weights)} layers, as in weights), "
            f"got {len(biases)} biases"
        )
    ws = [float_array(w, f"weights[{i}]") for i, w in enumerate(weights)]
    bs = [float_array(b, f"biases[{i}]") for i, b in enumerate(biases)]
    dtype = ws[0].dtype
    for i, (w, b) in enumerate(zip(ws, bs)):
        if w.ndim != 2:
            raise ValueError(
                f"weights[{i}]: expected a 2-D (out_features, in_features) matrix like "
                f"nn.Linear.weight, got shape {w.shape}"
            )
        if w.dtype != dtype or b.dtype != dtype:
            odd = f"weights[{i}]" if w.dtype != dtype else f"biases[{i}]"
            raise TypeError(
                f"{odd}: expected dtype {dtype} like weights[0], got "
                f"{w.dtype if w.dtype != dtype else b.dtype}; use one dtype for the whole stack"
            )
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"biases[{i}]: expected shape ({w.shape[0]},), one bias per output of "
                f"weights[{i}] (shape {w.shape}), got {b.shape}"
            )
        if i > 0 and w.shape[1] != ws[i - 1].shape[0]:
            raise ValueError(
                f"weights[{i}]: layer {i} receives the {ws[i - 1].shape[0]} outputs of layer "
                f"{i - 1} (weights[{i - 1}] has shape {ws[i - 1].shape}), so expected shape "
                f"({w.shape[0]}, {ws[i - 1].shape[0]}), got {w.shape}"
            )
    return ws, bs


def collapse_linear(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    r"""Collapse a stack of linear layers into the one linear layer it equals.

    The stack computes :math:`x \mapsto W_k(\cdots(W_2(W_1 x + b_1) + b_2)\cdots) + b_k`.
    Expanding it layer by layer,

    .. math::
        W = W_k W_{k-1} \cdots W_1, \qquad
        b = b_k + W_k b_{k-1} + W_k W_{k-1} b_{k-2} + \dots + W_k \cdots W_2 b_1,

    computed as the running pair :math:`(W, b) \leftarrow (W_i W,\; W_i b + b_i)`.

    Args:
        weights: list of ``k`` matrices; ``weights[i]`` is ``(out_i, in_i)`` like
            ``torch.nn.Linear.weight``, with ``in_{i+1} == out_i``.
        biases: list of ``k`` vectors; ``biases[i]`` is ``(out_i,)``.

    Returns:
        ``(W, b)``: ``W`` of shape ``(out_k, in_1)`` and ``b`` of shape ``(out_k,)``,
        new arrays in the weights' dtype, such that ``W @ x + b`` equals the stack's
        output for every ``x``.

    Raises:
        TypeError: if an argument is not a list of float arrays of one dtype.
        ValueError: if shapes do not chain; the message names the layer.
    """
    ws, bs = _validate_stack(weights, biases)
    W, b = ws[0].copy(), bs[0].copy()
    for w_i, b_i in zip(ws[1:], bs[1:]):
        # The new layer acts on the output of everything before it: multiply on the left.
        W = w_i @ W
        b = w_i @ b + b_i
    return W, b


def linear_forward(
    x: np.ndarray, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]
) -> np.ndarray:
    r"""Run a batch through a stack of linear layers, one layer at a time.

    .. math::
        h_0 = x, \qquad h_i = h_{i-1} W_i^\top + b_i

    (row vectors, as ``torch.nn.Linear`` computes ``x @ weight.T + bias``).

    Args:
        x: ``(N, in_1)`` inputs, in the weights' dtype.
        weights: list of ``(out_i, in_i)`` matrices, as for :func:`collapse_linear`.
        biases: list of ``(out_i,)`` vectors.

    Returns:
        ``(N, out_k)`` outputs of the last layer.
    """
    ws, bs = _validate_stack(weights, biases)
    x = float_array(x, "x")
    if x.ndim != 2 or x.shape[1] != ws[0].shape[1]:
        raise ValueError(
            f"x: expected shape (N, {ws[0].shape[1]}) (N inputs of the first layer's "
            f"{ws[0].shape[1]} features), got {x.shape}"
        )
    if x.dtype != ws[0].dtype:
        raise TypeError(f"x: expected dtype {ws[0].dtype} like the weights, got {x.dtype}")
    h = x
    for w_i, b_i in zip(ws, bs):
        h = h @ w_i.T + b_i
    return h
