"""Activations of modern networks, in NumPy, following PyTorch.

ReLU6 (MobileNet), SELU (self-normalizing networks), GELU (Transformers),
SiLU/swish and Hardswish (EfficientNet, MobileNetV3), and softmax, each with the
derivative PyTorch's autograd uses. Same rules as :mod:`course_lib.activations`,
which re-exports everything here: float32 stays float32, no warning or NaN for
``|x|`` up to ``1e4``, new arrays, Python-float constants.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib import _validate
from course_lib._logistic import as_dtype, logistic, logistic_slope, tanh_slope

__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "gelu",
    "gelu_grad",
    "hardswish",
    "hardswish_grad",
    "relu6",
    "relu6_grad",
    "selu",
    "selu_grad",
    "silu",
    "silu_grad",
    "softmax",
    "swish",
    "swish_grad",
]

#: SELU's constants, as in torch.nn.SELU (Klambauer et al., 2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_TANH_COEF = 0.044715
_ERFC = np.frompyfunc(math.erfc, 1, 1)  # NumPy has no erf; math.erfc is exact to an ulp


def relu6(x: np.ndarray) -> np.ndarray:
    r"""ReLU capped at 6, like :func:`torch.nn.functional.relu6`.

    .. math::
        \mathrm{ReLU6}(x) = \min(\max(0, x), 6)

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    return np.minimum(np.maximum(x, 0.0), 6.0)


def relu6_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`relu6`: 1 on the open interval (0, 6), else 0 (as PyTorch).

    .. math::
        \mathrm{ReLU6}'(x) = \begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise} \end{cases}

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array of 0s and 1s shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    return ((x > 0) & (x < 6)).astype(x.dtype)


def selu(x: np.ndarray) -> np.ndarray:
    r"""Scaled ELU, like :func:`torch.nn.functional.selu`.

    .. math::
        \mathrm{SELU}(x) = \lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0
        \end{cases}, \quad \alpha \approx 1.6733,\ \lambda \approx 1.0507

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def selu_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`selu`; :math:`\lambda\alpha` at ``x == 0`` like PyTorch.

    .. math::
        \mathrm{SELU}'(x) = \lambda \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    negative = SELU_ALPHA * np.exp(np.minimum(x, 0.0))
    return as_dtype(SELU_SCALE * np.where(x > 0, 1.0, negative), x)


# ------------------------------------------------------------ smooth gates


def _approximation(approximate: object) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(
            f"approximate: expected 'none' or 'tanh', got {_validate.describe(approximate)}"
        )
    return str(approximate)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    r"""Standard normal CDF :math:`\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2)` in float64.

    ``erfc`` rather than ``1 + erf`` keeps the far left tail accurate.
    """
    return 0.5 * np.asarray(_ERFC(-_INV_SQRT_2 * x.astype(np.float64)), dtype=np.float64)


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    return _SQRT_2_OVER_PI * (x + _GELU_TANH_COEF * x * x * x)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    r"""Gaussian error linear unit, like :func:`torch.nn.functional.gelu`.

    .. math::
        \mathrm{GELU}(x) = x\,\Phi(x), \qquad
        \mathrm{GELU}_{\tanh}(x) = \tfrac12 x \left(1 + \tanh\!\left(\sqrt{2/\pi}
        \,(x + 0.044715\,x^3)\right)\right)

    Args:
        x: any shape, float32 or float64.
        approximate: ``"none"`` (exact, with the normal CDF) or ``"tanh"``.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    if _approximation(approximate) == "tanh":
        wide = x.astype(np.float64)  # x**3 overflows float32 beyond |x| ~ 7e12
        return as_dtype(0.5 * wide * (1.0 + np.tanh(_gelu_tanh_inner(wide))), x)
    return as_dtype(x * _normal_cdf(x), x)


def gelu_grad(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    r"""Derivative of :func:`gelu`.

    .. math::
        \mathrm{GELU}'(x) = \Phi(x) + x\,\varphi(x), \quad
        \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}

    For ``approximate="tanh"``, with :math:`u = \sqrt{2/\pi}(x + 0.044715x^3)`,
    :math:`\tfrac12(1 + \tanh u) + \tfrac12 x (1 - \tanh^2 u)\sqrt{2/\pi}(1 + 3 \cdot 0.044715x^2)`.

    Args:
        x: any shape, float32 or float64.
        approximate: ``"none"`` or ``"tanh"``.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    wide = x.astype(np.float64)
    if _approximation(approximate) == "tanh":
        t = np.tanh(_gelu_tanh_inner(wide))
        inner_grad = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_COEF * wide * wide)
        # sech^2 written as 4e^{-2|u|}/(1+e^{-2|u|})^2 is 0, not 0 * inf, far out.
        sech2 = tanh_slope(_gelu_tanh_inner(wide))
        return as_dtype(0.5 * (1.0 + t) + 0.5 * wide * sech2 * inner_grad, x)
    density = _INV_SQRT_2PI * np.exp(-0.5 * wide * wide)
    return as_dtype(_normal_cdf(wide) + wide * density, x)


def silu(x: np.ndarray) -> np.ndarray:
    r"""Sigmoid linear unit (swish), like :func:`torch.nn.functional.silu`.

    .. math::
        \mathrm{SiLU}(x) = x\,\sigma(x)

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    return x * logistic(x)


def silu_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`silu`.

    .. math::
        \mathrm{SiLU}'(x) = \sigma(x) + x\,\sigma(x)(1 - \sigma(x))

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    return logistic(x) + x * logistic_slope(x)


swish = silu
swish_grad = silu_grad


def hardswish(x: np.ndarray) -> np.ndarray:
    r"""Hard swish, like :func:`torch.nn.functional.hardswish`.

    .. math::
        \mathrm{Hardswish}(x) = x\,\frac{\mathrm{ReLU6}(x + 3)}{6}

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    return x * np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0


def hardswish_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`hardswish`, with PyTorch's values at the kinks.

    .. math::
        \mathrm{Hardswish}'(x) = \begin{cases} 0 & x \le -3 \\ \frac{x}{3} + \frac12 & -3 < x < 3
        \\ 1 & x \ge 3 \end{cases}

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    middle = np.where(x < 3, x / 3.0 + 0.5, 1.0)
    return as_dtype(np.where(x <= -3, 0.0, middle), x)


# ------------------------------------------------------------------ softmax


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Softmax along one axis, like :func:`torch.softmax` with ``dim=axis``.

    .. math::
        \mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad m = \max_j x_j

    Subtracting the maximum changes nothing mathematically and makes every
    exponent ``<= 0``, so nothing overflows.

    Args:
        x: any shape with at least one axis, float32 or float64.
        axis: the axis whose entries sum to 1.

    Returns:
        An array shaped and typed like ``x``.
    """
    x = _validate.float_array(x, "x")
    _validate.ndim_in(x, "x", tuple(range(1, 33)), "an array with at least one axis")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis: expected an int, got {_validate.describe(axis)}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"axis: expected an int in [{-x.ndim}, {x.ndim - 1}] for x of shape {x.shape}, "
            f"got {axis}"
        )
    if x.size == 0:
        return x.copy()
    exp = np.exp(x - x.max(axis=axis, keepdims=True))
    return exp / exp.sum(axis=axis, keepdims=True)
