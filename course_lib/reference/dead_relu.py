r"""Dead ReLUs (notebook 03): units that never fire, and networks born switched off.

A unit is *dead* on a data set when its output is never positive: it passes no gradient,
so it cannot learn its way back. :func:`dead_unit_fraction` measures the share of such
units in a layer.

At initialisation a whole network can be switched off.

Take a ReLU network with ``depth`` hidden layers of ``width`` units each, weights
drawn from any continuous distribution symmetric around 0 (PyTorch's default, Xavier
and He all are) and zero biases. Feed it one fixed input :math:`x \ne 0`.

A unit of the first layer computes :math:`z_j = w_j \cdot x`. Because :math:`w_j` is
symmetric, :math:`z_j` is negative exactly as often as positive, so the unit outputs
0 with probability :math:`\tfrac12`, independently of the other units (they have
their own rows of weights). The whole layer outputs zeros with probability
:math:`2^{-\text{width}}`. The same holds for every later layer, as long as the layer
before it passed on something non-zero. And once a layer outputs zeros, every later
layer does too (zero in, zero bias, zero out): on this input the network is switched
off, its output is the output layer's bias, and no gradient reaches any hidden weight.

So the chance that the network is switched off on a given input is

.. math::
    P = 1 - \left(1 - 2^{-\text{width}}\right)^{\text{depth}},

which goes to 1 as the depth grows at fixed width. Lu et al. (2019, "Dying ReLU and
initialization: theory and numerical examples") prove the stronger statement for all
inputs at once: a deep, narrow ReLU network is *born dead*, its output constant, with
probability tending to 1.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib._validate import checked, count, floats, whole


@checked(acts=floats(ndim=range(2, 33), layout="(N, units) activations, one row per sample "
                     "(or (N, C, H, W) conv maps)", nonempty=True))
def dead_unit_fraction(acts: np.ndarray) -> float:
    r"""Fraction of units that are dead: never positive over the whole data set.

    .. math::
        \text{dead} = \frac{1}{U} \sum_{j=1}^{U} \left[\max_n a_{nj} \le 0\right]

    Reduce over samples first (axis 0), then average over units: a unit that is
    positive for a single sample is alive. Zero is not positive, and neither is NaN.

    Args:
        acts: ``(N, units)`` post-activation values, float32 or float64; ``(N, C, H, W)``
            conv maps are read as ``(N, C*H*W)``: each channel at each position is a unit.

    Returns:
        A Python ``float`` in [0, 1].
    """
    ever_positive = np.any(acts.reshape(acts.shape[0], -1) > 0, axis=0)
    return float(np.mean(~ever_positive))


@checked(width=count, depth=whole)
def dead_layer_probability(width: int, depth: int) -> float:
    r"""Chance that a zero-bias ReLU network outputs zeros in some hidden layer, for one input.

    .. math::
        P(\text{some layer is all zeros at } x)
            = 1 - \left(1 - 2^{-\text{width}}\right)^{\text{depth}}

    Assumes weights independent, continuous and symmetric around 0, zero biases and an
    input :math:`x \ne 0` (see the module docstring for the derivation). Computed as
    ``-expm1(depth * log1p(-2**-width))``, which keeps full relative precision when the
    probability is tiny (wide layers).

    Args:
        width: units per hidden layer, an int >= 1.
        depth: number of hidden layers, an int >= 0 (0 hidden layers: probability 0).

    Returns:
        A Python ``float`` in [0, 1].
    """
    layer_off = 2.0 ** -width  # each of `width` units is off with probability 1/2
    return -math.expm1(depth * math.log1p(-layer_off))
