"""A small convolutional network whose normalization layers are chosen by name.

Notebook 05 trains it on MNIST with batch, layer, instance and group norm at
several batch sizes (a miniature of Figure 1 of Wu & He's Group Normalization
paper). Two convolution blocks, then a linear read-out::

    conv 3x3 (1 -> w)  -> norm -> ReLU -> 2x2 max pool     (N, w, 14, 14)
    conv 3x3 (w -> 2w) -> norm -> ReLU -> 2x2 max pool     (N, 2w, 7, 7)
    flatten -> linear (2w * 49 -> 10)                       (N, 10) logits

The norm sits between each convolution and its activation, as in the paper.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from course_lib._validate import positive_int
from course_lib.norm_layers import NORM_KINDS, norm_layer


def small_cnn(norm: str = "none", width: int = 8, num_groups: int = 4) -> nn.Sequential:
    """The two-block CNN above for ``(N, 1, 28, 28)`` images, with ``norm`` after each conv.

    Args:
        norm: a kind of :func:`course_lib.norm_layers.norm_layer`: ``"none"``,
            ``"batch"`` (``BatchNorm2d``), ``"layer"`` (``GroupNorm(1, C)``),
            ``"instance"`` (``InstanceNorm2d(affine=True)``) or ``"group"``.
        width: w, channels of the first block (the second has 2w).
        num_groups: G of ``norm="group"``; must divide w (and so 2w). Ignored otherwise.

    Returns:
        An ``nn.Sequential`` with layers named ``conv1, norm1, act1, pool1, conv2, norm2,
        act2, pool2, flatten, out``.
    """
    if norm not in NORM_KINDS:
        raise ValueError(f"norm: expected one of {', '.join(map(repr, NORM_KINDS))}, got {norm!r}")
    width = positive_int(width, "width")
    num_groups = positive_int(num_groups, "num_groups")
    if norm == "group" and width % num_groups:
        raise ValueError(f"num_groups: expected a divisor of width = {width}, got {num_groups}")
    groups = num_groups if norm == "group" else None
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels_in = 1
    for block, channels in enumerate((width, 2 * width), start=1):
        # A conv followed by a norm with a shift needs no bias of its own.
        layers[f"conv{block}"] = nn.Conv2d(channels_in, channels, 3, padding=1,
                                           bias=norm == "none")
        layers[f"norm{block}"] = norm_layer(norm, channels, groups)
        layers[f"act{block}"] = nn.ReLU()
        layers[f"pool{block}"] = nn.MaxPool2d(2)
        channels_in = channels
    layers["flatten"] = nn.Flatten()
    layers["out"] = nn.Linear(2 * width * 7 * 7, 10)
    return nn.Sequential(layers)
