"""What a ReLU network computes, seen from outside: linear pieces counted numerically,
and decision regions of 2-D classifiers (notebook 01).

:func:`kinks_of_function` finds where any piecewise-linear function of one variable (a
deep network, say) bends, by looking for slope changes on a grid and zooming into
unclear spots, and :func:`count_pieces_of_function` counts its pieces; :func:`decision_grid` and
:func:`plot_decision_regions` colour the plane by predicted class. The exact counter
for one hidden layer is an exercise (:mod:`course_lib.reference.regions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib._validate import describe, float_array, positive_int, real_number

if TYPE_CHECKING:
    from torch import nn

#: The four XOR inputs, one per row, and their labels (1 where exactly one input is 1).
XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([0, 1, 1, 0])

#: Colours of classes 0, 1, 2, ... in :func:`plot_decision_regions`.
CLASS_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")


# --------------------------------------------------------------- 1-D networks


def shallow_relu_parameters(model: nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The weights of ``Linear(1, H) -> ReLU -> Linear(H, 1)`` as 1-D float64 arrays.

    Args:
        model: an ``nn.Sequential`` whose only ``nn.Linear`` layers are a
            ``Linear(1, H)`` and a ``Linear(H, 1)``, with a ReLU between them.

    Returns:
        ``(w1, b1, w2, b2)``: three ``(H,)`` arrays and the output bias as a float.
    """
    from torch import nn

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)] if isinstance(
        model, nn.Module) else []
    if len(linears) != 2 or linears[0].in_features != 1 or linears[1].out_features != 1:
        raise ValueError(f"model: expected Linear(1, H) -> ReLU -> Linear(H, 1), got "
                         f"{describe(model) if not isinstance(model, nn.Module) else model}")
    first, last = linears
    as_numpy = lambda t: t.detach().cpu().double().numpy().copy()  # noqa: E731
    return (as_numpy(first.weight[:, 0]), as_numpy(first.bias), as_numpy(last.weight[0]),
            float(last.bias.detach().cpu()[0]))


def _runs(changed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], changed.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    return starts, np.flatnonzero(edges == -1) - starts


#: Grid points of each zoomed-in look at a spot where kinks are close together.
_ZOOM = 64


def _kinks(fn: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, steps: int,
           tol: float, depth: int) -> list[float]:
    """Positions of the kinks of ``fn`` strictly inside ``(lo, hi)``, zooming into unclear spots.

    Slope ``k`` is the chord on cell ``[x_k, x_{k+1}]``; a run of changes at
    ``k = s .. s+L-1`` spans cells ``s .. s+L``, whose first and last are clean.
    One change is one kink at grid point ``x_{s+1}`` (to within a cell); a longer run is
    looked at again on a finer grid over its cells, until it resolves or the grid gets
    too fine to trust.
    """
    x = np.linspace(lo, hi, steps)
    f = fn(x)
    slopes = np.diff(f) / np.diff(x)
    # Rounding in f makes the slopes noisy by about eps * |f| / dx: finer is not always better.
    rounding = 64 * np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(f))))
    starts, lengths = _runs(np.abs(np.diff(slopes)) > max(tol, rounding / (x[1] - x[0])))
    kinks: list[float] = []
    for start, length in zip(starts, lengths):
        left, right = x[start], x[start + length + 1]
        finer_noise = rounding / ((right - left) / (_ZOOM - 1))
        if length == 1:
            kinks.append(float(x[start + 1]))
        elif depth == 0 or finer_noise > tol:  # best guess: one kink per inner grid point
            kinks += [float(v) for v in x[start + 1:start + length]]
        else:  # at least one kink is in there, since the slope changed
            kinks += _kinks(fn, left, right, _ZOOM, tol, depth - 1) or [(left + right) / 2]
    return kinks


