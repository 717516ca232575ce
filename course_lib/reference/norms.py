r"""Batch, layer, instance and group normalization as pure NumPy functions.

All four standardise activations over some axes, then scale and shift them per
feature:

.. math::
    y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

with the *biased* variance (divide by the count, not count - 1). They differ only
in which axes the mean and variance run over; the channel axis is 1, as in PyTorch:

=============  ==========================================  =====================
function       statistics over, for ``x: (N, C, H, W)``    ``gamma``, ``beta``
=============  ==========================================  =====================
batch_norm     ``N, H, W``, one mean per channel            ``(C,)``
layer_norm     ``C, H, W``, one mean per sample             ``x.shape[1:]``
instance_norm  ``H, W``, one per sample and channel         ``(C,)``
group_norm     ``C/G, H, W``, one per sample and group      ``(C,)``
rms_norm       ``C, H, W``, one per sample (no mean)        ``x.shape[1:]``
=============  ==========================================  =====================

RMS norm (Zhang & Sennrich, 2019) divides by the root mean square instead of the standard
deviation: it does not subtract the mean and has no shift.

Batch norm has a backward pass, ``batch_norm_backward(dout, x, gamma) -> (dx, dgamma,
dbeta)``, and the same gradients computed stage by stage through the computational graph,
``batch_norm_backward_graph``. The functions are pure: they return new arrays in the
input's dtype and never change their arguments (batch norm returns new running
statistics instead of updating them).
Statistics are computed in float64 with the two-pass variance
:math:`\mathrm{E}[(x - \mathrm{E}[x])^2]`, which stays accurate for large
offsets where :math:`\mathrm{E}[x^2] - \mathrm{E}[x]^2` cancels catastrophically.

This module imports no PyTorch: ``torch.nn``'s layers are the tests' oracle.
"""

from __future__ import annotations

import numpy as np

from course_lib._validate import (
    boolean,
    checked,
    count,
    floats,
    like,
    per_channel,
    positive,
    unit_interval,
)

__all__ = ["batch_norm", "batch_norm_backward", "batch_norm_backward_graph", "fold_batch_norm",
           "group_norm", "instance_norm", "layer_norm", "rms_norm"]

# ---------------------------------------------------------------- shared maths


