"""The course's figures, from the plain data of the diagnostics, monitors and training loop.

Every function returns the ``matplotlib.figure.Figure`` and never calls
``plt.show()`` (Jupyter shows a returned figure once); those that draw a single
panel take an optional ``ax`` to draw into. Titles and axis labels are always set.
Only matplotlib and NumPy are used; tensors are accepted wherever arrays are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from course_lib._validate import describe, positive_int
from course_lib.lab.saturation import SATURATING, saturated_fraction

PANEL = 2.6  # inches per small panel


def _numpy(value: Any, name: str) -> np.ndarray:
    """An ndarray from an array, a list or a (CPU or GPU) tensor, without importing torch."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected an array or tensor, got {describe(value)}") from error


def _figure_and_ax(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax: expected a matplotlib Axes or None, got {describe(ax)}")
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    return fig, ax


def _row(panels: int, title: str | None, height: float = PANEL) -> tuple[Figure, list[Axes]]:
    """A row of ``panels`` small axes (at most 6 per row; more wrap onto new rows)."""
    cols = min(panels, 6)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL * cols, height * rows),
                             layout="constrained", squeeze=False)
    flat = list(axes.ravel())
    for extra in flat[panels:]:
        extra.remove()
    if title:
        fig.suptitle(title)
    return fig, flat[:panels]


def _nonempty(mapping: object, name: str) -> Mapping:
    if not isinstance(mapping, Mapping) or not mapping:
        raise TypeError(f"{name}: expected a non-empty dict keyed by layer or net name, got "
                        f"{describe(mapping)}")
    return mapping


# ------------------------------------------------------------------------ activations


def _layer_panel_data(value: Any, bins: int, activation: str | None
                      ) -> tuple[np.ndarray, np.ndarray, float | None, float | None]:
    """``(counts, edges, dead, saturated)`` from a LayerStats-like object or raw activations.

    Raw activations get no dead share: counting dead units is an exercise (notebook 03),
    and a histogram needs none; :func:`course_lib.lab.diagnostics.activation_statistics`
    measures it with PyTorch.
    """
    if hasattr(value, "histogram") and hasattr(value, "bin_edges"):
        return (np.asarray(value.histogram), np.asarray(value.bin_edges),
                getattr(value, "dead", None), getattr(value, "saturated", None))
    acts = _numpy(value, "stats")
    if acts.dtype.kind != "f" or acts.ndim < 2:
        raise TypeError("stats: expected LayerStats (from diagnostics.activation_statistics) or "
                        f"float activations of shape (N, units), got {describe(acts)}")
    acts = acts.astype(np.float64)
    counts, edges = np.histogram(acts, bins=bins)
    saturated = saturated_fraction(acts, activation) if activation in SATURATING else None
    return counts, edges, None, saturated


