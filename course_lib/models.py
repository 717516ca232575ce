"""Build the networks the experiments compare: activation layers by name and deep MLPs.

Layers get names (``fc1``, ``norm1``, ``act1``, ..., ``out``) so that the
diagnostics can report "layer ``act7`` has 40 % dead units" in words a reader
can find in ``print(model)``.
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_lib._validate import describe, non_negative_int, positive_int, real_number

#: Activation name -> constructor. ``identity``/``linear`` make the net linear.
ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
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
NORMS: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm1d,
    "layer": nn.LayerNorm,
}

#: Weight initializations :func:`mlp` knows (``None`` is the same as ``"default"``).
INITS = ("default", "xavier", "he", "normal")


def _choice(value: object, name: str, valid: Sequence[str]) -> str:
    """Return ``value`` lower-cased if it names one of ``valid``, else raise listing them."""
    options = ", ".join(repr(v) for v in valid)
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a name, one of {options}; got {describe(value)}")
    key = value.strip().lower().replace("-", "_")
    if key not in valid:
        raise ValueError(f"{name}: unknown name {value!r}; expected one of {options}")
    return key


def activation_layer(name: str, **kwargs: object) -> nn.Module:
    """A fresh activation module from its name, e.g. ``activation_layer("leaky_relu")``.

    Args:
        name: one of :data:`ACTIVATIONS` (case-insensitive; ``-`` works as ``_``).
        **kwargs: passed to the module, e.g. ``negative_slope=0.1`` for
            ``nn.LeakyReLU`` or ``num_parameters=64`` for ``nn.PReLU``.

    Returns:
        A new ``nn.Module``; never in-place, so hooks see the real output.
    """
    key = _choice(name, "activation", list(ACTIVATIONS))
    return ACTIVATIONS[key](**kwargs)


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
        activation: a name from :data:`ACTIVATIONS`, used in every hidden layer.
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
    activation = _choice(activation, "activation", list(ACTIVATIONS))
    norm_key = None if norm is None else _choice(norm, "norm", list(NORMS))
    init_key = "default" if init is None else _choice(init, "init", INITS)
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
            layers[f"norm{i}"] = NORMS[norm_key](width)
        layers[f"act{i}"] = activation_layer(activation)
        fan_in = width
    output = nn.Linear(fan_in, out_features)
    _initialize(output, init_key, scale, None)
    layers["out"] = output
    return nn.Sequential(layers)