def _standardize(x: np.ndarray, axes: tuple[int, ...], eps: float):
    """``(x_hat, inv_std, mean, var)`` of float64 ``x`` over ``axes`` (kept as size 1)."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    # Two-pass variance: subtracting the mean first avoids cancellation at large offsets.
    var = np.mean(centred * centred, axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return centred * inv_std, inv_std, mean, var


def _standardize_backward(
    dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axes: tuple[int, ...]
) -> np.ndarray:
    r"""Gradient through :math:`\hat x = (x - \mu) / \sigma` with :math:`\mu, \sigma` from ``x``.

    .. math::
        \frac{\partial L}{\partial x} = \frac{1}{\sigma}\left(
            \frac{\partial L}{\partial \hat x}
            - \mathrm{mean}\frac{\partial L}{\partial \hat x}
            - \hat x \, \mathrm{mean}\Big(\frac{\partial L}{\partial \hat x} \hat x\Big)\right)
    """
    mean_dx_hat = dx_hat.mean(axis=axes, keepdims=True)
    mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
    return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)


def _non_channel_axes(ndim: int) -> tuple[int, ...]:
    """Every axis but the channel axis 1: ``(0, 2, 3)`` for ``(N, C, H, W)``."""
    return (0, *range(2, ndim))


def _per_channel(values: np.ndarray, ndim: int) -> np.ndarray:
    """``(C,)`` values shaped ``(1, C, 1, ...)`` to broadcast against an ``ndim``-D input."""
    return values.astype(np.float64).reshape((1, -1) + (1,) * (ndim - 2))


# ---------------------------------------------------------------- argument rules

_CHANNELS = floats(ndim=(2, 3, 4), layout="(N, C), (N, C, L) or (N, C, H, W)", nonempty=True)
_ANY_BATCH = floats(ndim=range(2, 33), layout="(N, *) with at least 2 dimensions", nonempty=True)
_FEATURES = like("x", lambda x: x.shape[1:], "x.shape[1:], one value per feature")


def _several_per_channel(x: object, name: str, arguments: dict) -> np.ndarray:
    """Rule for training-mode batch norm: more than one value per channel (as PyTorch)."""
    x = _CHANNELS(x, name, arguments)
    if arguments.get("training", True) and x.size // x.shape[1] < 2:
        raise ValueError(f"x: expected more than 1 value per channel when training, got shape "
                         f"{x.shape} (use a batch of two or more, or training=False)")
    return x


def _spatial(x: object, name: str, arguments: dict) -> np.ndarray:
    """Rule for instance norm: ``(N, C, L)`` or ``(N, C, H, W)`` with more than one position."""
    x = floats(ndim=(3, 4), layout="(N, C, L) or (N, C, H, W)", nonempty=True)(x, name, arguments)
    if x.size // (x.shape[0] * x.shape[1]) < 2:
        raise ValueError("x: expected more than 1 spatial element per channel (instance norm of "
                         f"a single value is always beta), got shape {x.shape}")
    return x


def _divides_channels(num_groups: object, name: str, arguments: dict) -> int:
    num_groups, channels = count(num_groups, name, arguments), arguments["x"].shape[1]
    if channels % num_groups:
        raise ValueError(f"num_groups: expected a divisor of the number of channels C = "
                         f"{channels} (each group holds C / num_groups channels), got {num_groups}")
    return num_groups


# ---------------------------------------------------------------- batch norm


@checked(x=_several_per_channel, gamma=per_channel(), beta=per_channel(),
         running_mean=per_channel(), running_var=per_channel(non_negative_values=True),
         training=boolean, momentum=unit_interval, eps=positive)
def batch_norm(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Batch normalization: standardise each channel over the batch (and space).

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    In training the mean and the *biased* variance are taken over every axis but
    the channel axis 1, and the running statistics move towards the batch's, with
    the *unbiased* batch variance:

    .. math::
        \hat\mu_{new} = (1 - \text{momentum}) \, \hat\mu + \text{momentum} \, \mu_B,
        \qquad
        \hat\sigma^2_{new} = (1 - \text{momentum}) \, \hat\sigma^2
            + \text{momentum} \, \frac{m}{m - 1} \sigma^2_B

    where :math:`m` is the number of values per channel. In evaluation the running
    statistics normalize and come back unchanged (as copies). Follows
    ``torch.nn.BatchNorm1d`` / ``torch.nn.BatchNorm2d`` and ``torch.nn.functional.batch_norm``.

    Args:
        x: (N, C), (N, C, L) or (N, C, H, W), float32 or float64.
        gamma: (C,) scale per channel, the dtype of ``x``.
        beta: (C,) shift per channel.
        running_mean: (C,) running mean; read, never modified.
        running_var: (C,) running variance (non-negative); read, never modified.
        training: use the batch's statistics and update the running ones (``True``),
            or normalize with the running statistics (``False``).
        momentum: weight of the batch statistics in the update, in [0, 1].
        eps: added to the variance before the square root, > 0.

    Returns:
        ``(out, new_running_mean, new_running_var)``: ``out`` shaped like ``x``, the
        running statistics (C,), all new arrays in the dtype of ``x``.

    Raises:
        ValueError: in training with a single value per channel (e.g. ``x`` of shape
            ``(1, C)``), as PyTorch does: its variance is undefined.
    """
    axes = _non_channel_axes(x.ndim)
    old_mean, old_var = running_mean.astype(np.float64), running_var.astype(np.float64)
    if training:
        x_hat, _, mean, var = _standardize(x.astype(np.float64), axes, eps)
        count = x.size // x.shape[1]
        unbiased_var = var.reshape(-1) * count / (count - 1)
        new_mean = (1.0 - momentum) * old_mean + momentum * mean.reshape(-1)
        new_var = (1.0 - momentum) * old_var + momentum * unbiased_var
    else:
        x_hat = (x - _per_channel(old_mean, x.ndim)) / np.sqrt(_per_channel(old_var, x.ndim) + eps)
        new_mean, new_var = old_mean, old_var
    out = x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out.astype(x.dtype), new_mean.astype(x.dtype), new_var.astype(x.dtype)


