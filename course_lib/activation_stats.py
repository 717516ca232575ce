"""Statistics of a layer's activations: dead units, saturation, mean and spread.

NumPy only (no PyTorch), so a NumPy notebook can use it and a student's
``dead_unit_fraction`` can be compared with the reference without a framework.

Layout: ``acts`` holds the post-activation values of one layer over a data set,
one row per sample, ``(N, units)``. A convolutional layer's ``(N, C, H, W)``
maps are accepted and read as ``(N, C*H*W)``: every channel *at every position*
is one unit, because each position has its own pre-activation (a ReLU channel
can be dead in one corner and alive in the middle). To ask about whole
channels instead, reduce first, e.g. ``acts.max(axis=(2, 3))``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from course_lib._validate import describe, float_array

#: |tanh(z)| above this, or sigmoid(z) outside [1 - this, this], counts as
#: saturated: the local slope is then below 6 % of its peak for tanh
#: (1 - 0.97**2 = 0.059) and below 12 % for sigmoid (0.97 * 0.03 / 0.25).
SATURATION_THRESHOLD = 0.97

#: Activations whose saturation :func:`saturated_fraction` knows how to measure.
SATURATING = ("tanh", "sigmoid")


def _as_units(acts: object, name: str = "acts") -> np.ndarray:
    """Validate ``acts`` and view it as ``(N, units)``."""
    acts = float_array(acts, name)
    if acts.ndim < 2:
        raise ValueError(
            f"{name}: expected (N, units) activations, one row per sample "
            f"(or (N, C, H, W) conv maps), got shape {acts.shape} ({acts.ndim}-D); "
            f"for one sample use {name}.reshape(1, -1)"
        )
    if acts.shape[0] == 0 or acts[0].size == 0:
        raise ValueError(f"{name}: expected at least one sample and one unit, got shape "
                         f"{acts.shape}")
    return acts.reshape(acts.shape[0], -1)


def dead_unit_mask(acts: np.ndarray) -> np.ndarray:
    r"""Which units are dead: never positive on any sample.

    .. math::
        \text{dead}_j = \bigwedge_{n=1}^{N} \left(a_{nj} \le 0\right)

    Zero (and ``-0.0``) is not positive, so a ReLU unit whose input is never
    above 0 is dead even though it outputs exactly 0. ``NaN`` is not positive either.

    Args:
        acts: ``(N, units)`` post-activation values over a data set, or
            ``(N, C, H, W)`` conv maps (each channel-position is a unit).

    Returns:
        A bool array of shape ``acts.shape[1:]``, True where the unit is dead.
    """
    units = _as_units(acts)
    return ~np.any(units > 0, axis=0).reshape(acts.shape[1:])


def dead_unit_fraction(acts: np.ndarray) -> float:
    r"""Fraction of units that are dead: never positive over the whole data set.

    .. math::
        \text{dead} = \frac{1}{U} \sum_{j=1}^{U} \left[\max_n a_{nj} \le 0\right]

    Reduce over samples first (axis 0), then average over units: a unit that is
    positive for a single sample is alive.

    Args:
        acts: ``(N, units)`` post-activation values, float32 or float64;
            ``(N, C, H, W)`` conv maps are read as ``(N, C*H*W)``.

    Returns:
        A Python ``float`` in [0, 1].
    """
    return float(np.mean(dead_unit_mask(acts)))


def saturated_mask(acts: np.ndarray, activation: str = "tanh",
                   threshold: float = SATURATION_THRESHOLD) -> np.ndarray:
    r"""Which activation values sit on a flat tail of tanh or sigmoid.

    .. math::
        \text{tanh: } |a| > t \qquad \text{sigmoid: } a < 1 - t \ \text{or}\ a > t

    Args:
        acts: post-activation values of any shape (float32 or float64).
        activation: ``"tanh"`` or ``"sigmoid"``.
        threshold: ``t`` in (0.5, 1); default :data:`SATURATION_THRESHOLD`.

    Returns:
        A bool array shaped like ``acts``.
    """
    acts = float_array(acts, "acts")
    if activation not in SATURATING:
        raise ValueError(
            f"activation: expected one of {', '.join(map(repr, SATURATING))}, got "
            f"{describe(activation)}; ReLU-like activations do not saturate above 0, "
            "measure them with dead_unit_fraction"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
        raise TypeError(f"threshold: expected a number in (0.5, 1), got {describe(threshold)}")
    if not 0.5 < threshold < 1:
        raise ValueError(f"threshold: expected a number in (0.5, 1), got {threshold!r}")
    # Compare in the input's dtype with decimal bounds, so that 0.97 in float32 and 0.03
    # (not 1 - 0.97 = 0.030000000000000027) are exactly on the boundary, not past it.
    low, high = (acts.dtype.type(bound) for bound in saturation_bounds(threshold))
    if activation == "tanh":
        return np.abs(acts) > high
    return (acts < low) | (acts > high)


def saturation_bounds(threshold: float = SATURATION_THRESHOLD) -> tuple[float, float]:
    """``(1 - threshold, threshold)`` with the lower bound rounded to 12 decimals (0.03, not
    0.030000000000000027), for tests that must agree exactly on boundary values."""
    return round(1.0 - threshold, 12), float(threshold)


def saturated_fraction(acts: np.ndarray, activation: str = "tanh",
                       threshold: float = SATURATION_THRESHOLD) -> float:
    """Fraction of activation values (all samples, all units) that are saturated.

    See :func:`saturated_mask` for the rule. Unlike dead units this counts
    values, not units: a unit saturated on half the samples contributes half.

    Args:
        acts: post-activation values of any shape, float32 or float64.
        activation: ``"tanh"`` or ``"sigmoid"``.
        threshold: see :func:`saturated_mask`.

    Returns:
        A Python ``float`` in [0, 1].
    """
    mask = saturated_mask(acts, activation, threshold)
    if mask.size == 0:
        raise ValueError("acts: expected at least one value, got an empty array")
    return float(np.mean(mask))


@dataclass(frozen=True)
class ActivationSummary:
    """One layer's activations in a few numbers (fractions in [0, 1])."""

    samples: int
    units: int
    mean: float
    std: float
    min: float
    max: float
    zero_fraction: float
    dead_fraction: float
    saturated_fraction: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def summarize(acts: np.ndarray, activation: str | None = None) -> ActivationSummary:
    """Mean, spread, range, share of exact zeros, dead units and saturation.

    Args:
        acts: ``(N, units)`` or ``(N, C, H, W)`` post-activation values.
        activation: ``"tanh"`` or ``"sigmoid"`` to measure saturation; any
            other value (or ``None``) leaves ``saturated_fraction`` as ``None``.

    Returns:
        An :class:`ActivationSummary`; statistics are computed in float64.
    """
    saturated = saturated_fraction(acts, activation) if activation in SATURATING else None
    units = _as_units(acts).astype(np.float64)
    return ActivationSummary(
        samples=int(units.shape[0]),
        units=int(units.shape[1]),
        mean=float(units.mean()),
        std=float(units.std()),
        min=float(units.min()),
        max=float(units.max()),
        zero_fraction=float(np.mean(units == 0)),
        dead_fraction=dead_unit_fraction(units),
        saturated_fraction=saturated,
    )
