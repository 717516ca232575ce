"""Activation functions and their derivatives, in NumPy, following PyTorch.

Each function is the NumPy twin of a ``torch.nn.functional`` function and gives
the same values; each ``*_grad`` is the elementwise derivative that PyTorch's
autograd uses, including its choice at kinks (``relu_grad(0) == 0``,
``leaky_relu_grad(0) == negative_slope``, ``elu_grad(0) == alpha``).

This module holds the course's exercises (sigmoid, tanh, the ReLU family, PReLU,
RReLU, ELU) and re-exports the activations of modern networks from
:mod:`course_lib.modern_activations` (ReLU6, SELU, GELU, SiLU, Hardswish,
softmax), so that every activation is ``course_lib.activations.<name>``.
:data:`ACTIVATIONS` maps each name to ``(function, derivative)`` for plots.

All of them are pure: they take a float32 or float64 ``np.ndarray``, return a new
array of the same dtype and never warn or return NaN for finite inputs, even for
``|x| = 1e4``. The trick is to call ``np.exp`` only on arguments ``<= 0`` (so it
can underflow to 0 but never overflow) and ``np.expm1`` for ``exp(x) - 1``.

Constants are Python floats on purpose: under NumPy's promotion rules a Python
float adapts to a float32 array, whereas an ``np.float64`` scalar would silently
turn the result into float64.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from course_lib import _validate
from course_lib._logistic import as_dtype, logistic, logistic_slope, tanh_slope
from course_lib.modern_activations import (
    SELU_ALPHA,
    SELU_SCALE,
    gelu,
    gelu_grad,
    hardswish,
    hardswish_grad,
    relu6,
    relu6_grad,
    selu,
    selu_grad,
    silu,
    silu_grad,
    softmax,
    swish,
    swish_grad,
)

__all__ = [
    "ACTIVATIONS",
    "SELU_ALPHA",
    "SELU_SCALE",
    "elu",
    "elu_grad",
    "gelu",
    "gelu_grad",
    "hardswish",
    "hardswish_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "prelu",
    "prelu_backward",
    "relu",
    "relu6",
    "relu6_grad",
    "relu_grad",
    "rrelu",
    "selu",
    "selu_grad",
    "sigmoid",
    "sigmoid_grad",
    "silu",
    "silu_grad",
    "softmax",
    "swish",
    "swish_grad",
    "tanh",
    "tanh_grad",
]

def _non_negative(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise."""
    number = _validate.real_number(value, name)
    if number < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    return number


# ------------------------------------------------------------------- sigmoid, tanh


def sigmoid(x: np.ndarray) -> np.ndarray:
    r"""Logistic sigmoid, like :func:`torch.sigmoid`.

    .. math::
        \sigma(x) = \frac{1}{1 + e^{-x}}
                  = \begin{cases} \frac{1}{1 + e^{-|x|}} & x \ge 0 \\
                                  \frac{e^{-|x|}}{1 + e^{-|x|}} & x < 0 \end{cases}

    The second form only exponentiates ``-|x| <= 0``, so it never overflows.

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``, values in [0, 1].
    """
    return logistic(_validate.float_array(x, "x"))


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`sigmoid` with respect to its input.

    .. math::
        \sigma'(x) = \sigma(x)\,(1 - \sigma(x)) = \frac{e^{-|x|}}{(1 + e^{-|x|})^2}

    The second form is the same number without the cancellation in ``1 - sigma``.

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``, values in [0, 1/4].
    """
    return logistic_slope(_validate.float_array(x, "x"))


def tanh(x: np.ndarray) -> np.ndarray:
    r"""Hyperbolic tangent, like :func:`torch.tanh`.

    .. math::
        \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``, values in [-1, 1].
    """
    x = _validate.float_array(x, "x")
    return np.tanh(x)


def tanh_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`tanh`.

    .. math::
        \tanh'(x) = 1 - \tanh^2(x) = \frac{4 e^{-2|x|}}{(1 + e^{-2|x|})^2}

    The second form avoids the cancellation in ``1 - tanh**2`` near saturation.

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``, values in [0, 1].
    """
    return tanh_slope(_validate.float_array(x, "x"))


