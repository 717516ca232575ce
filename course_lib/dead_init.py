r"""ReLU networks that are dead at initialisation: the chance that a layer is switched off.

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

from course_lib._validate import non_negative_int, positive_int


def dead_layer_probability(width: int, depth: int) -> float:
    r"""Chance that a zero-bias ReLU network outputs zeros in some hidden layer, for one input.

    .. math::
        P(\text{some layer is all zeros at } x)
            = 1 - \left(1 - 2^{-\text{width}}\right)^{\text{depth}}

    Assumes weights independent, continuous and symmetric around 0, zero biases and
    an input :math:`x \ne 0` (see the module docstring for the derivation). Computed as
    ``-expm1(depth * log1p(-2**-width))``, which keeps full relative precision when
    the probability is tiny (wide layers); the textbook form gives the same number to
    within ``1e-16`` absolute.

    Args:
        width: units per hidden layer, an int >= 1.
        depth: number of hidden layers, an int >= 0 (0 hidden layers: probability 0).

    Returns:
        A Python ``float`` in [0, 1].
    """
    width = positive_int(width, "width")
    depth = non_negative_int(depth, "depth")
    layer_off = 2.0 ** -width  # each of `width` units is off with probability 1/2
    return -math.expm1(depth * math.log1p(-layer_off))
