"""course_lib.lab.plots: structure of each figure (axes, labels, data drawn), not pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_lib.lab import plots as P
from course_lib.lab.diagnostics import LayerStats
from course_lib.lab.monitors import LayerHistory
from course_lib.lab.train import History


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("plots must not call plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


def main_axes(fig: Figure) -> list:
    """Axes other than colorbars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def labelled(ax) -> bool:
    return bool(ax.get_title() and ax.get_xlabel() and ax.get_ylabel())


def layer_stats(name: str, dead: float, saturated: float | None) -> LayerStats:
    counts = np.arange(1, 11)
    return LayerStats(name=name, samples=10, units=4, mean=0.1, std=0.2, dead=dead,
                      saturated=saturated, histogram=counts, bin_edges=np.linspace(-1, 1, 11))


def history(losses, accuracies, val=True) -> History:
    h = History(loss=list(losses), accuracy=list(accuracies),
                batch_loss=[v for v in losses for _ in range(3)])
    if val:
        h.val_loss = [v + 0.1 for v in losses]
        h.val_accuracy = [a - 0.05 for a in accuracies]
    return h


# ----------------------------------------------------------------------- activations


def test_activation_histograms_from_layer_stats():
    stats = {"act1": layer_stats("act1", 0.0, 0.25), "act2": layer_stats("act2", 0.5, None)}
    fig = P.activation_histograms(stats, title="tanh net")
    axes = main_axes(fig)
    assert len(axes) == 2 and fig._suptitle.get_text() == "tanh net"
    assert [ax.get_title() for ax in axes] == ["act1", "act2"]
    assert all(labelled(ax) for ax in axes)
    heights = axes[0].patches[0].get_data()[0]
    np.testing.assert_allclose(heights, np.arange(1, 11) / 55)
    assert [t.get_text() for t in axes[0].texts] == ["dead 0%\nsaturated 25%"]
    assert [t.get_text() for t in axes[1].texts] == ["dead 50%"]


def test_activation_histograms_from_raw_arrays_and_tensors():
    acts = np.tanh(np.random.default_rng(0).normal(scale=3, size=(100, 5)))
    fig = P.activation_histograms({"a": acts, "b": torch.from_numpy(acts)}, activation="tanh",
                                  bins=20, log=True)
    axes = main_axes(fig)
    assert len(axes) == 2 and axes[0].get_yscale() == "log"
    assert len(axes[0].patches[0].get_data()[0]) == 20
    assert "saturated" in axes[1].texts[0].get_text()


def test_many_layers_wrap_onto_rows():
    stats = {f"act{i}": layer_stats(f"act{i}", 0.1, None) for i in range(1, 11)}
    fig = P.activation_histograms(stats)
    assert len(main_axes(fig)) == 10


def test_activation_histograms_bad_input():
    with pytest.raises(TypeError, match=r"stats: expected a non-empty dict"):
        P.activation_histograms({})
    with pytest.raises(TypeError, match=r"stats: expected LayerStats .* or float activations"):
        P.activation_histograms({"a": np.arange(5)})


def layer_history(name: str, steps: int = 6, bins: int = 8) -> LayerHistory:
    counts = np.arange(steps * bins).reshape(steps, bins)
    zeros = np.zeros(steps)
    return LayerHistory(name=name, bin_edges=np.linspace(0, 1, bins + 1),
                        steps=np.arange(0, 2 * steps, 2), counts=counts, mean=zeros, std=zeros,
                        dead=zeros, saturated=None)


def test_colorful_dimension_one_layer_into_an_ax():
    fig, ax = plt.subplots()
    returned = P.colorful_dimension(layer_history("act3"), ax=ax)
    assert returned is fig
    image = ax.images[0]
    assert image.get_array().shape == (8, 6)  # bins x recorded batches
    np.testing.assert_array_equal(image.get_array(), layer_history("act3").counts.T + 1)
    assert labelled(ax) and ax.get_title() == "act3"
    assert image.norm.__class__.__name__ == "LogNorm"
    assert len(fig.axes) == 2  # plus its colorbar


def test_colorful_dimension_of_several_layers():
    fig = P.colorful_dimension({"act1": layer_history("act1"), "act2": layer_history("act2")})
    axes = main_axes(fig)
    assert [ax.get_title() for ax in axes] == ["act1", "act2"]
    assert all(labelled(ax) and len(ax.images) == 1 for ax in axes)
    with pytest.raises(ValueError, match=r"ax: only for one LayerHistory"):
        P.colorful_dimension({"act1": layer_history("act1")}, ax=axes[0])
    with pytest.raises(TypeError, match=r"history: expected a LayerHistory"):
        P.colorful_dimension(np.zeros((3, 3)))


def test_dead_unit_bars_single_and_grouped():
    fig = P.dead_unit_bars({"act1": 0.1, "act2": layer_stats("act2", 0.5, None)})
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([10.0, 50.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["act1", "act2"]
    assert labelled(ax) and ax.get_ylim() == (0, 100)
    fig = P.dead_unit_bars({"relu": {"act1": 0.2, "act2": 0.4},
                            "leaky": {"act1": 0.0, "act2": 0.0}})
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["relu", "leaky"]


# ------------------------------------------------------------------------- gradients


def test_gradient_norm_plot_log_scale_one_line_per_net():
    norms = {"sigmoid": {"fc1": 1e-5, "fc2": 1e-3, "out": 0.1},
             "relu": {"fc1": 0.0, "fc2": 0.2, "out": 0.3}}
    fig = P.gradient_norm_plot(norms)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and labelled(ax)
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1e-5, 1e-3, 0.1])
    assert np.isnan(ax.lines[1].get_ydata()[0])  # 0 cannot sit on a log axis
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["sigmoid", "relu (0 in 1 layer, not drawn)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fc1", "fc2", "out"]
    single = P.gradient_norm_plot({"fc1": 1.0, "out": 2.0})
    assert len(single.axes[0].lines) == 1