def activation_histograms(stats: Mapping[str, Any], *, title: str | None = None,
                          bins: int = 40, activation: str | None = None,
                          log: bool = False) -> Figure:
    """One small histogram per layer, in a row, with the dead and saturated shares written on.

    Args:
        stats: ``{layer name: LayerStats}`` from
            :func:`course_lib.lab.diagnostics.activation_statistics`, or
            ``{layer name: (N, units) activations}`` as arrays or tensors.
        title: figure title; default "Activations per layer".
        bins: bins for raw activations (``LayerStats`` bring their own).
        activation: ``"tanh"`` or ``"sigmoid"`` to measure saturation of raw
            activations.
        log: logarithmic count axis (shows thin tails).

    Returns:
        The figure: one axes per layer.
    """
    stats = _nonempty(stats, "stats")
    bins = positive_int(bins, "bins")
    fig, axes = _row(len(stats), title or "Activations per layer")
    for ax, (name, value) in zip(axes, stats.items()):
        counts, edges, dead, saturated = _layer_panel_data(value, bins, activation)
        total = max(int(counts.sum()), 1)
        ax.stairs(counts / total, edges, fill=True, alpha=0.8)
        ax.set_title(str(name))
        ax.set_xlabel("activation")
        ax.set_ylabel("share of values")
        if log:
            ax.set_yscale("log")
        notes = []
        if dead is not None:
            notes.append(f"dead {100 * dead:.0f}%")
        if saturated is not None:
            notes.append(f"saturated {100 * saturated:.0f}%")
        if notes:
            ax.text(0.97, 0.95, "\n".join(notes), transform=ax.transAxes, ha="right",
                    va="top", fontsize=8, bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
    return fig


def colorful_dimension(history: Any, *, ax: Axes | None = None,
                       title: str | None = None) -> Figure:
    """fast.ai's "colorful dimension": activation histograms over training as an image.

    Each column is one recorded batch, each row one histogram bin; colour is the
    count on a log scale. A healthy layer shows a smooth band; a collapsing
    one shows everything piling into the bottom bin (zeros) and little else.

    Args:
        history: a :class:`course_lib.lab.monitors.LayerHistory`, or
            ``{layer name: LayerHistory}`` from ``ActivationMonitor.history()``
            (one panel per layer; ``ax`` must then be None).
        ax: axes to draw one layer into.
        title: figure title (one layer: the panel title; default the layer name).

    Returns:
        The figure.
    """
    if isinstance(history, Mapping):
        history = _nonempty(history, "history")
        if ax is not None:
            raise ValueError("ax: only for one LayerHistory; a dict draws one panel per layer")
        fig, axes = _row(len(history), title or "Activation histograms during training",
                         height=PANEL * 0.9)
        for panel, layer in zip(axes, history.values()):
            _draw_colorful(panel, layer, layer.name)
        return fig
    fig, ax = _figure_and_ax(ax, (5.0, 3.0))
    _draw_colorful(ax, history, title or getattr(history, "name", "activations"))
    return fig


def _draw_colorful(ax: Axes, layer: Any, title: str) -> None:
    if not all(hasattr(layer, a) for a in ("counts", "steps", "bin_edges")):
        raise TypeError(f"history: expected a LayerHistory (counts, steps, bin_edges), got "
                        f"{describe(layer)}")
    counts = np.asarray(layer.counts, dtype=np.float64)
    steps, edges = np.asarray(layer.steps), np.asarray(layer.bin_edges)
    last = steps[-1] + (steps[-1] - steps[-2] if len(steps) > 1 else 1)
    image = ax.imshow(counts.T + 1.0, aspect="auto", origin="lower", cmap="viridis",
                      norm=LogNorm(vmin=1.0, vmax=max(float(counts.max()) + 1.0, 2.0)),
                      extent=(steps[0], last, edges[0], edges[-1]), interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="count + 1 (log)")
    ax.set_title(str(title))
    ax.set_xlabel("training batch")
    ax.set_ylabel("activation")


def dead_unit_bars(dead: Mapping[str, Any], *, ax: Axes | None = None,
                   title: str | None = None) -> Figure:
    """Bar chart of the share of dead units per layer, for one net or several side by side.

    Args:
        dead: ``{layer: fraction}``, ``{layer: LayerStats}``, or, to compare nets,
            ``{net label: {layer: fraction or LayerStats}}``.
        ax: axes to draw into.
        title: default "Dead units per layer".

    Returns:
        The figure, percentages on the y axis from 0 to 100.
    """
    dead = _nonempty(dead, "dead")
    nets = dead if all(isinstance(v, Mapping) for v in dead.values()) else {"": dead}
    layers = list(dict.fromkeys(layer for net in nets.values() for layer in net))
    fig, ax = _figure_and_ax(ax, (max(4.0, 0.6 * len(layers) * len(nets) + 2), 3.2))
    width = 0.8 / len(nets)
    x = np.arange(len(layers))
    for i, (label, per_layer) in enumerate(nets.items()):
        values = [100 * float(getattr(per_layer.get(layer, np.nan), "dead",
                                      per_layer.get(layer, np.nan))) for layer in layers]
        ax.bar(x + (i - (len(nets) - 1) / 2) * width, values, width, label=label or None)
    ax.set_xticks(x, [str(layer) for layer in layers])
    ax.set_ylim(0, 100)
    ax.set_xlabel("layer")
    ax.set_ylabel("dead units (%)")
    ax.set_title(title or "Dead units per layer")
    if len(nets) > 1:
        ax.legend(fontsize=8)
    return fig


# -------------------------------------------------------------------------- gradients


def gradient_norm_plot(norms: Mapping[str, Mapping[str, float]], *, ax: Axes | None = None,
                       title: str | None = None) -> Figure:
    """Gradient norm per layer, on a log scale, one line per net (input side on the left).

    Args:
        norms: ``{net label: {layer: norm}}``, e.g. several results of
            :func:`course_lib.lab.diagnostics.gradient_norms_at_init`; one net's
            ``{layer: norm}`` works too.
        ax: axes to draw into.
        title: default "Gradient norm per layer".

    Returns:
        The figure (log-scaled y axis).
    """
    norms = _nonempty(norms, "norms")
    nets = norms if all(isinstance(v, Mapping) for v in norms.values()) else {"": norms}
    fig, ax = _figure_and_ax(ax, (6.0, 3.6))
    longest: list[str] = []
    for label, per_layer in nets.items():
        values = np.asarray(list(per_layer.values()), dtype=np.float64)
        zeros = int(np.sum(values == 0))  # a log axis cannot show 0: say so in the legend
        note = f" (0 in {zeros} layer{'s' * (zeros > 1)}, not drawn)" if zeros else ""
        ax.plot(np.arange(1, len(values) + 1), np.where(values > 0, values, np.nan), marker="o",
                label=(label + note) or None)
        longest = max(longest, list(per_layer), key=len)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(1, len(longest) + 1), longest, rotation=45 if len(longest) > 8 else 0)
    ax.set_xlabel("layer (input side on the left)")
    ax.set_ylabel("gradient norm (log scale)")
    ax.set_title(title or "Gradient norm per layer")
    if len(nets) > 1 or any(line.get_label()[:1] != "_" for line in ax.lines):
        ax.legend(fontsize=8)
    return fig