def kinks_of_function(fn: Callable[[np.ndarray], np.ndarray], x_min: float, x_max: float,
                      steps: int = 20_001, rtol: float = 1e-6) -> np.ndarray:
    """Where a piecewise-linear function of one variable bends, found numerically.

    Looks for slope changes on a grid of ``steps`` points and zooms into every spot
    where the grid cannot tell kinks apart (two kinks in one cell or in neighbouring
    cells), so kinks closer than the grid spacing are still found. Each position is
    exact to within the spacing of the grid that found it.

    A slope change smaller than ``rtol`` times the largest slope is not seen, nor are
    two kinks closer than about :math:`10^{-8}` (where float64 rounding makes the slopes
    noisy), nor a narrow bump that fits inside one grid cell and barely moves that
    cell's chord.

    Args:
        fn: maps a float64 ``(M,)`` array of points to ``(M,)`` values.
        x_min, x_max: the range.
        steps: points of the first grid (at least 3).
        rtol: smallest slope change counted, relative to ``max(1, max |slope|)``.

    Returns:
        The sorted positions, float64 ``(K,)``.
    """
    lo, hi = real_number(x_min, "x_min"), real_number(x_max, "x_max")
    if not lo < hi:
        raise ValueError(f"x_max: expected a number greater than x_min = {lo!r}, got {hi!r}")
    steps = positive_int(steps, "steps")
    if steps < 3:
        raise ValueError(f"steps: expected at least 3 grid points, got {steps}")
    x = np.linspace(lo, hi, steps)
    slopes = np.diff(fn(x)) / np.diff(x)
    tol = real_number(rtol, "rtol") * max(1.0, float(np.max(np.abs(slopes))))
    return np.sort(np.array(_kinks(fn, lo, hi, steps, tol, depth=8), dtype=np.float64))


def count_pieces_of_function(fn: Callable[[np.ndarray], np.ndarray], x_min: float,
                             x_max: float, steps: int = 20_001, rtol: float = 1e-6) -> int:
    """Count the linear pieces of a piecewise-linear function of one variable, numerically:
    one more than the kinks :func:`kinks_of_function` finds (same arguments).

    Returns:
        A Python ``int`` >= 1.
    """
    return int(kinks_of_function(fn, x_min, x_max, steps, rtol).size) + 1


