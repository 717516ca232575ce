"""What a ReLU network computes, the exercises of notebook 01: linear pieces and XOR.

A network of linear layers and ReLUs is *piecewise linear*: inside each region of input
space every ReLU is either off (outputs 0) or on (passes its input), so the network is
one linear map there. For a one-hidden-layer network of one input the pieces can be
counted exactly from the weights (:func:`count_linear_pieces`); and two ReLUs are enough
to compute XOR (:func:`xor_relu_weights`). The numerical piece counter and the
decision-region plots live in :mod:`course_lib.lab.regions`.
"""

from __future__ import annotations

import numpy as np

from course_lib._validate import checked, float_array, real, real_number


def _weights_per_unit(value: object, name: str, arguments: dict) -> np.ndarray:
    """Rule: a float ``(H,)`` array, one value per hidden unit (like ``w1``), as float64."""
    value = float_array(value, name)
    if name == "w1" and value.ndim != 1:
        raise ValueError(f"w1: expected a 1-D array (H,), one input weight per hidden unit, got "
                         f"shape {value.shape}; for nn.Linear(1, H).weight use weight[:, 0]")
    if name != "w1" and value.shape != arguments["w1"].shape:
        raise ValueError(f"{name}: expected shape {arguments['w1'].shape} (one value per hidden "
                         f"unit, like w1), got {value.shape}")
    return value.astype(np.float64)


def _above_x_min(value: object, name: str, arguments: dict) -> float:
    """Rule: a finite number greater than ``x_min``."""
    value = real_number(value, name)
    if not value > arguments["x_min"]:
        raise ValueError(f"{name}: expected a number greater than x_min = "
                         f"{arguments['x_min']!r}, got {value!r}")
    return value


_SHALLOW_NET = dict(w1=_weights_per_unit, b1=_weights_per_unit, w2=_weights_per_unit,
                    x_min=real, x_max=_above_x_min)


@checked(**_SHALLOW_NET)
def kink_positions(
    w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, x_min: float, x_max: float
) -> np.ndarray:
    r"""Where the slope of a one-hidden-layer ReLU network of one input changes.

    The network is :math:`f(x) = \sum_i w_{2,i}\,\mathrm{relu}(w_{1,i} x + b_{1,i}) + b_2`.
    Unit :math:`i` switches at :math:`t_i = -b_{1,i} / w_{1,i}`, where it changes the slope
    of :math:`f` by

    .. math::
        \Delta_i = w_{2,i}\,|w_{1,i}|.

    A unit with :math:`w_{1,i} = 0` never switches and one with :math:`w_{2,i} = 0` is not
    seen at the output. Units that switch at the same :math:`x` make one kink, whose
    slope change is the sum of theirs; if that sum is 0 there is no kink at all
    (:math:`\mathrm{relu}(x) - \mathrm{relu}(-x) = x` has none).

    Args:
        w1: ``(H,)`` input weights (``nn.Linear(1, H).weight[:, 0]``).
        b1: ``(H,)`` hidden biases.
        w2: ``(H,)`` output weights (``nn.Linear(H, 1).weight[0]``).
        x_min, x_max: the range; only kinks strictly inside it count.

    Returns:
        The sorted kink positions, float64 ``(K,)``.
    """
    seen = (w1 != 0) & (w2 != 0)
    t = -b1[seen] / w1[seen]
    change = w2[seen] * np.abs(w1[seen])
    inside = (t > x_min) & (t < x_max)
    t, change = t[inside], change[inside]
    order = np.argsort(t, kind="stable")
    t, change = t[order], change[order]
    if t.size == 0:
        return t
    # Positions equal up to rounding (e.g. -0.3/3 and -0.1/1) are one kink.
    new_group = np.diff(t) > 1e-12 * np.maximum(1.0, np.abs(t[1:]))
    starts = np.concatenate([[0], np.flatnonzero(new_group) + 1])
    total = np.add.reduceat(change, starts)
    scale = np.add.reduceat(np.abs(change), starts)
    kept = np.abs(total) > 1e-12 * scale  # slope changes that cancel leave no kink
    return t[starts][kept]


@checked(**_SHALLOW_NET)
def count_linear_pieces(
    w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, x_min: float, x_max: float
) -> int:
    r"""Number of linear pieces of a one-hidden-layer ReLU network on ``(x_min, x_max)``.

    .. math::
        \text{pieces} = 1 + \#\{\text{kinks strictly inside } (x_{\min}, x_{\max})\}

    with the kinks of :func:`kink_positions`: one per distinct switching point
    :math:`-b_{1,i}/w_{1,i}` of the units with :math:`w_{1,i} \ne 0` and
    :math:`w_{2,i} \ne 0`, dropping points where the slope changes add up to 0.

    Args:
        w1, b1, w2: ``(H,)`` arrays, as for :func:`kink_positions`.
        x_min, x_max: the range, ``x_min < x_max``.

    Returns:
        A Python ``int`` >= 1.
    """
    return int(kink_positions(w1, b1, w2, x_min, x_max).size) + 1


# ------------------------------------------------------------------- XOR by hand


def xor_relu_weights() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Hand-set weights of a 2-2-1 ReLU network whose output is positive exactly on XOR = 1.

    .. math::
        h_1 = \mathrm{relu}(x_1 + x_2), \quad h_2 = \mathrm{relu}(x_1 + x_2 - 1), \quad
        f = h_1 - 2 h_2 - \tfrac12

    gives :math:`f = -\tfrac12, \tfrac12, \tfrac12, -\tfrac12` on (0,0), (0,1), (1,0), (1,1).

    Returns:
        ``(W1, b1, W2, b2)`` float64 with shapes ``(2, 2)``, ``(2,)``, ``(1, 2)``, ``(1,)``,
        as ``nn.Linear(2, 2)`` and ``nn.Linear(2, 1)`` store them.
    """
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])
    b1 = np.array([0.0, -1.0])
    W2 = np.array([[1.0, -2.0]])
    b2 = np.array([-0.5])
    return W1, b1, W2, b2