def test_update_ratio_plot():
    fig = P.update_ratio_plot({"fc1.weight": np.array([1e-3, 1e-2]),
                               "out.weight": torch.tensor([0.0, 0.0])}, steps=[0, 5])
    ax = fig.axes[0]
    assert labelled(ax)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [-3, -2])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 5])
    assert ax.lines[-1].get_ydata()[0] == -3  # the guide line
    assert "out.weight (never updated)" in [t.get_text() for t in ax.get_legend().get_texts()]


# -------------------------------------------------------------------------- training


def test_loss_curves_train_and_validation():
    fig = P.loss_curves({"relu": history([1.0, 0.5, 0.25], [0.5, 0.8, 0.9]),
                         "tanh": history([1.0, 0.9, 0.8], [0.4, 0.5, 0.6], val=False)})
    ax = fig.axes[0]
    assert labelled(ax) and len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.1, 0.6, 0.35])
    assert ax.lines[1].get_linestyle() == "--"
    per_batch = P.loss_curves(history([1.0, 0.5], [0.5, 0.6]), per_batch=True)
    assert len(per_batch.axes[0].lines[0].get_ydata()) == 6
    assert per_batch.axes[0].get_xlabel() == "batch"


def test_training_curves_two_panels_or_one():
    fig = P.training_curves(history([1.0, 0.5], [0.5, 0.75]), title="run")
    assert len(fig.axes) == 2 and all(labelled(ax) for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [50, 75])
    regression = history([1.0, 0.5], [float("nan")] * 2, val=False)
    assert len(P.training_curves(regression).axes) == 1
    with pytest.raises(TypeError, match=r"histories: expected a History from fit\(\)"):
        P.loss_curves([1.0, 0.5])


# ----------------------------------------------------------------------- predictions


def test_confusion_matrix_counts():
    targets = np.array([0, 0, 1, 2, 2, 2])
    predictions = torch.tensor([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(P.confusion_matrix(targets, predictions), expected)
    assert P.confusion_matrix(targets, predictions, num_classes=5).shape == (5, 5)


@pytest.mark.parametrize(("targets", "predictions", "kwargs", "match"), [
    (np.array([0, 1]), np.array([0]), {}, r"predictions: expected 2 labels like targets, got 1"),
    (np.array([0.0, 1.0]), np.array([0, 1]), {}, r"targets: expected class indices \(ints >= 0\)"),
    (np.array([0, -1]), np.array([0, 1]), {}, r"targets: expected class indices"),
    (np.array([0, 3]), np.array([0, 1]), {"num_classes": 3},
     r"num_classes: 3 is too small for label 3"),
    (np.array([], dtype=int), np.array([], dtype=int), {}, r"targets: expected at least one"),
])
def test_confusion_matrix_bad_input(targets, predictions, kwargs, match):
    with pytest.raises(ValueError, match=match):
        P.confusion_matrix(targets, predictions, **kwargs)


def test_confusion_matrix_plot():
    targets = np.array([0, 1, 1, 2])
    fig = P.confusion_matrix_plot(targets, np.array([0, 1, 2, 2]), normalize=True)
    ax = fig.axes[0]
    assert labelled(ax) and "accuracy 75.0%" in ax.get_title()
    assert len(ax.texts) == 9
    assert [t.get_text() for t in ax.texts][3:6] == ["0", "50", "50"]  # row 1, in %


def test_image_gallery_marks_mistakes():
    images = torch.rand(10, 1, 28, 28)
    truth = torch.arange(10)
    guess = torch.tensor([0, 1, 2, 5, 4, 5, 6, 7, 8, 1])
    fig = P.image_gallery(images, truth, guess, ncols=4, max_images=6)
    axes = fig.axes
    assert len(axes) == 6 and fig._suptitle.get_text() == "Misclassified digits"
    assert axes[3].get_title() == "true 3 / pred 5"
    assert matplotlib.colors.same_color(axes[3].title.get_color(), "red")
    assert matplotlib.colors.same_color(axes[0].title.get_color(), "black")
    assert axes[0].images[0].get_array().shape == (28, 28)
    only_truth = P.image_gallery(np.zeros((3, 28, 28)), [1, 2, 3])
    assert [ax.get_title() for ax in only_truth.axes] == ["1", "2", "3"]


def test_image_gallery_bad_input():
    with pytest.raises(ValueError, match=r"images: expected \(N, 1, H, W\) or \(N, H, W\)"):
        P.image_gallery(np.zeros((2, 3, 28, 28)), [0, 1])
    with pytest.raises(ValueError, match=r"targets: expected one label per image \(2\), got 3"):
        P.image_gallery(np.zeros((2, 28, 28)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"max_images: expected an int >= 1"):
        P.image_gallery(np.zeros((2, 28, 28)), [0, 1], max_images=0)


def test_figures_save(tmp_path):
    fig = P.activation_histograms({"act1": layer_stats("act1", 0.2, 0.1)})
    fig.savefig(tmp_path / "hist.png")
    assert (tmp_path / "hist.png").stat().st_size > 1000
