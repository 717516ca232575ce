"""Sigmoid, tanh and ReLU with their derivatives, in NumPy, following PyTorch (notebooks 02, 03).

Each function gives the values of its ``torch`` twin (``torch.sigmoid``,
``torch.nn.functional.relu``) and each ``*_grad`` the derivative PyTorch's autograd
uses, including its choice at the kink (``relu_grad(0) == 0``). ``relu_backward`` is the
backward pass of a ReLU layer as CS231n writes it: the upstream gradient ``dout`` in,
the gradient with respect to the layer's input out.

All are pure: they take a float32 or float64 ``np.ndarray``, return a new array of the
same dtype and never warn or return NaN for finite inputs, even for ``|x| = 1e4``. The
trick is to call ``np.exp`` only on numbers ``<= 0``, which may underflow to 0 but never
overflow. Constants are Python floats on purpose: NumPy lets a Python float adapt to a
float32 array, where an ``np.float64`` scalar would turn the result into float64.
"""

from __future__ import annotations

import numpy as np

from course_lib._validate import checked, floats, like

__all__ = ["relu", "relu_backward", "relu_grad", "sigmoid", "sigmoid_grad", "tanh_grad"]


def _slope_of_logistic(x: np.ndarray) -> np.ndarray:
    r""":math:`\sigma'(x) = e^{-|x|} / (1 + e^{-|x|})^2`, without cancellation, in x's dtype."""
    z = np.exp(-np.abs(x))
    return (z / ((1.0 + z) * (1.0 + z))).astype(x.dtype, copy=False)


@checked(x=floats())
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
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


@checked(x=floats())
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
    return _slope_of_logistic(x)


@checked(x=floats())
def tanh_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of ``np.tanh``.

    .. math::
        \tanh'(x) = 1 - \tanh^2(x) = 4\,\sigma'(2x) = \frac{4 e^{-2|x|}}{(1 + e^{-2|x|})^2}

    The last form avoids the cancellation in ``1 - tanh**2`` near saturation.

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x``, values in [0, 1].
    """
    return 4.0 * _slope_of_logistic(2.0 * x)


@checked(x=floats())
def relu(x: np.ndarray) -> np.ndarray:
    r"""Rectified linear unit, like :func:`torch.nn.functional.relu`.

    .. math::
        \mathrm{ReLU}(x) = \max(0, x)

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array shaped and typed like ``x`` (NaN stays NaN, as in PyTorch).
    """
    return np.maximum(x, 0.0)


@checked(x=floats())
def relu_grad(x: np.ndarray) -> np.ndarray:
    r"""Derivative of :func:`relu`, 0 at ``x == 0`` like PyTorch's autograd.

    .. math::
        \mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}

    Args:
        x: any shape, float32 or float64.

    Returns:
        An array of 0s and 1s shaped and typed like ``x``.
    """
    return (x > 0).astype(x.dtype)


@checked(x=floats(), dout=like("x"))
def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""Backward pass of :func:`relu`: the upstream gradient times the slope, 0 at ``x == 0``.

    With :math:`y = \mathrm{ReLU}(x)` elementwise and :math:`dout = \partial L / \partial y`,
    the chain rule gives

    .. math::
        dx_i = \frac{\partial L}{\partial x_i} = dout_i \, \mathrm{ReLU}'(x_i)
             = \begin{cases} dout_i & x_i > 0 \\ 0 & x_i \le 0 \end{cases}

    The mask comes from the layer's *input* ``x`` (what the forward pass saw), not from
    ``dout``; at ``x == 0`` the gradient is 0, as PyTorch's ``threshold_backward``.

    Args:
        dout: upstream gradient, shaped and typed like ``x``.
        x: the input of the forward pass, any shape, float32 or float64.

    Returns:
        ``dx``, an array shaped and typed like ``x``.
    """
    return np.where(x > 0, dout, 0.0)