# ---------------------------------------------------------------- the ReLU family


def relu(x: np.ndarray) -> np.ndarray:
    r"""Rectified linear unit, like :func:`torch.nn.functional.relu`.

    .. math::
        \mathrm{ReLU}(x) = \max(0, x)

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x`` (NaN stays NaN, as in PyTorch).
    """
    x = _validate.float_array(x, "x")
    return np.maximum(x, 0.0)


def relu_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`relu`, 0 at ``x == 0`` like PyTorch's autograd.

    .. math::
        \mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array of 0s and 1s shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    return (x > 0).astype(x.dtype)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    r"""Leaky ReLU, like :func:`torch.nn.functional.leaky_relu`.

    .. math::
        \mathrm{LeakyReLU}(x) = \begin{cases} x & x > 0 \\
                                             \text{negative\_slope} \cdot x & x \le 0 \end{cases}

    Args:
        x: any shape, float32 or float64.
        negative_slope: the slope for ``x <= 0``; any real number (as in PyTorch).

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    slope = _validate.real_number(negative_slope, "negative_slope")
    return np.where(x > 0, x, x * slope)


def leaky_relu_grad(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    r"""Derivative of :func:`leaky_relu`; ``negative_slope`` at ``x == 0`` like PyTorch.

    .. math::
        \mathrm{LeakyReLU}'(x) = \begin{cases} 1 & x > 0 \\
                                              \text{negative\_slope} & x \le 0 \end{cases}

    Args:
        x: any shape, float32 or float64.
        negative_slope: the slope for ``x <= 0``.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    slope = _validate.real_number(negative_slope, "negative_slope")
    return as_dtype(np.where(x > 0, 1.0, slope), x)


def _prelu_weight(x: np.ndarray, weight: object) -> np.ndarray:
    """Validate a PReLU weight and reshape it to broadcast along ``x``'s channel axis 1."""
    weight = _validate.float_array(weight, "weight")
    _validate.same_dtype(weight, "weight", x, "x")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ValueError(
            f"weight: expected shape ({channels},) (one slope per channel on axis 1 of x "
            f"with shape {x.shape}) or (1,) (one shared slope), got {weight.shape}"
        )
    if x.ndim < 2:
        return weight.reshape(()) if x.ndim == 0 else weight
    return weight.reshape((1, weight.shape[0]) + (1,) * (x.ndim - 2))


