"""Look inside a network: activation statistics, gradient norms and update sizes, via hooks.

Three ways in, from one-off to during training:

* :func:`activation_statistics` runs data through the model once and returns
  per-layer mean, std, histogram, dead and saturated shares (:class:`LayerStats`).
* :func:`gradient_norms` (and :func:`gradient_norms_at_init`) does one forward
  and backward pass and returns the gradient norm of every layer.
* during training, :mod:`course_lib.lab.monitors` records the same numbers every
  few batches.

Results are plain data (dataclasses of floats and NumPy arrays, dicts keyed by
layer name) that a notebook prints with :func:`format_table` or plots with
:mod:`course_lib.lab.plots`. Nothing here changes the model: modes, gradients and
BatchNorm running statistics are restored afterwards.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from course_lib._validate import describe, positive_int
from course_lib.lab.models import ACTIVATION_LAYERS
from course_lib.lab.saturation import saturation_bounds

#: Modules whose outputs are "activations" by default (the identity is left out).
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = tuple(
    {cls for cls in ACTIVATION_LAYERS.values() if cls is not nn.Identity}
)

#: Modules whose weights get a gradient norm by default.
WEIGHT_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

ModuleChoice = type | tuple | Sequence[str] | None


# ------------------------------------------------------------------- choosing modules


def select_modules(model: nn.Module, which: ModuleChoice = None,
                   default: tuple[type[nn.Module], ...] = ACTIVATION_TYPES
                   ) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs to watch, in the model's order.

    Args:
        model: the network.
        which: ``None`` (modules of the ``default`` types), a module type or a
            tuple of types (e.g. ``nn.ReLU``), or a list of names as in
            ``model.named_modules()`` (e.g. ``["act1", "act5"]``).
        default: the types used when ``which`` is ``None``.

    Returns:
        A list of ``(name, module)`` pairs; never empty.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {describe(model)}")
    named = [(name, module) for name, module in model.named_modules() if name]
    if which is None or isinstance(which, type) or (
            isinstance(which, tuple) and all(isinstance(t, type) for t in which)):
        types = default if which is None else which
        chosen = [(name, module) for name, module in named if isinstance(module, types)]
        if not chosen:
            kinds = ", ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
            raise ValueError(f"modules: the model has no {kinds} layer; pass the layer names "
                             f"to watch, e.g. modules={[n for n, _ in named][:3]}")
        return chosen
    if isinstance(which, str) or not isinstance(which, Sequence):
        raise TypeError(f"modules: expected None, a module type, a tuple of types or a list of "
                        f"layer names, got {describe(which)}")
    by_name = dict(named)
    unknown = [name for name in which if name not in by_name]
    if unknown:
        raise ValueError(f"modules: no layer named {unknown[0]!r}; the model has "
                         f"{', '.join(by_name)}")
    return [(name, by_name[name]) for name in which]


def saturation_kind(module: nn.Module) -> str | None:
    """``"tanh"`` or ``"sigmoid"`` for the activations that saturate, else ``None``."""
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    return None


def histogram_range(module: nn.Module) -> tuple[float, float]:
    """Fixed histogram range for a module's outputs: the activation's range where it has one."""
    if isinstance(module, nn.Sigmoid):
        return (0.0, 1.0)
    if isinstance(module, nn.Tanh):
        return (-1.0, 1.0)
    if isinstance(module, nn.ReLU6):
        return (0.0, 6.0)
    if isinstance(module, nn.ReLU):
        return (0.0, 5.0)
    return (-5.0, 5.0)


# ------------------------------------------------------------------ one layer's numbers


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer's outputs over the samples seen.

    ``dead`` is the share of units (features; channel-positions for conv maps)
    never positive on any sample; ``saturated`` the share of values on the
    flat tails of tanh/sigmoid (``None`` for other layers). ``histogram`` has
    ``len(bin_edges) - 1`` counts over a fixed range; values outside the range
    are counted in the first or last bin.
    """

    name: str
    samples: int
    units: int
    mean: float
    std: float
    dead: float
    saturated: float | None
    histogram: np.ndarray
    bin_edges: np.ndarray