def update_ratio_plot(ratios: Mapping[str, Any], steps: Sequence[int] | None = None, *,
                      ax: Axes | None = None, title: str | None = None) -> Figure:
    """Karpathy's update-to-data ratio over training, log10, with the 1e-3 guide line.

    Args:
        ratios: ``{parameter name: (T,) ratios}`` from
            :meth:`course_lib.lab.monitors.UpdateRatioRecorder.ratios`.
        steps: the ``T`` training steps (default 0..T-1).
        ax: axes to draw into.
        title: default "Update-to-data ratio".

    Returns:
        The figure.
    """
    ratios = _nonempty(ratios, "ratios")
    fig, ax = _figure_and_ax(ax, (6.0, 3.6))
    for name, values in ratios.items():
        values = _numpy(values, f"ratios[{name!r}]").astype(np.float64)
        x = np.arange(len(values)) if steps is None else _numpy(steps, "steps")
        with np.errstate(divide="ignore"):
            never = " (never updated)" if np.all(values == 0) else ""
            ax.plot(x, np.log10(values), label=f"{name}{never}", lw=1)
    ax.axhline(-3, color="black", ls="--", lw=1, label="1e-3 (rule of thumb)")
    ax.set_xlabel("training step")
    ax.set_ylabel("log10(|update| / |weight|)")
    ax.set_title(title or "Update-to-data ratio")
    ax.legend(fontsize=7)
    return fig


# -------------------------------------------------------------------------- training


def _histories(histories: Any) -> dict[str, Any]:
    if isinstance(histories, Mapping):
        return dict(_nonempty(histories, "histories"))
    if hasattr(histories, "loss") and hasattr(histories, "batch_loss"):
        return {"": histories}
    raise TypeError(f"histories: expected a History from fit() or a dict of them, got "
                    f"{describe(histories)}")


def loss_curves(histories: Any, *, ax: Axes | None = None, per_batch: bool = False,
                title: str | None = None) -> Figure:
    """Training loss (solid) and validation loss (dashed) per epoch, or per batch.

    Args:
        histories: a :class:`course_lib.lab.train.History` or ``{label: History}``.
        ax: axes to draw into.
        per_batch: plot every batch's training loss instead of epoch means.
        title: default "Loss".

    Returns:
        The figure.
    """
    runs = _histories(histories)
    fig, ax = _figure_and_ax(ax, (6.0, 3.6))
    for label, history in runs.items():
        prefix = f"{label}: " if label else ""
        if per_batch:
            line, = ax.plot(np.arange(1, len(history.batch_loss) + 1), history.batch_loss,
                            lw=0.8, label=f"{prefix}train")
        else:
            epochs = np.arange(1, len(history.loss) + 1)
            line, = ax.plot(epochs, history.loss, marker="o", label=f"{prefix}train")
            if len(history.val_loss):
                ax.plot(epochs, history.val_loss, ls="--", marker="o", color=line.get_color(),
                        label=f"{prefix}validation")
    ax.set_xlabel("batch" if per_batch else "epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "Loss")
    ax.legend(fontsize=8)
    return fig


def training_curves(histories: Any, *, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch side by side (accuracy only if it was measured).

    Args:
        histories: a :class:`course_lib.lab.train.History` or ``{label: History}``.
        title: figure title.

    Returns:
        A figure with two axes (loss, accuracy), or one if no accuracy exists.
    """
    runs = _histories(histories)
    has_accuracy = any(not np.all(np.isnan(np.asarray(h.accuracy, dtype=float)))
                       for h in runs.values())
    fig, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(11 if has_accuracy else 6, 3.6),
                             layout="constrained", squeeze=False)
    loss_curves(runs, ax=axes[0, 0])
    if has_accuracy:
        ax = axes[0, 1]
        for label, history in runs.items():
            prefix = f"{label}: " if label else ""
            epochs = np.arange(1, len(history.accuracy) + 1)
            line, = ax.plot(epochs, 100 * np.asarray(history.accuracy), marker="o",
                            label=f"{prefix}train")
            if len(history.val_accuracy):
                ax.plot(epochs, 100 * np.asarray(history.val_accuracy), ls="--", marker="o",
                        color=line.get_color(), label=f"{prefix}validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.set_title("Accuracy")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------- predictions


def confusion_matrix(targets: Any, predictions: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[t, p]`` of samples of true class ``t`` predicted as ``p``.

    Args:
        targets: ``(N,)`` true class indices (array or tensor).
        predictions: ``(N,)`` predicted class indices.
        num_classes: default ``1 + max`` of both.

    Returns:
        An int64 array ``(num_classes, num_classes)``; rows are true classes.
    """
    t = _numpy(targets, "targets").reshape(-1)
    p = _numpy(predictions, "predictions").reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"predictions: expected {t.shape[0]} labels like targets, got "
                         f"{p.shape[0]}")
    for name, labels in (("targets", t), ("predictions", p)):
        if labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
            raise ValueError(f"{name}: expected class indices (ints >= 0), got {describe(labels)}")
    if t.size == 0:
        raise ValueError("targets: expected at least one label, got none")
    n = int(max(t.max(), p.max()) + 1) if num_classes is None else positive_int(
        num_classes, "num_classes")
    if max(t.max(), p.max()) >= n:
        raise ValueError(f"num_classes: {n} is too small for label {int(max(t.max(), p.max()))}")
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n).astype(np.int64)


