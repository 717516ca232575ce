"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998), the arithmetic of its layers, and a
fast recipe to train it on MNIST (notebook 06).

The classic net here is the form most courses and PyTorch tutorials use: 28x28 MNIST
digits padded by 2 (the paper pads the digits to 32x32 instead), tanh activations,
average pooling, full C1-C3 connections and a linear 10-way output (the paper's C3
uses a sparse connection table, its S2/S4 have trainable coefficients and its output
is a layer of radial basis functions; it counts 60,000 trainable parameters). The
classic net has exactly 61,706:

=====  ===========================  ===============  ======
layer  what                         output shape     params
=====  ===========================  ===============  ======
C1     conv 1->6, 5x5, padding 2    (N, 6, 28, 28)      156
S2     2x2 pooling, stride 2        (N, 6, 14, 14)        0
C3     conv 6->16, 5x5              (N, 16, 10, 10)   2,416
S4     2x2 pooling, stride 2        (N, 16, 5, 5)         0
C5     linear 400->120              (N, 120)         48,120
F6     linear 120->84               (N, 84)          10,164
out    linear 84->10 (logits)       (N, 10)             850
=====  ===========================  ===============  ======
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib._validate import checked, choice, count, describe, whole

#: Activations :class:`LeNet5` accepts, with PyTorch's defaults (Leaky ReLU slope 0.01,
#: ELU alpha 1).
LENET_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
_ACTIVATION_LAYERS = dict(zip(LENET_ACTIVATIONS, (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU,
                                                   nn.ELU)))
#: Normalizations :class:`LeNet5` accepts (``None`` means ``"none"``).
LENET_NORMS = ("none", "batch", "group", "layer")
#: Pooling kinds :class:`LeNet5` accepts.
LENET_POOLINGS = ("avg", "max")
#: Groups used by ``norm="group"``: 2 divides every width of LeNet-5 (6, 16, 120, 84).
GROUPS = 2


def _module(model: object, name: str, _arguments: dict) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name}: expected a torch.nn.Module, got {describe(model)}")
    return model


def _dims(shape: object, name: str, _arguments: dict) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or not shape:
        raise TypeError(f"{name}: expected a tuple of ints like (1, 28, 28), got "
                        f"{describe(shape)}")
    return tuple(count(d, f"{name}[{i}]", _arguments) for i, d in enumerate(shape))


def _fits(kernel_size: object, name: str, arguments: dict) -> int:
    """Rule: a window that fits in the padded input (else the output would be empty)."""
    kernel_size = count(kernel_size, name, arguments)
    padding = whole(arguments["padding"], "padding", arguments)
    padded = arguments["size"] + 2 * padding
    if kernel_size > padded:
        raise ValueError(f"kernel_size: expected at most size + 2*padding = {padded}, got "
                         f"{kernel_size}; the window does not fit in the padded input, so the "
                         "output would be empty")
    return kernel_size


@checked(size=count, kernel_size=_fits, stride=count, padding=whole)
def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    r"""Output length of a convolution or pooling along one spatial axis.

    .. math::
        \text{out} = \left\lfloor \frac{\text{size} + 2\,\text{padding}
        - \text{kernel\_size}}{\text{stride}} \right\rfloor + 1

    Args:
        size: input length (height or width), an int >= 1.
        kernel_size: window length, an int >= 1.
        stride: step between windows, an int >= 1.
        padding: zeros added on each side, an int >= 0.

    Returns:
        The output length, an int >= 1, as ``torch.nn.Conv2d`` and ``torch.nn.MaxPool2d``
        compute it (dilation 1, ``ceil_mode=False``).

    Raises:
        TypeError: an argument is not an int.
        ValueError: an argument is out of range, or the window does not fit in the
            padded input (the result would be < 1).
    """
    return (size + 2 * padding - kernel_size) // stride + 1


