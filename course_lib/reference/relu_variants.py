"""Leaky ReLU, PReLU, RReLU and ELU in NumPy, following PyTorch (notebook 04).

Each function gives the values of its ``torch.nn.functional`` twin; ``prelu_backward``
and ``elu_grad`` give the gradients PyTorch's autograd computes, including its choice
at the kink (``elu_grad(0) == alpha``). Channels are on axis 1, as in PyTorch. All are
pure, keep the input's float dtype and never overflow (``np.expm1``/``np.exp`` only of
numbers ``<= 0``).

``prelu_autograd`` puts :func:`prelu` and :func:`prelu_backward` into a network: a
``torch.autograd.Function`` whose forward and backward are the NumPy functions, so
autograd calls our backward instead of differentiating torch operations. It is the one
function here that takes tensors; PyTorch is imported only when it is first called.
"""

from __future__ import annotations

import functools

import numpy as np

from course_lib._validate import (
    boolean,
    checked,
    float_array,
    floats,
    generator_or_none,
    like,
    non_negative_real,
    real,
)

__all__ = ["elu", "elu_grad", "leaky_relu", "prelu", "prelu_autograd", "prelu_backward",
           "rrelu"]


@checked(x=floats(), negative_slope=real)
def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    r"""Leaky ReLU, like :func:`torch.nn.functional.leaky_relu`.

    .. math::
        \mathrm{LeakyReLU}(x) = \begin{cases} x & x > 0 \\
                                             \text{negative\_slope} \cdot x & x \le 0 \end{cases}

    ``np.where``, not ``np.maximum(x, slope * x)``: the maximum is only right for
    slopes up to 1, and PyTorch allows any slope.

    Args:
        x: any shape, float32 or float64.
        negative_slope: the slope for ``x <= 0``; any real number (as in PyTorch).

    Returns:
        An array shaped and typed like ``x``.
    """
    return np.where(x > 0, x, x * negative_slope)


def _channel_slopes(weight: object, name: str, arguments: dict) -> np.ndarray:
    """Rule: ``(C,)`` slopes for the channels on axis 1 of ``x``, or ``(1,)`` shared."""
    x, weight = arguments["x"], float_array(weight, name)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ValueError(f"{name}: expected shape ({channels},) (one slope per channel on axis 1 "
                         f"of x with shape {x.shape}) or (1,) (one shared slope), got "
                         f"{weight.shape}")
    if weight.dtype != x.dtype:
        raise TypeError(f"{name}: expected dtype {x.dtype} like x, got {weight.dtype}")
    return weight


def _broadcastable(weight: np.ndarray, ndim: int) -> np.ndarray:
    """``(C,)`` slopes shaped ``(1, C, 1, ...)`` for an ``ndim``-D input (as is below 2-D)."""
    if ndim < 2:
        return weight.reshape(()) if ndim == 0 else weight
    return weight.reshape((1, weight.shape[0]) + (1,) * (ndim - 2))