@checked(x=_several_per_channel, dout=like("x"), gamma=per_channel(), eps=positive)
def batch_norm_backward(
    dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of training-mode :func:`batch_norm` (statistics from the batch).

    With :math:`m` values per channel and :math:`\hat x = (x - \mu_B) / \sigma_B`:

    .. math::
        \frac{\partial L}{\partial x} = \frac{\gamma}{m \, \sigma_B}\Big(
            m \, \delta - \textstyle\sum \delta - \hat x \sum \delta \hat x \Big),
        \quad
        \frac{\partial L}{\partial \gamma} = \textstyle\sum \delta \hat x,
        \quad
        \frac{\partial L}{\partial \beta} = \textstyle\sum \delta

    where :math:`\delta` is ``dout`` and the sums run over every axis but 1, as in
    ``torch.nn.BatchNorm2d``'s autograd.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: (N, C), (N, C, L) or (N, C, H, W), the forward input.
        gamma: (C,) scale per channel.
        eps: as in the forward pass, > 0.

    Returns:
        ``(dx, dgamma, dbeta)`` shaped ``x.shape``, ``(C,)``, ``(C,)``, in the dtype of ``x``.
    """
    axes = _non_channel_axes(x.ndim)
    x_hat, inv_std, _, _ = _standardize(x.astype(np.float64), axes, eps)
    dout64 = dout.astype(np.float64)
    dx = _standardize_backward(dout64 * _per_channel(gamma, x.ndim), x_hat, inv_std, axes)
    dgamma, dbeta = (dout64 * x_hat).sum(axis=axes), dout64.sum(axis=axes)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


@checked(x=_several_per_channel, dout=like("x"), gamma=per_channel(), eps=positive)
def batch_norm_backward_graph(
    dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of training-mode :func:`batch_norm`, stage by stage through its graph.

    The forward pass as a chain of simple stages, per channel, with sums over the
    :math:`m` values of the channel (every axis but 1):

    .. math::
        \mu = \tfrac{1}{m}\textstyle\sum x, \quad x_c = x - \mu, \quad
        v = \tfrac{1}{m}\textstyle\sum x_c^2, \quad s = \sqrt{v + \epsilon}, \quad
        r = 1 / s, \quad \hat x = x_c \, r, \quad y = \gamma \hat x + \beta

    and the backward pass visits them in reverse, each stage turning the gradient of its
    output into the gradients of its inputs (a gradient reaching a node by two paths is
    the sum of both; a value broadcast over the channel gets the sum of its gradients):

    .. math::
        \frac{\partial L}{\partial \hat x} = \gamma \delta, \quad
        \frac{\partial L}{\partial r} = \textstyle\sum \frac{\partial L}{\partial \hat x} x_c,
        \quad
        \frac{\partial L}{\partial s} = -\frac{1}{s^2}\frac{\partial L}{\partial r}, \quad
        \frac{\partial L}{\partial v} = \frac{1}{2s}\frac{\partial L}{\partial s},

    .. math::
        \frac{\partial L}{\partial x_c} = \frac{\partial L}{\partial \hat x} r
            + \frac{2 x_c}{m}\frac{\partial L}{\partial v}, \quad
        \frac{\partial L}{\partial \mu} = -\textstyle\sum \frac{\partial L}{\partial x_c},
        \quad
        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial x_c}
            + \frac{1}{m}\frac{\partial L}{\partial \mu}

    with :math:`\partial L/\partial\gamma = \sum \delta \hat x` and
    :math:`\partial L/\partial\beta = \sum \delta`. The result equals
    :func:`batch_norm_backward`'s simplified formula (to rounding).

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: (N, C), (N, C, L) or (N, C, H, W), the forward input.
        gamma: (C,) scale per channel.
        eps: as in the forward pass, > 0.

    Returns:
        ``(dx, dgamma, dbeta)`` shaped ``x.shape``, ``(C,)``, ``(C,)``, in the dtype of ``x``.
    """
    axes = _non_channel_axes(x.ndim)
    m = x.size // x.shape[1]
    x64, dout64 = x.astype(np.float64), dout.astype(np.float64)
    # forward, keeping every stage's output
    mu = x64.mean(axis=axes, keepdims=True)
    xc = x64 - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    std = np.sqrt(var + eps)
    inv = 1.0 / std
    x_hat = xc * inv
    # backward, stage by stage
    dbeta = dout64.sum(axis=axes)
    dgamma = (dout64 * x_hat).sum(axis=axes)
    dx_hat = dout64 * _per_channel(gamma, x.ndim)
    dinv = (dx_hat * xc).sum(axis=axes, keepdims=True)    # inv was broadcast: sum
    dxc = dx_hat * inv                                    # first path into xc
    dstd = -dinv / std**2
    dvar = dstd / (2.0 * std)
    dxc = dxc + dvar * 2.0 * xc / m                       # second path, through var
    dmu = -dxc.sum(axis=axes, keepdims=True)
    dx = dxc + dmu / m                                    # x reaches xc directly and via mu
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


# ---------------------------------------------------------------- layer, instance, group


@checked(x=_ANY_BATCH, gamma=_FEATURES, beta=_FEATURES, eps=positive)
def layer_norm(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    r"""Layer normalization: standardise each sample over all of its features.

    .. math::
        y_n = \frac{x_n - \mathrm{E}[x_n]}{\sqrt{\mathrm{Var}[x_n] + \epsilon}} \cdot \gamma
            + \beta

    with the mean and biased variance of sample :math:`n` over every axis but 0,
    and an elementwise ``gamma``, ``beta``: ``torch.nn.LayerNorm(x.shape[1:])``,
    i.e. ``torch.nn.functional.layer_norm(x, x.shape[1:], gamma, beta, eps)``.
    No running statistics: training and evaluation are the same.

    Args:
        x: (N, D) or (N, C, H, W) (any (N, \*)), float32 or float64.
        gamma: ``x.shape[1:]`` elementwise scale, the dtype of ``x``.
        beta: ``x.shape[1:]`` elementwise shift.
        eps: added to the variance, > 0.

    Returns:
        A new array shaped like ``x``, in its dtype.
    """
    x_hat, _, _, _ = _standardize(x.astype(np.float64), tuple(range(1, x.ndim)), eps)
    return (x_hat * gamma + beta).astype(x.dtype)


@checked(x=_spatial, gamma=per_channel(), beta=per_channel(), eps=positive)
def instance_norm(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    r"""Instance normalization: standardise each channel of each sample over space.

    .. math::
        y_{nc} = \frac{x_{nc} - \mathrm{E}[x_{nc}]}{\sqrt{\mathrm{Var}[x_{nc}] + \epsilon}}
            \cdot \gamma_c + \beta_c

    with the mean and biased variance over the spatial axes 2, ... only. Follows
    ``torch.nn.InstanceNorm2d(C, affine=True)`` (and ``InstanceNorm1d``) without
    running statistics: training and evaluation are the same.

    Args:
        x: (N, C, L) or (N, C, H, W), float32 or float64, with more than one
            spatial element (PyTorch refuses a single one too).
        gamma: (C,) scale per channel, the dtype of ``x``.
        beta: (C,) shift per channel.
        eps: added to the variance, > 0.

    Returns:
        A new array shaped like ``x``, in its dtype.
    """
    x_hat, _, _, _ = _standardize(x.astype(np.float64), tuple(range(2, x.ndim)), eps)
    return (x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)).astype(x.dtype)


@checked(x=_ANY_BATCH, num_groups=_divides_channels, gamma=per_channel(),
         beta=per_channel(), eps=positive)
def group_norm(
    x: np.ndarray, num_groups: int, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    r"""Group normalization: standardise each group of channels of each sample.

    The C channels split into ``num_groups`` groups of C / G *consecutive* channels;
    each sample's group is standardised over its channels and space, then each
    channel is scaled and shifted:

    .. math::
        y_{nc} = \frac{x_{nc} - \mathrm{E}[x_{ng}]}{\sqrt{\mathrm{Var}[x_{ng}] + \epsilon}}
            \cdot \gamma_c + \beta_c, \qquad g = \lfloor c \, G / C \rfloor

    One group is layer norm with per-channel affine; C groups is instance norm.
    Follows ``torch.nn.GroupNorm(num_groups, C)`` / ``torch.nn.functional.group_norm``.

    Args:
        x: (N, C) or (N, C, \*), float32 or float64.
        num_groups: G, a divisor of C.
        gamma: (C,) scale per channel, the dtype of ``x``.
        beta: (C,) shift per channel.
        eps: added to the variance, > 0.

    Returns:
        A new array shaped like ``x``, in its dtype.
    """
    # Consecutive channels form a group: (N, C, *) viewed as (N, G, C/G * prod(*)).
    grouped = x.astype(np.float64).reshape(x.shape[0], num_groups, -1)
    x_hat, _, _, _ = _standardize(grouped, (2,), eps)
    out = x_hat.reshape(x.shape) * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out.astype(x.dtype)


def _eps_or_default(eps: object, name: str, _arguments: dict) -> float | None:
    """Rule: ``None`` (the input dtype's machine epsilon, as PyTorch) or a number > 0."""
    return None if eps is None else positive(eps, name, _arguments)


@checked(x=_ANY_BATCH, gamma=_FEATURES, eps=_eps_or_default)
def rms_norm(x: np.ndarray, gamma: np.ndarray, eps: float | None = None) -> np.ndarray:
    r"""RMS normalization (Zhang & Sennrich, 2019): divide each sample by its root mean square.

    .. math::
        y_n = \frac{x_n}{\sqrt{\mathrm{E}[x_n^2] + \epsilon}} \cdot \gamma

    with the mean of the squares of sample :math:`n` over every axis but 0 (the axes
    :func:`layer_norm` uses) and an elementwise ``gamma``. Unlike layer norm it subtracts
    no mean and adds no shift: ``torch.nn.RMSNorm(x.shape[1:])``, i.e.
    ``torch.nn.functional.rms_norm(x, x.shape[1:], gamma, eps)``.

    Args:
        x: (N, D) or (N, C, H, W) (any (N, \*)), float32 or float64.
        gamma: ``x.shape[1:]`` elementwise scale, the dtype of ``x``.
        eps: added to the mean square, > 0; ``None`` (the default, as PyTorch) means the
            machine epsilon of ``x``'s dtype, ``np.finfo(x.dtype).eps``.

    Returns:
        A new array shaped like ``x``, in its dtype.
    """
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    x64 = x.astype(np.float64)
    mean_square = np.mean(x64 * x64, axis=tuple(range(1, x.ndim)), keepdims=True)
    return (x64 / np.sqrt(mean_square + eps) * gamma).astype(x.dtype)


# ---------------------------------------------------------------- folding


def _per_output(value: object, name: str, arguments: dict) -> np.ndarray | None:
    """Rule: ``(out,)`` values for ``weight`` of shape ``(out, ...)``; None only for bias."""
    if value is None and name == "bias":
        return None
    rule = like("weight", lambda w: (w.shape[0],), "one value per output channel, "
                "weight.shape[0]")
    value = rule(value, name, arguments)
    if name == "running_var" and np.any(value < 0):
        raise ValueError(f"running_var: expected non-negative variances, got minimum "
                         f"{float(value.min())}")
    return value


@checked(weight=floats(ndim=(2, 3, 4), layout="(out, in) or (out, in, kh, kw)"),
         bias=_per_output, gamma=_per_output, beta=_per_output, running_mean=_per_output,
         running_var=_per_output, eps=positive)
def fold_batch_norm(
    weight: np.ndarray,
    bias: np.ndarray | None,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Fold an evaluation-mode batch norm into the Linear or Conv2d layer before it.

    In evaluation batch norm is a fixed affine map per output channel, so
    ``bn(layer(x))`` equals one layer with

    .. math::
        s = \frac{\gamma}{\sqrt{\hat\sigma^2 + \epsilon}}, \qquad
        W' = s \odot W \ (\text{row } o \text{ scaled by } s_o), \qquad
        b' = s \, (b - \hat\mu) + \beta

    the fusion that ``torch.nn.utils.fusion.fuse_conv_bn_weights`` performs.

    Args:
        weight: (out, in) like ``torch.nn.Linear.weight``, or (out, in, kh, kw) like
            ``torch.nn.Conv2d.weight``; float32 or float64.
        bias: (out,) or ``None`` for a layer without bias (then :math:`b = 0`).
        gamma, beta: (out,) the batch norm's scale and shift.
        running_mean, running_var: (out,) the batch norm's running statistics.
        eps: the batch norm's eps, > 0.

    Returns:
        ``(folded_weight, folded_bias)``, shaped ``weight.shape`` and ``(out,)``, new
        arrays in the dtype of ``weight``.
    """
    scale = gamma.astype(np.float64) / np.sqrt(running_var.astype(np.float64) + eps)
    old_bias = 0.0 if bias is None else bias.astype(np.float64)
    folded_weight = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    folded_bias = (old_bias - running_mean) * scale + beta
    return folded_weight.astype(weight.dtype), folded_bias.astype(weight.dtype)
