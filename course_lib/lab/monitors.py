"""Watch a network while it trains: activations, gradient norms and update sizes.

* :class:`ActivationMonitor` records each chosen layer's activations (histogram, mean,
  spread, dead and saturated shares) every ``every`` batches; it is a context manager
  that removes its hooks on exit. fast.ai's "colorful dimension"
  (:func:`course_lib.lab.plots.colorful_dimension`) draws its histograms as an image.
* :class:`GradientNormRecorder` and :class:`UpdateRatioRecorder` are
  :func:`course_lib.lab.train.fit` callbacks; the second measures Karpathy's
  update-to-data ratio (:func:`course_lib.lab.plots.update_ratio_plot`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from course_lib._validate import positive_int
from course_lib.lab.diagnostics import (
    WEIGHT_TYPES,
    ModuleChoice,
    gradient_norm,
    histogram,
    histogram_range,
    saturated_values,
    saturation_kind,
    select_modules,
)


@dataclass
class LayerHistory:
    """One layer's activations over training, one row per recorded batch.

    ``counts`` is ``(T, bins)``: the histogram of each recorded batch
    (fast.ai's "colorful dimension" plots it as an image); ``dead`` is the share
    of units that were never positive within that batch.
    """

    name: str
    bin_edges: np.ndarray
    steps: np.ndarray
    counts: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    dead: np.ndarray
    saturated: np.ndarray | None


@dataclass
class _Trace:
    kind: str | None
    value_range: tuple[float, float]
    steps: list[int] = field(default_factory=list)
    rows: list[torch.Tensor] = field(default_factory=list)  # [mean, std, dead, sat, *counts]


class ActivationMonitor:
    """Record each chosen layer's activations every ``every`` training batches.

    Use as a context manager around training; hooks are removed on exit::

        with ActivationMonitor(model, every=10) as monitor:
            fit(model, loader, epochs=3)
        history = monitor.history()          # {layer name: LayerHistory}

    Only forward passes in train mode count (an evaluation pass is ignored),
    so ``steps`` are training batch indices. Statistics stay on the device
    until :meth:`history` is called.

    Args:
        model: the network.
        modules: which layers, see :func:`select_modules`; default activations.
        every: record every ``every``-th training batch (0, every, 2 * every, ...).
        bins: histogram bins.
        ranges: histogram range per layer name; default :func:`histogram_range`.
    """

    def __init__(self, model: nn.Module, modules: ModuleChoice = None, *, every: int = 1,
                 bins: int = 40, ranges: Mapping[str, tuple[float, float]] | None = None) -> None:
        self.modules = select_modules(model, modules)
        self.every = positive_int(every, "every")
        self.bins = positive_int(bins, "bins")
        ranges = ranges or {}
        self.traces = {name: _Trace(saturation_kind(m), ranges.get(name, histogram_range(m)))
                       for name, m in self.modules}
        self._calls = dict.fromkeys(self.traces, 0)
        self._handles: list = []

    def __enter__(self) -> ActivationMonitor:
        self._handles = [module.register_forward_hook(self._hook(name))
                         for name, module in self.modules]
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hooks (done by ``with`` automatically)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _hook(self, name: str) -> Callable:
        trace = self.traces[name]

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if not module.training:
                return
            call = self._calls[name]
            self._calls[name] = call + 1
            if call % self.every:
                return
            with torch.no_grad():
                units = output.detach().flatten(1).float()
                sat = (saturated_values(units, trace.kind).float().mean() if trace.kind
                       else units.new_zeros(()))
                stats = torch.stack([units.mean(), units.std(correction=0),
                                     (~(units > 0).any(dim=0)).float().mean(), sat])
                counts = histogram(units, self.bins, trace.value_range)
                trace.rows.append(torch.cat([stats, counts]))
            trace.steps.append(call)

        return hook

    def history(self) -> dict[str, LayerHistory]:
        """What was recorded, as NumPy arrays (one device-to-host copy per layer)."""
        result = {}
        for name, trace in self.traces.items():
            if not trace.rows:
                raise ValueError(f"{name}: nothing recorded yet; run training inside the "
                                 "'with ActivationMonitor(...)' block")
            rows = torch.stack(trace.rows).double().cpu().numpy()
            result[name] = LayerHistory(
                name=name, bin_edges=np.linspace(*trace.value_range, self.bins + 1),
                steps=np.asarray(trace.steps), counts=rows[:, 4:].round().astype(np.int64),
                mean=rows[:, 0], std=rows[:, 1], dead=rows[:, 2],
                saturated=rows[:, 3] if trace.kind else None,
            )
        return result


class GradientNormRecorder:
    """A :func:`~course_lib.lab.train.fit` callback: weight-gradient norm per layer over time.

    After training, :meth:`norms` gives ``{layer name: (T,) array}`` and
    :attr:`steps` the optimizer steps they were taken at.
    """

    def __init__(self, model: nn.Module, modules: ModuleChoice = None, *, every: int = 1) -> None:
        self.modules = select_modules(model, modules, WEIGHT_TYPES)
        self.every = positive_int(every, "every")
        self.steps: list[int] = []
        self._rows: list[torch.Tensor] = []

    def after_backward(self, state: object) -> None:
        if state.step % self.every:
            return
        self.steps.append(state.step)
        self._rows.append(torch.stack([gradient_norm(m.weight)
                                       for _, m in self.modules]))

    def norms(self) -> dict[str, np.ndarray]:
        if not self._rows:
            raise ValueError("nothing recorded yet; pass this recorder to fit(callbacks=[...])")
        rows = torch.stack(self._rows).double().cpu().numpy()
        return {name: rows[:, i] for i, (name, _) in enumerate(self.modules)}


class UpdateRatioRecorder:
    r"""A :func:`~course_lib.lab.train.fit` callback measuring the update-to-data ratio.

    .. math::
        r = \frac{\lVert W_{\text{new}} - W_{\text{old}} \rVert}{\lVert W_{\text{old}} \rVert}

    measured around the optimizer step every ``every`` steps, so it is right for
    any optimizer (momentum, Adam). Karpathy's rule of thumb: about
    :math:`10^{-3}`. Weights only (parameters with at least 2 dimensions).
    """

    def __init__(self, model: nn.Module, *, every: int = 1) -> None:
        self.params = [(name, p) for name, p in model.named_parameters() if p.ndim >= 2]
        if not self.params:
            raise ValueError("model: has no weight matrices to measure")
        self.every = positive_int(every, "every")
        self.steps: list[int] = []
        self._before: list[torch.Tensor] | None = None
        self._rows: list[torch.Tensor] = []

    def after_backward(self, state: object) -> None:
        if state.step % self.every == 0:
            self._before = [p.detach().clone() for _, p in self.params]

    def on_batch_end(self, state: object) -> None:
        if self._before is None:
            return
        self._rows.append(torch.stack([
            (p.detach() - old).norm() / old.norm().clamp_min(1e-12)
            for (_, p), old in zip(self.params, self._before)
        ]))
        self.steps.append(state.step)
        self._before = None

    def ratios(self) -> dict[str, np.ndarray]:
        """``{parameter name: (T,) ratios}``, one per recorded step."""
        if not self._rows:
            raise ValueError("nothing recorded yet; pass this recorder to fit(callbacks=[...])")
        rows = torch.stack(self._rows).double().cpu().numpy()
        return {name: rows[:, i] for i, (name, _) in enumerate(self.params)}
