"""Stacks of linear layers, and why they collapse into one (notebook 01).

A linear layer computes :math:`y = W x + b` with ``W`` shaped ``(out, in)``, like
``torch.nn.Linear.weight``. Composing two of them gives
:math:`W_2 (W_1 x + b_1) + b_2 = (W_2 W_1) x + (W_2 b_1 + b_2)`: one linear layer again.
However many layers we stack, without a nonlinearity between them the stack can only
ever represent what a single layer represents.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_lib._validate import checked, describe, float_array


def _layers(value: object, name: str, arguments: dict) -> list[np.ndarray]:
    """Rule: a list of float arrays, one per layer, of one dtype."""
    if isinstance(value, (np.ndarray, str)) or not isinstance(value, Sequence):
        raise TypeError(f"{name}: expected a list of np.ndarray (one per layer), got "
                        f"{describe(value)}")
    arrays = [float_array(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if name == "weights" and not arrays:
        raise ValueError("weights: expected at least one layer, got an empty list")
    for i, array in enumerate(arrays):
        first = arguments["weights"][0] if name == "biases" else arrays[0]
        if array.dtype != first.dtype:
            raise TypeError(f"{name}[{i}]: expected dtype {first.dtype} like weights[0], got "
                            f"{array.dtype}; use one dtype for the whole stack")
    return arrays


def _chain(biases: object, name: str, arguments: dict) -> list[np.ndarray]:
    """Rule: one bias per layer, and layer shapes that chain (checked with the biases)."""
    ws, bs = arguments["weights"], _layers(biases, name, arguments)
    if len(bs) != len(ws):
        raise ValueError(f"biases: expected one bias per layer ({len(ws)} layers, as in "
                         f"weights), got {len(bs)} biases")
    for i, (w, b) in enumerate(zip(ws, bs)):
        if w.ndim != 2:
            raise ValueError(f"weights[{i}]: expected a 2-D (out_features, in_features) matrix "
                             f"like nn.Linear.weight, got shape {w.shape}")
        if i and w.shape[1] != ws[i - 1].shape[0]:
            raise ValueError(f"weights[{i}]: layer {i} receives the {ws[i - 1].shape[0]} outputs "
                             f"of layer {i - 1} (weights[{i - 1}] has shape {ws[i - 1].shape}), "
                             f"so expected shape ({w.shape[0]}, {ws[i - 1].shape[0]}), got "
                             f"{w.shape}")
        if b.shape != (w.shape[0],):
            raise ValueError(f"biases[{i}]: expected shape ({w.shape[0]},), one bias per output "
                             f"of weights[{i}] (shape {w.shape}), got {b.shape}")
    return bs


@checked(weights=_layers, biases=_chain)
def collapse_linear(weights: Sequence[np.ndarray],
                    biases: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
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
        ``(W, b)``: ``W`` of shape ``(out_k, in_1)`` and ``b`` of shape ``(out_k,)``, new
        arrays in the weights' dtype, such that ``W @ x + b`` equals the stack's output.
    """
    W, b = weights[0].copy(), biases[0].copy()
    for w_i, b_i in zip(weights[1:], biases[1:]):
        # The new layer acts on the output of everything before it: multiply on the left.
        W = w_i @ W
        b = w_i @ b + b_i
    return W, b