class _Accumulator:
    """Running sums for one layer, kept on the device (no sync until :meth:`result`)."""

    def __init__(self, name: str, kind: str | None, bins: int, value_range: tuple[float, float]):
        self.name, self.kind, self.bins, self.range = name, kind, bins, value_range
        self.samples = 0
        self.values = 0
        self.total = self.squares = self.saturated = self.hist = None
        self.ever_positive: torch.Tensor | None = None

    def add(self, output: torch.Tensor) -> None:
        raw = output.detach().flatten(1)
        units = raw.to(torch.float64)
        if self.ever_positive is None:
            self.total = units.new_zeros(())
            self.squares = units.new_zeros(())
            self.saturated = units.new_zeros(())
            self.hist = units.new_zeros(self.bins)
            self.ever_positive = torch.zeros(units.shape[1], dtype=torch.bool, device=units.device)
        elif units.shape[1] != self.ever_positive.numel():
            raise ValueError(f"{self.name}: the number of units changed from "
                             f"{self.ever_positive.numel()} to {units.shape[1]} between batches")
        self.samples += units.shape[0]
        self.values += units.numel()
        self.total += units.sum()
        self.squares += (units * units).sum()
        self.ever_positive |= (units > 0).any(dim=0)
        self.hist += histogram(units, self.bins, self.range)
        if self.kind is not None:
            self.saturated += saturated_values(raw, self.kind).sum()

    def result(self) -> LayerStats:
        if self.ever_positive is None:
            raise ValueError(f"{self.name}: saw no data; did the forward pass reach this layer?")
        mean = self.total.item() / self.values
        var = max(self.squares.item() / self.values - mean * mean, 0.0)
        return LayerStats(
            name=self.name, samples=self.samples, units=int(self.ever_positive.numel()),
            mean=mean, std=var**0.5,
            dead=float((~self.ever_positive).double().mean().item()),
            saturated=None if self.kind is None else self.saturated.item() / self.values,
            histogram=self.hist.cpu().numpy().round().astype(np.int64),
            bin_edges=np.linspace(*self.range, self.bins + 1),
        )


def saturated_values(values: torch.Tensor, kind: str) -> torch.Tensor:
    """Bool mask of saturated tensor values, by :func:`course_lib.lab.saturation.saturated_mask`."""
    low, high = saturation_bounds()  # Python floats: torch compares in the tensor's dtype
    if kind == "tanh":
        return values.abs() > high
    return (values < low) | (values > high)


def histogram(values: torch.Tensor, bins: int, value_range: tuple[float, float]) -> torch.Tensor:
    """Counts of ``values`` in ``bins`` equal bins over ``value_range`` (outliers in the end bins).

    Computed where the values live; ``torch.histc`` has no deterministic CUDA
    kernel, so its warning is silenced (counts are exact either way).
    """
    low, high = value_range
    flat = values.detach().reshape(-1).float().clamp(low, high)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.histc(flat, bins=bins, min=low, max=high).to(values.dtype)


# -------------------------------------------------------------- leaving the model as it was


