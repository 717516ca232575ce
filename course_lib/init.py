"""Weight initialisation scales: Xavier (Glorot), He (Kaiming) and PyTorch's default.

Each function returns a number (a standard deviation or a uniform bound), not a
tensor, so that a notebook can print it, compare it and pass it to
``torch.nn.init.normal_`` / ``uniform_``. The formulas are those of
``torch.nn.init``, which the tests use as the oracle.

Why these numbers: a layer :math:`y = W x` with independent zero-mean weights of
variance :math:`\\sigma^2` multiplies the variance of its input by
:math:`\\text{fan\\_in}\\,\\sigma^2` on the forward pass and the variance of the
gradient by :math:`\\text{fan\\_out}\\,\\sigma^2` on the backward pass. Xavier keeps
both near 1 by taking the harmonic compromise
:math:`\\sigma^2 = 2 / (\\text{fan\\_in} + \\text{fan\\_out})`; He keeps the forward
pass of a ReLU network at 1 with :math:`\\sigma^2 = 2 / \\text{fan\\_in}`.
"""

from __future__ import annotations

import math
import numbers

from course_lib._validate import describe, positive_int, real_number


def _non_negative(value: object, name: str) -> float:
    """``value`` as a float if it is a finite real number >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number >= 0, got {describe(value)}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


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
    fan_in = positive_int(fan_in, "fan_in")
    fan_out = positive_int(fan_out, "fan_out")
    gain = _non_negative(gain, "gain")
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_bound(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""Bound :math:`a` of Xavier (Glorot) uniform initialisation, :math:`U(-a, a)`.

    .. math::
        a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}

    A uniform distribution on :math:`[-a, a]` has standard deviation
    :math:`a / \sqrt{3}`, so this is :func:`xavier_std` times :math:`\sqrt{3}`.

    Args:
        fan_in: number of inputs of the layer.
        fan_out: number of outputs of the layer.
        gain: scale for the activation that follows.

    Returns:
        A float, the bound that ``torch.nn.init.xavier_uniform_`` uses.
    """
    return math.sqrt(3.0) * xavier_std(fan_in, fan_out, gain)


def he_std(fan_in: int, negative_slope: float = 0.0) -> float:
    r"""Standard deviation of He (Kaiming) normal initialisation, ``mode="fan_in"``.

    .. math::
        \text{std} = \sqrt{\frac{2}{(1 + a^2)\,\text{fan\_in}}}

    where :math:`a` is the negative slope of the (leaky) ReLU that follows
    (:math:`a = 0` for ReLU).

    Args:
        fan_in: number of inputs of the layer.
        negative_slope: slope :math:`a` of a leaky ReLU; 0 for ReLU.

    Returns:
        A float, the ``std`` of ``torch.nn.init.kaiming_normal_(w, a=negative_slope,
        nonlinearity="leaky_relu")`` (which for ``a = 0`` equals ``nonlinearity="relu"``).
    """
    fan_in = positive_int(fan_in, "fan_in")
    slope = real_number(negative_slope, "negative_slope")
    return math.sqrt(2.0 / ((1.0 + slope**2) * fan_in))


def torch_default_std(fan_in: int) -> float:
    r"""Standard deviation of ``torch.nn.Linear``'s default weight initialisation.

    ``nn.Linear.reset_parameters`` calls ``kaiming_uniform_(w, a=math.sqrt(5))``,
    which draws from :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`:

    .. math::
        \text{std} = \frac{1}{\sqrt{3\,\text{fan\_in}}}

    Args:
        fan_in: number of inputs of the layer.

    Returns:
        A float; a third of the variance He would choose for the same layer.
    """
    fan_in = positive_int(fan_in, "fan_in")
    return 1.0 / math.sqrt(3.0 * fan_in)
