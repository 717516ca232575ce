"""Small seeded data sets for the first notebooks: XOR, two moons, spirals, a noisy sine.

Each classifier data set returns ``(X, y)`` with ``X`` of shape ``(n, 2)``,
``float32``, and ``y`` of shape ``(n,)``, ``int64``, in a shuffled order. The
classes are balanced: their sizes differ by at most one. The same ``seed``
gives the same data, on any machine (``np.random.default_rng``).
"""

from __future__ import annotations

import numpy as np

from course_lib import _validate

__all__ = ["class_sizes", "sine_1d", "spiral", "two_moons", "xor"]


def _noise(value: object) -> float:
    noise = _validate.real_number(value, "noise")
    if noise < 0:
        raise ValueError(f"noise: expected a number >= 0, got {value!r}")
    return noise


def class_sizes(n: int, n_classes: int) -> np.ndarray:
    """Sizes of ``n_classes`` balanced classes summing to ``n`` (the first ones get the extra)."""
    sizes = np.full(n_classes, n // n_classes, dtype=np.int64)
    sizes[: n % n_classes] += 1
    return sizes


def _check(
    n: object, n_classes: int, noise: object, seed: object
) -> tuple[int, float, np.random.Generator]:
    n = _validate.positive_int(n, "n")
    if n < n_classes:
        raise ValueError(f"n: expected at least {n_classes} (one point per class), got {n}")
    rng = np.random.default_rng(_validate.non_negative_int(seed, "seed"))
    return n, _noise(noise), rng


def _shuffled(points: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(labels))
    return points[order].astype(np.float32), labels[order].astype(np.int64)


def xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""The XOR problem: four quadrants, opposite quadrants share a class.

    Points are uniform in the unit square of each quadrant, plus Gaussian noise:

    .. math::
        x = (s_1 u_1, s_2 u_2) + \text{noise} \cdot \varepsilon, \quad
        u \sim U[0, 1]^2,\ s \in \{\pm 1\}^2,\ y = [s_1 \ne s_2]

    No line separates the classes; the product :math:`x_1 x_2` does.

    Args:
        n: number of points (at least 2).
        noise: standard deviation of the Gaussian noise added to each coordinate.
        seed: seed of the random generator.

    Returns:
        ``X: (n, 2)`` float32 and ``y: (n,)`` int64 in {0, 1}; the four
        quadrants, and so the two classes, are balanced.
    """
    n, noise, rng = _check(n, 2, noise, seed)
    # quadrants alternate classes, so the extra points of n % 4 spread over both classes
    quadrant = np.repeat(np.arange(4), class_sizes(n, 4))
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)[quadrant]
    points = signs * rng.uniform(0.0, 1.0, size=(n, 2)) + noise * rng.standard_normal((n, 2))
    return _shuffled(points, quadrant % 2, rng)


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Two interleaved half circles, as ``sklearn.datasets.make_moons``.

    .. math::
        \text{class 0: } (\cos t, \sin t), \qquad
        \text{class 1: } (1 - \cos t, \tfrac12 - \sin t), \qquad t \in [0, \pi]

    with ``t`` evenly spaced and Gaussian noise of standard deviation ``noise``.

    Args:
        n: number of points (at least 2).
        noise: standard deviation of the Gaussian noise added to each coordinate.
        seed: seed of the random generator.

    Returns:
        ``X: (n, 2)`` float32 and ``y: (n,)`` int64 in {0, 1}.
    """
    n, noise, rng = _check(n, 2, noise, seed)
    outer, inner = class_sizes(n, 2)
    t_outer, t_inner = np.linspace(0, np.pi, outer), np.linspace(0, np.pi, inner)
    points = np.concatenate([
        np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1),
        np.stack([1 - np.cos(t_inner), 0.5 - np.sin(t_inner)], axis=1),
    ])
    points += noise * rng.standard_normal(points.shape)
    labels = np.repeat([0, 1], [outer, inner])
    return _shuffled(points, labels, rng)


def spiral(
    n: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Interleaved spiral arms, one per class, as in CS231n's "spiral data".

    Class :math:`k` has radii :math:`r` evenly spaced in [0, 1] and angles

    .. math::
        \theta = 4k + 4r + \text{noise} \cdot \varepsilon, \qquad
        x = (r \sin\theta, r \cos\theta)

    so the noise perturbs the angle, as in CS231n.

    Args:
        n: total number of points (at least ``n_classes``).
        n_classes: number of arms (at least 2).
        noise: standard deviation of the Gaussian noise on the angle, in radians.
        seed: seed of the random generator.

    Returns:
        ``X: (n, 2)`` float32 and ``y: (n,)`` int64 in ``range(n_classes)``.
    """
    n_classes = _validate.positive_int(n_classes, "n_classes")
    if n_classes < 2:
        raise ValueError(f"n_classes: expected at least 2, got {n_classes}")
    n, noise, rng = _check(n, n_classes, noise, seed)
    points, labels = [], []
    for k, size in enumerate(class_sizes(n, n_classes)):
        radius = np.linspace(0.0, 1.0, size)
        angle = 4.0 * k + 4.0 * radius + noise * rng.standard_normal(size)
        points.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        labels.append(np.full(size, k))
    return _shuffled(np.concatenate(points), np.concatenate(labels), rng)


def sine_1d(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""A noisy sine on :math:`[-\pi, \pi]`, for fitting a piecewise-linear function.

    .. math::
        y = \sin x + \text{noise} \cdot \varepsilon, \qquad x \sim U[-\pi, \pi]

    Args:
        n: number of points (at least 1).
        noise: standard deviation of the Gaussian noise on ``y``.
        seed: seed of the random generator.

    Returns:
        ``x: (n, 1)`` float32, sorted increasingly (ready for ``nn.Linear(1, ...)``
        and for plotting), and ``y: (n,)`` float32.
    """
    n, noise, rng = _check(n, 1, noise, seed)
    x = np.sort(rng.uniform(-np.pi, np.pi, size=n))
    y = np.sin(x) + noise * rng.standard_normal(n)
    return x[:, None].astype(np.float32), y.astype(np.float32)