@checked(model=_module)
def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameter elements of ``model``.

    Counts each parameter tensor once (a weight shared by two layers counts once, as
    ``model.parameters()`` yields it once), skips tensors with ``requires_grad=False``
    and skips buffers such as batch norm's running statistics.

    Args:
        model: any ``torch.nn.Module``.

    Returns:
        An int, e.g. 61,706 for ``LeNet5()``.
    """
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


@checked(model=_module, input_shape=_dims)
def layer_output_shapes(model: nn.Module,
                        input_shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """Output shape of every leaf layer, measured with forward hooks on one example.

    Runs ``model`` once on ``torch.zeros(1, *input_shape)`` in eval mode without
    gradients, with a forward hook on every module that has no children; the hooks are
    removed and the model's mode restored afterwards, even if the forward pass fails.

    Args:
        model: the network.
        input_shape: one example's shape without the batch axis, e.g. ``(1, 28, 28)``.

    Returns:
        ``[(name, shape), ...]`` in the order the layers ran, ``name`` as in
        ``model.named_modules()`` and ``shape`` without the batch axis, e.g.
        ``("features.0", (6, 28, 28))``; a layer that runs twice appears twice.
    """
    shapes: list[tuple[str, tuple[int, ...]]] = []

    def recorder(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            shapes.append((name, tuple(output.shape[1:])))
        return hook

    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    handles = [m.register_forward_hook(recorder(name)) for name, m in leaves]
    was_training = model.training
    try:
        model.eval()  # batch norm must not update its running statistics
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return shapes


def _norm(kind: str, width: int, conv: bool) -> list[nn.Module]:
    """The normalization after a layer of ``width`` channels or features (none for "none")."""
    if kind == "batch":
        return [nn.BatchNorm2d(width) if conv else nn.BatchNorm1d(width)]
    if kind in ("group", "layer"):  # "layer" is GroupNorm(1, C), as Wu and He (2018) define it
        return [nn.GroupNorm(GROUPS if kind == "group" else 1, width)]
    return []


class LeNet5(nn.Module):
    """LeNet-5 for 28x28 digits, with a choice of activation, normalization and pooling.

    ``LeNet5()`` is the classic net: tanh, average pooling, padding 2 on the 28x28
    input, a linear 10-way output, 61,706 parameters. Each hidden layer computes
    ``activation(norm(layer(x)))``, then C1 and C3 are pooled; the output layer is
    linear (logits for ``torch.nn.CrossEntropyLoss``, no softmax).

    Args:
        activation: ``"tanh"`` (default), ``"sigmoid"``, ``"relu"``, ``"leaky_relu"``
            (slope 0.01) or ``"elu"`` (alpha 1), after C1, C3, C5 and F6.
        norm: ``"none"`` (default, or ``None``), ``"batch"`` (``BatchNorm2d``, then
            ``BatchNorm1d`` for C5, F6), ``"group"`` (``GroupNorm(2, C)``) or ``"layer"``
            (``GroupNorm(1, C)``: layer norm over (C, H, W) with a per-channel affine, as
            Wu and He (2018) define it for conv nets), between each of C1, C3, C5, F6
            and its activation.
        pooling: ``"avg"`` (default) or ``"max"``: S2 and S4, 2x2 windows with stride 2.

    Shape:
        - Input: ``(N, 1, 28, 28)``.
        - Output: ``(N, 10)`` logits.
    """

    def __init__(self, activation: str = "tanh", norm: str | None = "none",
                 pooling: str = "avg") -> None:
        super().__init__()
        self.activation = choice(activation, "activation", LENET_ACTIVATIONS)
        self.norm = "none" if norm is None else choice(norm, "norm", LENET_NORMS)
        self.pooling = choice(pooling, "pooling", LENET_POOLINGS)
        pool = nn.AvgPool2d if self.pooling == "avg" else nn.MaxPool2d
        self.features = nn.Sequential(
            *self._hidden(nn.Conv2d(1, 6, kernel_size=5, padding=2), 6),  # C1: 28x28 -> 28x28
            pool(kernel_size=2, stride=2),  # S2: -> 14x14
            *self._hidden(nn.Conv2d(6, 16, kernel_size=5), 16),  # C3: -> 10x10
            pool(kernel_size=2, stride=2),  # S4: -> 5x5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # 16 * 5 * 5 = 400 features
            *self._hidden(nn.Linear(16 * 5 * 5, 120), 120),  # C5 (a 5x5 conv on 5x5 = linear)
            *self._hidden(nn.Linear(120, 84), 84),  # F6
            nn.Linear(84, 10),  # output: logits, no activation
        )

    def _hidden(self, layer: nn.Module, width: int) -> list[nn.Module]:
        """``[layer, norm, activation]``; no norm module at all for ``norm="none"``."""
        norm = _norm(self.norm, width, isinstance(layer, nn.Conv2d))
        return [layer, *norm, _ACTIVATION_LAYERS[self.activation]()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(N, 1, 28, 28)`` images to ``(N, 10)`` logits."""
        return self.classifier(self.features(x))

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, norm={self.norm!r}, pooling={self.pooling!r}"
