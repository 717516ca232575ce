"""Activation functions and their derivatives as functions of a NumPy array, computed by
PyTorch: ``f, df = curve("gelu")`` for plotting and tabulating (notebook 04).

The values come from ``torch.nn.functional`` and the derivatives from autograd, so a
plot shows exactly what a network computes, including PyTorch's choice at kinks
(``relu'(0) = 0``). The course's own NumPy versions are exercises; these are not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional

from course_lib._validate import choice

#: Name -> PyTorch function of one tensor (parameters at PyTorch's defaults).
TORCH_ACTIVATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": functional.relu,
    "relu6": functional.relu6,
    "leaky_relu": functional.leaky_relu,
    "elu": functional.elu,
    "selu": functional.selu,
    "gelu": functional.gelu,
    "silu": functional.silu,
    "hardswish": functional.hardswish,
}


def curve(name: str, **kwargs: object) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                 Callable[[np.ndarray], np.ndarray]]:
    """``(f, df)``: activation ``name`` and its derivative, each mapping an array to an array.

    Args:
        name: one of :data:`TORCH_ACTIVATIONS`.
        **kwargs: passed to the PyTorch function, e.g. ``negative_slope=0.1``.

    Returns:
        Two functions of a float ``np.ndarray`` of any shape that return float64 arrays of
        the same shape: the values and the elementwise derivative (by autograd).
    """
    fn = TORCH_ACTIVATIONS[choice(name, "name", list(TORCH_ACTIVATIONS))]

    def values(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return fn(torch.as_tensor(x, dtype=torch.float64), **kwargs).numpy()

    def slopes(x: np.ndarray) -> np.ndarray:
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        fn(t, **kwargs).sum().backward()  # elementwise: the gradient of the sum is f'(x)
        return t.grad.numpy()

    return values, slopes
