r"""Xavier (Glorot) initialisation: the scale that keeps signals alive in both directions.

A layer :math:`y = W x` with independent zero-mean weights of variance :math:`\sigma^2`
multiplies the variance of its input by :math:`\text{fan\_in}\,\sigma^2` on the forward
pass and the variance of the gradient by :math:`\text{fan\_out}\,\sigma^2` on the backward
pass. Xavier keeps both near 1 by taking the harmonic compromise
:math:`\sigma^2 = 2 / (\text{fan\_in} + \text{fan\_out})` (Glorot & Bengio, 2010), the
formula of ``torch.nn.init.xavier_normal_``, which the tests use as the oracle.
"""

from __future__ import annotations

import math

from course_lib._validate import checked, count, non_negative_real


@checked(fan_in=count, fan_out=count, gain=non_negative_real)
def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""Standard deviation of Xavier (Glorot) normal initialisation.

    .. math::
        \text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    Args:
        fan_in: number of inputs of the layer (``in_features`` of ``nn.Linear``).
        fan_out: number of outputs of the layer (``out_features``).
        gain: scale for the activation that follows, e.g.
            ``torch.nn.init.calculate_gain("tanh") == 5 / 3``.

    Returns:
        A float, the ``std`` that ``torch.nn.init.xavier_normal_`` uses.
    """
    return gain * math.sqrt(2.0 / (fan_in + fan_out))
