"""When is a tanh or sigmoid unit saturated? One rule for the whole course, in NumPy.

A value on a flat tail of the S passes almost no gradient. :func:`saturated_mask` and
:func:`saturated_fraction` apply the rule to arrays; :mod:`course_lib.lab.diagnostics`
applies the same bounds to tensors inside a network.
"""

from __future__ import annotations

import numpy as np

from course_lib._validate import describe, float_array

#: |tanh(z)| above this, or sigmoid(z) outside [1 - this, this], counts as
#: saturated: the local slope is then below 6 % of its peak for tanh
#: (1 - 0.97**2 = 0.059) and below 12 % for sigmoid (0.97 * 0.03 / 0.25).
SATURATION_THRESHOLD = 0.97

#: Activations whose saturation :func:`saturated_fraction` knows how to measure.
SATURATING = ("tanh", "sigmoid")


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