def _as_function(model: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A float64 copy of a 1-input, 1-output ``model`` as a function of ``(M,)`` points."""
    import copy

    import torch

    twin = copy.deepcopy(model).double().cpu().eval()

    def fn(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([twin(torch.from_numpy(chunk[:, None])).numpy().reshape(-1)
                                   for chunk in np.array_split(x, max(1, x.size // 50_000))])

    return fn


def kinks_numerically(model: nn.Module, x_min: float, x_max: float,
                      steps: int = 20_001) -> np.ndarray:
    """Where a 1-input, 1-output network bends on ``[x_min, x_max]`` (any depth), found by
    :func:`kinks_of_function` on a float64 copy of ``model``; the model is unchanged."""
    return kinks_of_function(_as_function(model), x_min, x_max, steps)


def count_pieces_numerically(model: nn.Module, x_min: float, x_max: float,
                             steps: int = 20_001) -> int:
    """Count the linear pieces of a 1-input, 1-output network on ``[x_min, x_max]``:
    one more than :func:`kinks_numerically` finds.

    Returns:
        A Python ``int`` >= 1.
    """
    return int(kinks_numerically(model, x_min, x_max, steps).size) + 1


# ---------------------------------------------------------------- 2-D classifiers


def decision_grid(
    predict: Callable[[np.ndarray], np.ndarray] | nn.Module,
    X: np.ndarray,
    steps: int = 200,
    pad: float = 0.25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate a 2-D classifier on a grid covering the data, for a decision-boundary plot.

    Args:
        predict: an ``nn.Module`` mapping ``(M, 2)`` float32 inputs to ``(M, classes)``
            logits (the class is the argmax; one logit means class 1 where it is > 0),
            or a function mapping an ``(M, 2)`` float32 array to ``(M,)`` labels.
        X: ``(N, 2)`` data whose bounding box (widened by ``pad`` of its size) the grid covers.
        steps: grid points along each axis.
        pad: margin around the data as a fraction of its extent.

    Returns:
        ``(xx, yy, labels)``, each ``(steps, steps)``; ``labels`` are int64 class
        indices, ready for ``plt.contourf(xx, yy, labels)``.
    """
    X = float_array(X, "X")
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X: expected (N, 2) points, got shape {X.shape}")
    steps = positive_int(steps, "steps")
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = pad * np.maximum(hi - lo, 1e-3)
    xs = np.linspace(lo[0] - margin[0], hi[0] + margin[0], steps)
    ys = np.linspace(lo[1] - margin[1], hi[1] + margin[1], steps)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    labels = _predict_labels(predict, grid)
    return xx, yy, labels.reshape(xx.shape)


def plot_decision_regions(
    ax: Any,
    predict: Callable[[np.ndarray], np.ndarray] | nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    *,
    title: str | None = None,
    steps: int = 200,
) -> Any:
    """Colour the plane by predicted class and scatter the data on top.

    Args:
        ax: the matplotlib ``Axes`` to draw into.
        predict: a model or labelling function, as for :func:`decision_grid`.
        X: ``(N, 2)`` points; y: ``(N,)`` int class labels.
        title: the panel's title.
        steps: grid points along each axis.

    Returns:
        ``ax``.
    """
    from matplotlib.colors import ListedColormap

    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y: expected shape ({len(X)},), one label per point, got {y.shape}")
    xx, yy, labels = decision_grid(predict, X, steps=steps)
    classes = int(max(labels.max(), y.max())) + 1
    colours = list(CLASS_COLOURS[: max(classes, 2)])
    ax.contourf(xx, yy, labels, levels=np.arange(len(colours) + 1) - 0.5,
                cmap=ListedColormap(colours), alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=[colours[int(k)] for k in y], s=10, edgecolors="none")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _predict_labels(predict: object, points: np.ndarray) -> np.ndarray:
    """Class labels of ``points`` from a module's logits or a labelling function."""
    try:
        from torch import nn
    except ImportError:  # pragma: no cover - torch is a dependency
        nn = None
    if nn is not None and isinstance(predict, nn.Module):
        import torch

        was_training = predict.training
        predict.eval()
        try:
            with torch.no_grad():
                device = next((p.device for p in predict.parameters()), torch.device("cpu"))
                logits = predict(torch.from_numpy(points).to(device)).cpu().numpy()
        finally:
            predict.train(was_training)
        if logits.ndim == 2 and logits.shape[1] > 1:
            return logits.argmax(axis=1).astype(np.int64)
        return (logits.reshape(-1) > 0).astype(np.int64)
    if not callable(predict):
        raise TypeError(f"predict: expected an nn.Module or a function of (M, 2) points, got "
                        f"{describe(predict)}")
    labels = np.asarray(predict(points))
    if labels.shape != (points.shape[0],):
        raise ValueError(f"predict: expected ({points.shape[0]},) labels, one per point, got "
                         f"shape {labels.shape}")
    return labels.astype(np.int64)


# ------------------------------------------------------------------- XOR by hand


def relu_net_forward(
    X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray
) -> np.ndarray:
    r"""Output of ``Linear -> ReLU -> Linear`` on a batch, in NumPy.

    .. math::
        f(x) = W_2\,\mathrm{relu}(W_1 x + b_1) + b_2

    Args:
        X: ``(N, in)`` inputs.
        W1: ``(H, in)``; b1: ``(H,)``; W2: ``(out, H)``; b2: ``(out,)``, as nn.Linear.

    Returns:
        ``(N, out)`` outputs, float64.
    """
    X, W1, b1, W2, b2 = (np.asarray(v, dtype=np.float64) for v in (X, W1, b1, W2, b2))
    hidden = np.maximum(X @ W1.T + b1, 0.0)
    return hidden @ W2.T + b2