def prelu(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    r"""Parametric ReLU with a learned slope per channel, like :func:`torch.nn.functional.prelu`.

    .. math::
        \mathrm{PReLU}(x)_{n,c,\dots} = \begin{cases} x_{n,c,\dots} & x_{n,c,\dots} > 0 \\
                                          a_c\, x_{n,c,\dots} & x_{n,c,\dots} \le 0 \end{cases}

    Args:
        x: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or any shape with channels on
            axis 1; with fewer than 2 axes there is one channel.
        weight: ``(C,)`` one slope per channel, or ``(1,)`` one shared slope; same
            dtype as ``x``.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    slope = _prelu_weight(x, weight)
    return np.where(x > 0, x, x * slope)


def prelu_backward(
    dout: np.ndarray, x: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`prelu` with respect to its input and its weight.

    .. math::
        dx = \begin{cases} dout & x > 0 \\ a_c\, dout & x \le 0 \end{cases}, \qquad
        da_c = \sum_{n, \dots} [x_{n,c,\dots} \le 0]\, x_{n,c,\dots}\, dout_{n,c,\dots}

    The weight gradient sums over the batch and spatial axes (and over channels
    too when ``weight`` is shared), like PyTorch's autograd.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: ``(N, C, *)`` the input of the forward pass.
        weight: ``(C,)`` or ``(1,)``.

    Returns:
        ``(dx, dweight)``: ``dx`` shaped like ``x``, ``dweight`` shaped like ``weight``.
    """
    x = _validate.float_array(x, "x")
    dout = _validate.float_array(dout, "dout")
    _validate.same_dtype(dout, "dout", x, "x")
    _validate.shape_is(dout, "dout", x.shape, "the shape of x")
    slope = _prelu_weight(x, weight)
    negative = x <= 0
    dx = np.where(negative, dout * slope, dout)
    contribution = np.where(negative, x * dout, 0.0)
    # Summed in float64: a float32 sum over a whole batch loses digits for nothing.
    if weight.shape[0] == 1:
        dweight = contribution.sum(dtype=np.float64).reshape(1)
    else:
        dweight = contribution.sum(axis=(0, *range(2, x.ndim)), dtype=np.float64)
    return dx, as_dtype(dweight, x)


def rrelu(
    x: np.ndarray,
    lower: float = 1.0 / 8.0,
    upper: float = 1.0 / 3.0,
    training: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    r"""Randomized leaky ReLU, like :func:`torch.nn.functional.rrelu`.

    .. math::
        \mathrm{RReLU}(x) = \begin{cases} x & x \ge 0 \\ a\, x & x < 0 \end{cases},
        \qquad a \sim \mathcal{U}(\text{lower}, \text{upper}) \text{ per element (training)},
        \quad a = \frac{\text{lower} + \text{upper}}{2} \text{ (evaluation)}

    Args:
        x: any shape, float32 or float64.
        lower: smallest slope.
        upper: largest slope, ``>= lower``.
        training: sample a slope per element (True) or use the mean slope (False).
        rng: the generator to sample from in training; ``np.random.default_rng()``
            when None. Unused in evaluation.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    low = _validate.real_number(lower, "lower")
    high = _validate.real_number(upper, "upper")
    if low > high:
        raise ValueError(f"lower: expected lower <= upper (= {upper!r}), got {lower!r}")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training: expected True or False, got {_validate.describe(training)}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng: expected a np.random.Generator (np.random.default_rng(seed)) or None, "
            f"got {_validate.describe(rng)}"
        )
    if not training:
        return np.where(x >= 0, x, x * ((low + high) / 2.0))
    rng = np.random.default_rng() if rng is None else rng
    slopes = rng.uniform(low, high, size=x.shape).astype(x.dtype)
    return np.where(x >= 0, x, x * slopes)


# ----------------------------------------------------------- exponential family


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""Exponential linear unit, like :func:`torch.nn.functional.elu`.

    .. math::
        \mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    ``np.expm1`` of ``min(x, 0)`` keeps small ``|x|`` accurate and large ``x``
    from overflowing in the branch that ``np.where`` throws away.

    Args:
        x: any shape, float32 or float64.
        alpha: the negative saturation value, ``>= 0``.

    Returns:
        An array shaped and typed like ``x``, values ``> -alpha``.
    """
    x = _validate.float_array(x, "x")
    alpha = _non_negative(alpha, "alpha")
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""Derivative of :func:`elu`; ``alpha`` at ``x == 0`` like PyTorch's autograd.

    .. math::
        \mathrm{ELU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha\, e^{x} & x \le 0 \end{cases}

    Args:
        x: any shape, float32 or float64.
        alpha: the negative saturation value, ``>= 0``.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    alpha = _non_negative(alpha, "alpha")
    return as_dtype(np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))), x)



# ------------------------------------------------------------------ registry

#: name -> (activation, its elementwise derivative), for plotting and comparing
#: activations. Each function takes one array; parameters have their defaults.
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray],
                             Callable[[np.ndarray], np.ndarray]]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "relu6": (relu6, relu6_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "selu": (selu, selu_grad),
    "gelu": (gelu, gelu_grad),
    "gelu_tanh": (partial(gelu, approximate="tanh"), partial(gelu_grad, approximate="tanh")),
    "silu": (silu, silu_grad),
    "hardswish": (hardswish, hardswish_grad),
}
