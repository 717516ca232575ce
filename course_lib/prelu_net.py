"""A small PReLU convolutional network for MNIST, and the slopes it learned.

He et al. (2015, "Delving Deep into Rectifiers", Table 1) report the PReLU slopes
their network learned, layer by layer, once with one slope per layer ("channel-
shared") and once with one slope per channel ("channel-wise"). :func:`prelu_cnn`
builds a network small enough to train on a CPU in seconds with either choice, and
:func:`learned_slopes` reads the slopes back, so a notebook can set the two side
by side.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from torch import nn

from course_lib._validate import describe, positive_int, real_number

__all__ = ["SLOPE_KINDS", "learned_slopes", "prelu_cnn", "slope_table"]

#: How the slopes of one PReLU layer are shared: one for the layer, or one per channel.
SLOPE_KINDS = ("shared", "channel")


def _slope_kind(value: object) -> str:
    if not isinstance(value, str) or value not in SLOPE_KINDS:
        raise ValueError(f"slopes: expected 'shared' (one slope per layer) or 'channel' (one "
                         f"slope per channel), got {describe(value)}")
    return value


def _prelu(kind: str, channels: int, init: float) -> nn.PReLU:
    return nn.PReLU(num_parameters=1 if kind == "shared" else channels, init=init)


def prelu_cnn(
    slopes: str = "channel",
    *,
    init: float = 0.25,
    channels: tuple[int, int] = (8, 16),
    hidden: int = 64,
) -> nn.Sequential:
    r"""A LeNet-sized CNN for ``(N, 1, 28, 28)`` MNIST images with PReLU after every layer.

    .. math::
        \mathrm{PReLU}(x)_{n,c,\dots} = \max(0, x_{n,c,\dots}) + a_c \min(0, x_{n,c,\dots})

    Layers (named so that ``model.act1`` is the first PReLU)::

        conv1  5x5, 1 -> C1, padding 2     (N, C1, 28, 28)
        act1   PReLU                       slopes: 1 or C1
        pool1  2x2 max pooling             (N, C1, 14, 14)
        conv2  5x5, C1 -> C2               (N, C2, 10, 10)
        act2   PReLU                       slopes: 1 or C2
        pool2  2x2 max pooling             (N, C2, 5, 5)
        flatten, fc1  25*C2 -> hidden
        act3   PReLU                       slopes: 1 or hidden
        out    hidden -> 10 logits

    Args:
        slopes: ``"shared"``, one slope per PReLU layer (``nn.PReLU()``), or
            ``"channel"``, one per channel (``nn.PReLU(num_parameters=C)``).
        init: initial slope of every PReLU; 0.25 as in He et al. (2015) and PyTorch.
        channels: ``(C1, C2)``, the channels of the two convolutions.
        hidden: width of the fully connected hidden layer.

    Returns:
        An ``nn.Sequential`` mapping ``(N, 1, 28, 28)`` to ``(N, 10)`` logits, with
        PyTorch's default initialization of the weights.
    """
    kind = _slope_kind(slopes)
    init = real_number(init, "init")
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise TypeError(f"channels: expected a pair (C1, C2) of ints, got {describe(channels)}")
    c1, c2 = (positive_int(c, f"channels[{i}]") for i, c in enumerate(channels))
    hidden = positive_int(hidden, "hidden")
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, c1, kernel_size=5, padding=2),
        act1=_prelu(kind, c1, init),
        pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(c1, c2, kernel_size=5),
        act2=_prelu(kind, c2, init),
        pool2=nn.MaxPool2d(2),
        flatten=nn.Flatten(),
        fc1=nn.Linear(25 * c2, hidden),
        act3=_prelu(kind, hidden, init),
        out=nn.Linear(hidden, 10),
    ))


def learned_slopes(model: nn.Module) -> dict[str, np.ndarray]:
    """The slopes of every ``nn.PReLU`` in ``model``, in the model's order.

    Args:
        model: any network; only its ``nn.PReLU`` modules are read.

    Returns:
        ``{module name: slopes}``, each a new float64 array of shape ``(1,)`` (shared)
        or ``(C,)`` (channel-wise).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {describe(model)}")
    return {name: module.weight.detach().cpu().double().numpy().copy()
            for name, module in model.named_modules() if isinstance(module, nn.PReLU)}


def slope_table(shared: dict[str, np.ndarray], channel: dict[str, np.ndarray]) -> str:
    """A text table of learned slopes: the shared slope and the channel-wise mean, min, max.

    Args:
        shared: :func:`learned_slopes` of a network with shared slopes.
        channel: :func:`learned_slopes` of the same network with channel-wise slopes.

    Returns:
        One line per layer (the layers of ``shared``, which ``channel`` must also have).
    """
    missing = [name for name in shared if name not in channel]
    if missing:
        raise ValueError(f"channel: expected the layers of shared ({list(shared)}), "
                         f"missing {missing}")
    lines = [f"{'layer':<8s} {'shared':>8s} {'channel-wise mean':>18s} {'(min .. max)':>18s}"]
    for name, slope in shared.items():
        wise = channel[name]
        lines.append(f"{name:<8s} {slope.mean():8.3f} {wise.mean():18.3f} "
                     f"{f'({wise.min():.3f} .. {wise.max():.3f})':>18s}")
    return "\n".join(lines)
