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

import math
from collections.abc import Iterator

import torch
from torch import nn

from course_lib._validate import describe, non_negative_int, positive_int, positive_number
from course_lib.models import activation_layer
from course_lib.norm_layers import norm_layer

#: Activations :class:`LeNet5` accepts, built by :func:`course_lib.models.activation_layer`
#: with PyTorch's defaults (Leaky ReLU slope 0.01, ELU alpha 1).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
#: Normalizations :class:`LeNet5` accepts (``None`` means ``"none"``).
NORMS = ("none", "batch", "group", "layer")
#: Pooling kinds :class:`LeNet5` accepts.
POOLINGS = ("avg", "max")
#: Groups used by ``norm="group"``: 2 divides every width of LeNet-5 (6, 16, 120, 84).
GROUPS = 2


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
    size = positive_int(size, "size")
    kernel_size = positive_int(kernel_size, "kernel_size")
    stride = positive_int(stride, "stride")
    padding = non_negative_int(padding, "padding")
    padded = size + 2 * padding
    if kernel_size > padded:
        raise ValueError(
            f"kernel_size: expected at most size + 2*padding = {padded}, got {kernel_size}; "
            "the window does not fit in the padded input, so the output would be empty"
        )
    return (padded - kernel_size) // stride + 1


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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {describe(model)}")
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {describe(model)}")
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise TypeError(f"input_shape: expected a tuple of ints like (1, 28, 28), got "
                        f"{describe(input_shape)}")
    dims = tuple(positive_int(d, f"input_shape[{i}]") for i, d in enumerate(input_shape))
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
            model(torch.zeros(1, *dims))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return shapes


def _choice(value: object, name: str, allowed: tuple[str, ...]) -> str:
    """Return ``value`` lower-cased if it is one of ``allowed``, else raise."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {allowed}, got {describe(value)}")
    if value.lower() not in allowed:
        raise ValueError(f"{name}: expected one of {allowed}, got {value!r}")
    return value.lower()


def _norm(kind: str, num_channels: int, spatial_dims: int) -> nn.Module:
    """``norm_layer`` with LeNet's conventions: 2 groups for ``"group"``."""
    groups = GROUPS if kind == "group" else None
    return norm_layer(kind, num_channels, groups, spatial_dims=spatial_dims)


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
        self.activation = _choice(activation, "activation", ACTIVATIONS)
        self.norm = "none" if norm is None else _choice(norm, "norm", NORMS)
        self.pooling = _choice(pooling, "pooling", POOLINGS)
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
        spatial_dims = 2 if isinstance(layer, nn.Conv2d) else 0
        norm = [] if self.norm == "none" else [_norm(self.norm, width, spatial_dims)]
        return [layer, *norm, activation_layer(self.activation)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(N, 1, 28, 28)`` images to ``(N, 10)`` logits."""
        return self.classifier(self.features(x))

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, norm={self.norm!r}, pooling={self.pooling!r}"


# ----------------------------------------------------------------- a fast training recipe


class TensorBatches:
    """Mini-batches of in-memory tensors, reshuffled every epoch from a seeded generator.

    A ``DataLoader`` over a ``TensorDataset`` indexes and collates one example at a
    time; slicing whole tensors is several times faster for a net as small as LeNet-5.

    Args:
        images: ``(N, ...)`` inputs.
        labels: ``(N,)`` targets.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: draw a new order every epoch.
        seed: seeds the shuffling; the same seed gives the same batches.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 128,
                 *, shuffle: bool = True, seed: int = 0) -> None:
        if len(images) != len(labels):
            raise ValueError(f"labels: expected {len(images)} labels (one per image), got "
                             f"{len(labels)}")
        self.images, self.labels = images, labels
        self.batch_size = positive_int(batch_size, "batch_size")
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(non_negative_int(seed, "seed"))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.images)
        order = torch.randperm(count, generator=self.generator) if self.shuffle else None
        for start in range(0, count, self.batch_size):
            if order is None:
                yield (self.images[start:start + self.batch_size],
                       self.labels[start:start + self.batch_size])
            else:
                index = order[start:start + self.batch_size]
                yield self.images[index], self.labels[index]


def train_lenet(model: nn.Module, batches: TensorBatches, *, epochs: int, max_lr: float = 3e-3,
                val_batches: TensorBatches | None = None, device: torch.device | str = "cpu",
                progress: bool = True, callbacks=None):
    """Train with Adam and a one-cycle learning rate (Smith, 2018), stepped every batch.

    Args:
        model: the network.
        batches: the training batches, e.g. :class:`TensorBatches`.
        epochs: passes over ``batches``.
        max_lr: the peak learning rate of the cycle.
        val_batches: evaluated after every epoch if given.
        device: where to train.
        progress, callbacks: as in :func:`course_lib.train.fit`.

    Returns:
        The :class:`course_lib.train.History`.
    """
    from course_lib.train import fit

    epochs = positive_int(epochs, "epochs")
    optimizer = torch.optim.Adam(model.parameters(), lr=positive_number(max_lr, "max_lr"))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=epochs * len(batches))
    return fit(model, batches, epochs=epochs, optimizer=optimizer, val_loader=val_batches,
               device=device, progress=progress, callbacks=callbacks,
               on_batch_end=lambda state: schedule.step())


def mnist_tensors(train_size: int | None = None, test_size: int | None = None, *,
                  seed: int = 0) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Standardized MNIST as tensors ``((x_train, y_train), (x_test, y_test))``.

    Images are ``(N, 1, 28, 28)`` float32, labels ``(N,)`` int64; ``train_size`` and
    ``test_size`` keep seeded random subsets (see :func:`course_lib.data.mnist_loaders`).
    """
    from course_lib.data import mnist_loaders

    train, test = mnist_loaders(train_size=train_size, test_size=test_size, seed=seed)
    return tuple(loader.dataset.tensors for loader in (train, test))


#: The short training run of the LeNet5 check: examples, epochs and the accuracy to beat.
QUICK_TRAIN_SIZE, QUICK_TEST_SIZE, QUICK_TRAIN_EPOCHS = 2000, 1000, 4


def quick_train_accuracy(model: nn.Module, *, seed: int = 0) -> float:
    """Train ``model`` briefly on an MNIST subset and return its held-out test accuracy.

    :data:`QUICK_TRAIN_EPOCHS` epochs of :func:`train_lenet` (batch 32, peak learning
    rate 5e-3) on :data:`QUICK_TRAIN_SIZE` training digits, then accuracy on
    :data:`QUICK_TEST_SIZE` test digits. The classic LeNet-5 reaches about 94 %, a
    linear model about 89 %. A few seconds on one CPU core.
    """
    from course_lib.train import evaluate

    (x_train, y_train), (x_test, y_test) = mnist_tensors(QUICK_TRAIN_SIZE, QUICK_TEST_SIZE,
                                                         seed=seed)
    torch.manual_seed(seed)
    train_lenet(model, TensorBatches(x_train, y_train, 32, seed=seed),
                epochs=QUICK_TRAIN_EPOCHS, max_lr=5e-3, progress=False)
    _, accuracy = evaluate(model, TensorBatches(x_test, y_test, 500, shuffle=False),
                           device="cpu")
    return accuracy