@checked(x=floats(), weight=_channel_slopes)
def prelu(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    r"""Parametric ReLU with a learned slope per channel, like :func:`torch.nn.functional.prelu`.

    .. math::
        \mathrm{PReLU}(x)_{n,c,\dots} = \begin{cases} x_{n,c,\dots} & x_{n,c,\dots} > 0 \\
                                          a_c\, x_{n,c,\dots} & x_{n,c,\dots} \le 0 \end{cases}

    The slopes are learned and unconstrained: PyTorch keeps no bound, so training can
    make a slope negative or larger than 1 (then ``np.maximum(x, a * x)`` is wrong).

    Args:
        x: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or any shape with channels on
            axis 1; with fewer than 2 axes there is one channel.
        weight: ``(C,)`` one slope per channel, or ``(1,)`` one shared slope; x's dtype.

    Returns:
        An array shaped and typed like ``x``.
    """
    return np.where(x > 0, x, x * _broadcastable(weight, x.ndim))


@checked(x=floats(), dout=like("x"), weight=_channel_slopes)
def prelu_backward(dout: np.ndarray, x: np.ndarray,
                   weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`prelu` with respect to its input and its weight.

    .. math::
        dx = \begin{cases} dout & x > 0 \\ a_c\, dout & x \le 0 \end{cases}, \qquad
        da_c = \sum_{n, \dots} [x_{n,c,\dots} \le 0]\, x_{n,c,\dots}\, dout_{n,c,\dots}

    The weight gradient sums over the batch and spatial axes (and over channels too when
    ``weight`` is shared), like PyTorch's autograd.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: ``(N, C, *)`` the input of the forward pass.
        weight: ``(C,)`` or ``(1,)``.

    Returns:
        ``(dx, dweight)``: ``dx`` shaped like ``x``, ``dweight`` shaped like ``weight``.
    """
    negative = x <= 0
    dx = np.where(negative, dout * _broadcastable(weight, x.ndim), dout)
    terms = np.where(negative, x * dout, 0.0)
    # Summed in float64: a float32 sum over a whole batch loses digits for nothing.
    axes = None if weight.shape[0] == 1 else (0, *range(2, x.ndim))
    dweight = terms.sum(axis=axes, dtype=np.float64).reshape(weight.shape)
    return dx, dweight.astype(x.dtype)


@functools.cache
def _prelu_function() -> type:
    """The ``torch.autograd.Function`` of :func:`prelu_autograd` (built on first use, so
    that importing this module does not import PyTorch)."""
    import torch

    class PReLUFunction(torch.autograd.Function):
        """PReLU whose forward is :func:`prelu` and whose backward is :func:`prelu_backward`."""

        @staticmethod
        def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(x, weight)  # backward needs the input, not the output
            return torch.from_numpy(prelu(x.detach().numpy(), weight.detach().numpy()))

        @staticmethod
        def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x, weight = ctx.saved_tensors
            dx, dweight = prelu_backward(grad_output.detach().numpy(), x.detach().numpy(),
                                         weight.detach().numpy())
            return torch.from_numpy(dx), torch.from_numpy(dweight)  # one per input of forward

    return PReLUFunction


def _cpu_float_tensor(value: object, name: str, _arguments: dict) -> object:
    """Rule: a float32/float64 ``torch.Tensor`` on the CPU (its data becomes a NumPy array)."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if value.dtype not in (torch.float32, torch.float64) or value.device.type != "cpu":
        raise TypeError(f"{name}: expected a float32 or float64 tensor on the CPU, got "
                        f"{value.dtype} on {value.device}")
    return value


@checked(x=_cpu_float_tensor, weight=_cpu_float_tensor)
def prelu_autograd(x: object, weight: object) -> object:
    r"""PReLU for PyTorch networks, computed by :func:`prelu` and :func:`prelu_backward`.

    A ``torch.autograd.Function`` (``PReLUFunction``) with

    .. math::
        \text{forward}(x, a) = \mathrm{PReLU}(x), \qquad
        \text{backward}(dout) = (dx, da) = \texttt{prelu\_backward}(dout, x, a),

    applied to ``(x, weight)``: the values and both gradients equal those of
    :func:`torch.nn.functional.prelu`. The forward saves its *input* ``x`` (and the
    weight) for the backward; the backward returns one gradient per input of the forward.

    Args:
        x: ``(N, C, *)`` float tensor on the CPU (fewer than 2 axes: one channel).
        weight: ``(C,)`` or ``(1,)`` tensor of x's dtype, usually an ``nn.Parameter``.

    Returns:
        A tensor shaped and typed like ``x`` whose ``grad_fn`` calls :func:`prelu_backward`.
    """
    return _prelu_function().apply(x, weight)


def _lower_at_most_upper(lower: object, name: str, arguments: dict) -> float:
    lower = real(lower, name, arguments)
    upper = real(arguments["upper"], "upper", arguments)
    if lower > upper:
        raise ValueError(f"lower: expected lower <= upper (= {upper!r}), got {lower!r}")
    return lower


@checked(x=floats(), lower=_lower_at_most_upper, upper=real, training=boolean,
         rng=generator_or_none)
def rrelu(x: np.ndarray, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0,
          training: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
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
    if not training:
        return np.where(x >= 0, x, x * ((lower + upper) / 2.0))
    rng = np.random.default_rng() if rng is None else rng
    slopes = rng.uniform(lower, upper, size=x.shape).astype(x.dtype)
    return np.where(x >= 0, x, x * slopes)


@checked(x=floats(), alpha=non_negative_real)
def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    r"""Exponential linear unit, like :func:`torch.nn.functional.elu`.

    .. math::
        \mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    ``np.expm1`` of ``min(x, 0)`` keeps small ``|x|`` accurate and large ``x`` from
    overflowing in the branch that ``np.where`` throws away.

    Args:
        x: any shape, float32 or float64.
        alpha: the negative saturation value, ``>= 0``.

    Returns:
        An array shaped and typed like ``x``, values ``> -alpha``.
    """
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


@checked(x=floats(), alpha=non_negative_real)
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
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype)