@contextlib.contextmanager
def _untouched(model: nn.Module, train: bool) -> Iterator[None]:
    """Run with ``model`` in train/eval mode; restore its mode, gradients and buffers after."""
    was_training = model.training
    grads = {name: p.grad for name, p in model.named_parameters()}
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    model.train(train)
    try:
        yield
    finally:
        model.train(was_training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        for name, p in model.named_parameters():
            p.grad = grads[name]


def _device_of(model: nn.Module) -> torch.device:
    """Where the model's parameters live (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def _batches(data: torch.Tensor | Iterable, batch_size: int) -> Iterator[tuple]:
    """``(inputs, targets or None)`` pairs from a tensor or a loader."""
    if isinstance(data, torch.Tensor):
        for chunk in data.split(batch_size):
            yield chunk, None
        return
    if not isinstance(data, Iterable):
        raise TypeError(f"data: expected an input tensor or a loader of (inputs, targets), got "
                        f"{describe(data)}")
    for pair in data:
        yield (pair[0], pair[1]) if isinstance(pair, (tuple, list)) else (pair, None)


def activation_statistics(
    model: nn.Module,
    data: torch.Tensor | Iterable,
    *,
    modules: ModuleChoice = None,
    bins: int = 40,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    max_batches: int | None = None,
    train_mode: bool = False,
    device: torch.device | str | None = None,
    batch_size: int = 512,
) -> dict[str, LayerStats]:
    """Per-layer activation statistics over a data set, from forward hooks.

    Args:
        model: the network; it runs where its parameters are.
        data: an input tensor ``(N, ...)`` or a loader of ``(inputs, targets)``.
        modules: which layers to watch, see :func:`select_modules`; default every
            activation module.
        bins: histogram bins per layer.
        ranges: histogram range per layer name; default :func:`histogram_range`.
        max_batches: look at this many batches only.
        train_mode: run in train mode (BatchNorm normalizes with the batch's
            statistics, as during training; running statistics are restored);
            default eval mode.
        device: move the model there first; default: leave it where it is.
        batch_size: batch size for a tensor ``data``.

    Returns:
        ``{layer name: LayerStats}`` in the model's order.
    """
    bins = positive_int(bins, "bins")
    max_batches = None if max_batches is None else positive_int(max_batches, "max_batches")
    chosen = select_modules(model, modules)
    if device is not None:
        model.to(device)
    device = _device_of(model)
    accumulators = {name: _Accumulator(name, saturation_kind(module), bins,
                                       (ranges or {}).get(name, histogram_range(module)))
                    for name, module in chosen}
    handles = [module.register_forward_hook(_feeder(accumulators[name]))
               for name, module in chosen]
    try:
        with _untouched(model, train_mode), torch.no_grad():
            for i, (inputs, _) in enumerate(_batches(data, batch_size)):
                if max_batches is not None and i >= max_batches:
                    break
                model(inputs.to(device))
    finally:
        for handle in handles:
            handle.remove()
    return {name: acc.result() for name, acc in accumulators.items()}


def _feeder(accumulator: _Accumulator) -> Callable:
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        accumulator.add(output)
    return hook


# ------------------------------------------------------------------------ gradients


def gradient_norms(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    of: str = "weight",
    modules: ModuleChoice = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, float]:
    r"""Norm of the loss gradient at every chosen layer, from one forward and backward pass.

    .. math::
        \left\lVert \frac{\partial L}{\partial W_\ell} \right\rVert_F
        \quad\text{or}\quad
        \left\lVert \frac{\partial L}{\partial a_\ell} \right\rVert_F

    Runs in train mode (as a training step would) on the model's device; the
    model's mode, existing ``.grad`` and BatchNorm buffers are left as they were.

    Args:
        model: the network.
        inputs: ``(N, ...)`` a batch of inputs.
        targets: ``(N,)`` class indices (or whatever ``loss_fn`` takes).
        of: ``"weight"`` (the gradient of each layer's weight; default modules
            ``nn.Linear`` and ``nn.Conv*``) or ``"activation"`` (the gradient
            w.r.t. each layer's output; default modules the activation layers).
        modules: which layers, see :func:`select_modules`.
        loss_fn: default ``nn.CrossEntropyLoss()`` (batch mean).

    Returns:
        ``{layer name: norm}`` in the model's order, the input side first.
    """
    if of not in ("weight", "activation"):
        raise ValueError(f"of: expected 'weight' or 'activation', got {describe(of)}")
    chosen = select_modules(model, modules, WEIGHT_TYPES if of == "weight" else ACTIVATION_TYPES)
    if of == "weight":
        missing = [name for name, m in chosen if not isinstance(getattr(m, "weight", None),
                                                                 torch.Tensor)]
        if missing:
            raise ValueError(f"modules: layer {missing[0]!r} has no weight; choose layers "
                             "with a weight or use of='activation'")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    device = _device_of(model)
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    if of == "activation":
        handles = [module.register_forward_hook(_keeper(outputs, name)) for name, module in chosen]
    try:
        with _untouched(model, train=True):
            for p in model.parameters():
                p.grad = None
            loss = loss_fn(model(inputs.to(device)), targets.to(device))
            if of == "activation":
                missing = [name for name, _ in chosen if name not in outputs]
                if missing:
                    raise ValueError(f"modules: layer {missing[0]!r} was not used in the "
                                     "forward pass")
                grads = torch.autograd.grad(loss, [outputs[name] for name, _ in chosen])
                norms = [g.norm() for g in grads]
            else:
                loss.backward()
                norms = [gradient_norm(module.weight) for _, module in chosen]
            values = torch.stack(norms).tolist()
    finally:
        for handle in handles:
            handle.remove()
    return {name: float(v) for (name, _), v in zip(chosen, values)}


def gradient_norms_at_init(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, float]:
    """Weight-gradient norm per linear/conv layer of a fresh model: vanishing or exploding?

    Same as :func:`gradient_norms` with ``of="weight"``: one batch, one backward
    pass, the model left untouched. Plot several nets with
    :func:`course_lib.lab.plots.gradient_norm_plot`.
    """
    return gradient_norms(model, inputs, targets, of="weight", loss_fn=loss_fn)


def gradient_norm(weight: torch.Tensor) -> torch.Tensor:
    """Norm of a weight's gradient; 0 if it got none (the layer is not on the loss's path)."""
    grad = weight.grad
    return weight.new_zeros(()) if grad is None else grad.detach().norm()


def _keeper(outputs: dict[str, torch.Tensor], name: str) -> Callable:
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        outputs[name] = output
    return hook


# ------------------------------------------------------------------------- printing


def format_table(stats: Mapping[str, LayerStats]) -> str:
    """A plain-text table of :func:`activation_statistics` for ``print``."""
    lines = [f"{'layer':<12} {'mean':>8} {'std':>8} {'dead %':>7} {'saturated %':>12}"]
    for name, s in stats.items():
        sat = "-" if s.saturated is None else f"{100 * s.saturated:.1f}"
        lines.append(f"{name:<12} {s.mean:>8.4f} {s.std:>8.4f} {100 * s.dead:>7.1f} {sat:>12}")
    return "\n".join(lines)