def confusion_matrix_plot(targets: Any, predictions: Any, *, num_classes: int | None = None,
                          normalize: bool = False, ax: Axes | None = None,
                          title: str | None = None) -> Figure:
    """The confusion matrix as an image with the numbers written in the cells.

    Args:
        targets, predictions: ``(N,)`` class indices, see :func:`confusion_matrix`.
        num_classes: default ``1 + max`` label.
        normalize: show each row as percentages of its true class.
        ax: axes to draw into.
        title: default "Confusion matrix (accuracy x%)".

    Returns:
        The figure.
    """
    counts = confusion_matrix(targets, predictions, num_classes)
    n = counts.shape[0]
    shown = counts.astype(np.float64)
    if normalize:
        shown = 100 * shown / np.maximum(shown.sum(axis=1, keepdims=True), 1)
    fig, ax = _figure_and_ax(ax, (0.45 * n + 2.5, 0.45 * n + 2))
    ax.imshow(shown, cmap="Blues")
    threshold = shown.max() / 2
    for t in range(n):
        for p in range(n):
            text = f"{shown[t, p]:.0f}"
            ax.text(p, t, text, ha="center", va="center", fontsize=7 if n > 5 else 9,
                    color="white" if shown[t, p] > threshold else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {accuracy:.1%})"
                 + (", % of each row" if normalize else ""))
    return fig


def image_gallery(images: Any, targets: Any, predictions: Any = None, *, ncols: int = 8,
                  max_images: int = 32, title: str | None = None) -> Figure:
    """A grid of grayscale images labelled "true 3 / pred 5" (red where they differ).

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)``, array or tensor.
        targets: ``(N,)`` true labels.
        predictions: ``(N,)`` predicted labels, or None to show only the truth.
        ncols: images per row.
        max_images: show the first this many.
        title: default "Misclassified digits" when predictions are given.

    Returns:
        The figure, one axes per image shown.
    """
    pictures = _numpy(images, "images")
    if pictures.ndim == 4 and pictures.shape[1] == 1:
        pictures = pictures[:, 0]
    if pictures.ndim != 3:
        raise ValueError(f"images: expected (N, 1, H, W) or (N, H, W), got shape "
                         f"{pictures.shape}")
    truth = _numpy(targets, "targets").reshape(-1)
    guess = None if predictions is None else _numpy(predictions, "predictions").reshape(-1)
    if len(truth) != len(pictures) or (guess is not None and len(guess) != len(pictures)):
        raise ValueError(f"targets: expected one label per image ({len(pictures)}), got "
                         f"{len(truth)}" + ("" if guess is None else f" and {len(guess)}"))
    count = min(len(pictures), positive_int(max_images, "max_images"))
    if count == 0:
        raise ValueError("images: nothing to show (0 images)")
    cols = min(positive_int(ncols, "ncols"), count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.5 * rows + 0.4),
                             layout="constrained", squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= count:
            ax.remove()
            continue
        ax.imshow(pictures[i], cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        if guess is None:
            ax.set_title(f"{truth[i]}", fontsize=9)
        else:
            wrong = truth[i] != guess[i]
            ax.set_title(f"true {truth[i]} / pred {guess[i]}", fontsize=8,
                         color="red" if wrong else "black")
    fig.suptitle(title or ("Misclassified digits" if guess is not None else "Images"))
    return fig
