"""The networks the experiments compare, built by name: MLPs, small CNNs, PReLU nets.

* :func:`mlp`: deep MLPs with a choice of activation, norm and initialisation
  (notebooks 01-05); layers are named (``fc1``, ``norm1``, ``act1``, ..., ``out``) so
  the diagnostics can report "layer ``act7`` has 40 % dead units" in words a reader can
  find in ``print(model)``.
* :func:`norm_layer` and :func:`small_cnn`: a normalization layer by name, and a
  two-block CNN to swap them in (notebook 05).
* :func:`prelu_cnn`, :func:`learned_slopes`, :func:`slope_table`: a PReLU CNN and the
  slopes it learns (notebook 04).

Everything here is ``torch.nn``: the course's NumPy references are never used to build
a model, so the same code runs in the student edition.
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_lib._validate import (
    choice,
    describe,
    non_negative_int,
    positive_int,
    real_number,
)

# ---------------------------------------------------------------------- MLPs

#: Activation name -> constructor. ``identity``/``linear`` make the net linear.
ACTIVATION_LAYERS: dict[str, Callable[..., nn.Module]] = {
    "identity": nn.Identity,
    "linear": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "prelu": nn.PReLU,
    "rrelu": nn.RReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "hardswish": nn.Hardswish,
    "relu6": nn.ReLU6,
}

#: Normalization name -> constructor of a layer over ``width`` features of ``(N, width)``.
MLP_NORMS: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm1d,
    "layer": nn.LayerNorm,
}

#: Weight initializations :func:`mlp` knows (``None`` is the same as ``"default"``).
INITS = ("default", "xavier", "he", "normal")


def activation_layer(name: str, **kwargs: object) -> nn.Module:
    """A fresh activation module from its name, e.g. ``activation_layer("leaky_relu")``.

    Args:
        name: one of :data:`ACTIVATION_LAYERS` (case-insensitive; ``-`` works as ``_``).
        **kwargs: passed to the module, e.g. ``negative_slope=0.1`` for
            ``nn.LeakyReLU`` or ``num_parameters=64`` for ``nn.PReLU``.

    Returns:
        A new ``nn.Module``; never in-place, so hooks see the real output.
    """
    return ACTIVATION_LAYERS[choice(name, "activation", list(ACTIVATION_LAYERS))](**kwargs)


def _widths(hidden: int | Sequence[int], depth: int | None) -> list[int]:
    """Hidden widths from ``hidden`` (one width or one per layer) and ``depth``."""
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        if depth is None:
            raise TypeError("depth: expected the number of hidden layers (an int >= 0) when "
                            f"hidden is one width, got None; e.g. mlp(784, {hidden}, 10, "
                            "depth=3)")
        return [positive_int(hidden, "hidden")] * non_negative_int(depth, "depth")
    if not isinstance(hidden, Sequence) or isinstance(hidden, str):
        raise TypeError(f"hidden: expected an int width or a list of widths, got "
                        f"{describe(hidden)}")
    widths = [positive_int(w, f"hidden[{i}]") for i, w in enumerate(hidden)]
    if depth is not None and non_negative_int(depth, "depth") != len(widths):
        raise ValueError(f"depth: expected {len(widths)} (the number of widths in hidden) or "
                         f"None, got {depth}")
    return widths


@torch.no_grad()
def _initialize(linear: nn.Linear, init: str, scale: float, bias: float | None) -> None:
    """Re-initialize one layer: draw by ``init``, multiply by ``scale``, set the bias."""
    fan_out, fan_in = linear.weight.shape
    if init == "xavier":  # Glorot & Bengio (2010): Var = 2 / (fan_in + fan_out)
        linear.weight.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)))
    elif init == "he":  # He et al. (2015): Var = 2 / fan_in, for ReLU
        linear.weight.normal_(0.0, math.sqrt(2.0 / fan_in))
    elif init == "normal":  # N(0, 1): the "naive" init that saturates sigmoid and tanh
        linear.weight.normal_(0.0, 1.0)
    if init != "default":
        linear.bias.zero_()
    linear.weight.mul_(scale)
    if bias is not None:
        linear.bias.fill_(bias)


def mlp(
    in_features: int,
    hidden: int | Sequence[int],
    out_features: int,
    depth: int | None = None,
    activation: str = "relu",
    *,
    norm: str | None = None,
    init: str | None = None,
    init_scale: float = 1.0,
    bias_init: float | None = None,
    flatten: bool = True,
) -> nn.Sequential:
    r"""A multilayer perceptron with named layers.

    .. math::
        h_0 = \operatorname{flatten}(x), \quad
        h_i = \phi(\operatorname{norm}(W_i h_{i-1} + b_i)), \quad
        \text{logits} = W_{\text{out}} h_{\text{depth}} + b_{\text{out}}

    The layers are named ``flatten``, then ``fc1``, ``norm1`` (if any), ``act1``,
    ..., and ``out``, so ``model.act3`` is the third activation. The norm sits
    between the linear layer and the activation, as in Ioffe & Szegedy (2015).

    Args:
        in_features: inputs per sample (784 for flattened 28x28 MNIST).
        hidden: width of every hidden layer (then ``depth`` is required) or a
            list of widths, one per hidden layer.
        out_features: outputs (10 logits for MNIST).
        depth: number of hidden layers (``fc`` + activation blocks); the net has
            ``depth + 1`` linear layers. ``depth=0`` is logistic regression.
        activation: a name from :data:`ACTIVATION_LAYERS`, used in every hidden layer.
        norm: ``None``, ``"batch"`` (``nn.BatchNorm1d``) or ``"layer"`` (``nn.LayerNorm``).
        init: weight initialization of every linear layer: ``None``/``"default"``
            (PyTorch's, uniform with bound :math:`1/\sqrt{\text{fan\_in}}`),
            ``"xavier"`` (normal, :math:`\sigma^2 = 2/(\text{fan\_in}+\text{fan\_out})`),
            ``"he"`` (normal, :math:`\sigma^2 = 2/\text{fan\_in}`) or ``"normal"``
            (:math:`\sigma = 1`). The three named ones zero the biases.
        init_scale: multiplies every weight after initialization (e.g. 3.0 to
            push sigmoid units into saturation, 0.1 to make signals vanish).
        bias_init: if given, every *hidden* linear layer's bias is set to it
            (a large negative value kills ReLU units); the output layer keeps
            its initialized bias.
        flatten: start with ``nn.Flatten()`` so ``(N, 1, 28, 28)`` images work.

    Returns:
        An ``nn.Sequential`` mapping ``(N, in_features)`` (or images) to ``(N, out_features)``.
    """
    in_features = positive_int(in_features, "in_features")
    out_features = positive_int(out_features, "out_features")
    widths = _widths(hidden, depth)
    activation = choice(activation, "activation", list(ACTIVATION_LAYERS))
    norm_key = None if norm is None else choice(norm, "norm", list(MLP_NORMS))
    init_key = "default" if init is None else choice(init, "init", INITS)
    scale = real_number(init_scale, "init_scale")
    bias = None if bias_init is None else real_number(bias_init, "bias_init")

    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if flatten:
        layers["flatten"] = nn.Flatten()
    fan_in = in_features
    for i, width in enumerate(widths, start=1):
        linear = nn.Linear(fan_in, width)
        _initialize(linear, init_key, scale, bias)
        layers[f"fc{i}"] = linear
        if norm_key is not None:
            layers[f"norm{i}"] = MLP_NORMS[norm_key](width)
        layers[f"act{i}"] = activation_layer(activation)
        fan_in = width
    output = nn.Linear(fan_in, out_features)
    _initialize(output, init_key, scale, None)
    layers["out"] = output
    return nn.Sequential(layers)


# ---------------------------------------------------------------------- norms by name

#: The kinds :func:`norm_layer` knows, in the order notebooks present them.
NORM_KINDS = ("none", "batch", "layer", "instance", "group")


def norm_layer(
    kind: str, num_channels: int, num_groups: int | None = None, *, spatial_dims: int = 2
) -> nn.Module:
    """A normalization layer for ``num_channels`` channels, by name.

    - ``"none"``: ``nn.Identity()``.
    - ``"batch"``: ``nn.BatchNorm2d(C)``; ``nn.BatchNorm1d(C)`` for (N, C) or (N, C, L).
    - ``"layer"``: ``nn.GroupNorm(1, C)``, layer norm over (C, H, W) with one scale and
      shift per channel, which works for any H, W (group norm with one group;
      the "LN" of the Group Normalization paper).
    - ``"instance"``: ``nn.InstanceNorm2d(C, affine=True)``; ``InstanceNorm1d`` for (N, C, L).
    - ``"group"``: ``nn.GroupNorm(num_groups, C)``.

    Args:
        kind: one of :data:`NORM_KINDS`.
        num_channels: C, the size of axis 1 of the input.
        num_groups: G for ``kind="group"``, a divisor of C; must be ``None`` otherwise.
        spatial_dims: 2 for (N, C, H, W) feature maps, 1 for (N, C, L), 0 for the
            (N, C) features of a linear layer (no instance norm there: a single value
            per channel has no spatial statistics).

    Returns:
        A new ``torch.nn.Module`` with PyTorch's default eps and momentum.
    """
    if kind not in NORM_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(map(repr, NORM_KINDS))}, got {kind!r}")
    num_channels = positive_int(num_channels, "num_channels")
    spatial_dims = non_negative_int(spatial_dims, "spatial_dims")
    if spatial_dims > 2:
        raise ValueError(f"spatial_dims: expected 0, 1 or 2, got {spatial_dims}")
    if kind != "group" and num_groups is not None:
        raise ValueError(f"num_groups: expected None for kind={kind!r}, got {num_groups!r}")
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(num_channels) if spatial_dims == 2 else nn.BatchNorm1d(num_channels)
    if kind == "layer":
        return nn.GroupNorm(1, num_channels)
    if kind == "instance":
        if spatial_dims == 0:
            raise ValueError(
                "spatial_dims: expected 1 or 2 for kind='instance' (instance norm needs "
                "spatial positions to average over), got 0"
            )
        module = nn.InstanceNorm2d if spatial_dims == 2 else nn.InstanceNorm1d
        return module(num_channels, affine=True)
    if num_groups is None:
        raise ValueError(
            f"num_groups: expected a divisor of num_channels = {num_channels} for "
            "kind='group', got None"
        )
    num_groups = positive_int(num_groups, "num_groups")
    if num_channels % num_groups:
        raise ValueError(
            f"num_groups: expected a divisor of num_channels = {num_channels}, got {num_groups}"
        )
    return nn.GroupNorm(num_groups, num_channels)


def small_cnn(norm: str = "none", width: int = 8, num_groups: int = 4) -> nn.Sequential:
    """A two-block CNN for ``(N, 1, 28, 28)`` images, with ``norm`` after each conv.

    Notebook 05 trains it with batch, layer, instance and group norm at several batch
    sizes (a miniature of Figure 1 of Wu & He's Group Normalization paper)::

        conv 3x3 (1 -> w)  -> norm -> ReLU -> 2x2 max pool     (N, w, 14, 14)
        conv 3x3 (w -> 2w) -> norm -> ReLU -> 2x2 max pool     (N, 2w, 7, 7)
        flatten -> linear (2w * 49 -> 10)                       (N, 10) logits

    The norm sits between each convolution and its activation, as in the paper.

    Args:
        norm: a kind of :func:`norm_layer`: ``"none"``,
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


# ---------------------------------------------------------------------- PReLU networks

#: How the slopes of one PReLU layer are shared: one for the layer, or one per channel.
SLOPE_KINDS = ("shared", "channel")


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
    kind = choice(slopes, "slopes", SLOPE_KINDS)
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
