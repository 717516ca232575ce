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
=============  ==========================================  =====================

Each has a ``*_backward(dout, x, ...) -> (dx, dgamma, dbeta)``. The functions are
pure: they return new arrays in the input's dtype and never change their
arguments (batch norm returns new running statistics instead of updating them).
Statistics are computed in float64 with the two-pass variance
:math:`\mathrm{E}[(x - \mathrm{E}[x])^2]`, which stays accurate for large
offsets where :math:`\mathrm{E}[x^2] - \mathrm{E}[x]^2` cancels catastrophically.

This module imports no PyTorch; the ``torch.nn`` layers live in
:mod:`course_lib.norm_layers`.
"""

from __future__ import annotations

import numpy as np

from course_lib import _validate as check

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "fold_batch_norm",
    "group_norm",
    "group_norm_backward",
    "instance_norm",
    "instance_norm_backward",
    "layer_norm",
    "layer_norm_backward",
]

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


def _affine_grads(dout: np.ndarray, x_hat: np.ndarray, sum_axes: tuple[int, ...]):
    """``(dgamma, dbeta)`` of :math:`y = \\gamma \\hat x + \\beta`, summed over ``sum_axes``."""
    return (dout * x_hat).sum(axis=sum_axes), dout.sum(axis=sum_axes)


# ---------------------------------------------------------------- argument checks

_CHANNEL_LAYOUTS = "(N, C), (N, C, L) or (N, C, H, W)"


def _input(x: object, allowed_ndim: tuple[int, ...], layout: str) -> np.ndarray:
    x = check.float_array(x, "x")
    check.ndim_in(x, "x", allowed_ndim, layout)
    if x.size == 0:
        raise ValueError(f"x: expected a non-empty array, got shape {x.shape}")
    return x


def _params(x: np.ndarray, shape: tuple[int, ...], why: str, **params: object) -> None:
    """Check that each named parameter is an array of ``shape`` and of ``x``'s dtype."""
    for name, value in params.items():
        value = check.float_array(value, name)
        check.shape_is(value, name, shape, why)
        check.same_dtype(value, name, x, "x")


def _upstream(dout: object, x: np.ndarray) -> np.ndarray:
    dout = check.float_array(dout, "dout")
    check.shape_is(dout, "dout", x.shape, "the shape of x and of the forward output")
    check.same_dtype(dout, "dout", x, "x")
    return dout


def _num_groups(num_groups: object, channels: int) -> int:
    num_groups = check.positive_int(num_groups, "num_groups")
    if channels % num_groups:
        raise ValueError(
            f"num_groups: expected a divisor of the number of channels C = {channels} "
            f"(each group holds C / num_groups channels), got {num_groups}"
        )
    return num_groups


def _spatial_size_above_one(x: np.ndarray) -> None:
    if x.size // (x.shape[0] * x.shape[1]) < 2:
        raise ValueError(
            "x: expected more than 1 spatial element per channel (instance norm of a "
            f"single value is always beta), got shape {x.shape}"
        )


# ---------------------------------------------------------------- batch norm


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
    x = _input(x, (2, 3, 4), _CHANNEL_LAYOUTS)
    channels = x.shape[1]
    _params(x, (channels,), "one value per channel, C = x.shape[1]", gamma=gamma, beta=beta,
            running_mean=running_mean, running_var=running_var)
    if np.any(running_var < 0):
        raise ValueError(
            f"running_var: expected non-negative variances, got minimum {running_var.min()!r}"
        )
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training: expected True or False, got {check.describe(training)}")
    momentum = check.fraction(momentum, "momentum")
    eps = check.positive_number(eps, "eps")

    axes = _non_channel_axes(x.ndim)
    x64 = x.astype(np.float64)
    old_mean = running_mean.astype(np.float64)
    old_var = running_var.astype(np.float64)
    if training:
        count = x.size // channels
        if count < 2:
            raise ValueError(
                f"x: expected more than 1 value per channel when training, got shape {x.shape}"
                " (use a batch of two or more, or training=False)"
            )
        x_hat, _, mean, var = _standardize(x64, axes, eps)
        unbiased_var = var.reshape(channels) * count / (count - 1)
        new_mean = (1.0 - momentum) * old_mean + momentum * mean.reshape(channels)
        new_var = (1.0 - momentum) * old_var + momentum * unbiased_var
    else:
        x_hat = (x64 - _per_channel(old_mean, x.ndim)) / np.sqrt(
            _per_channel(old_var, x.ndim) + eps
        )
        new_mean, new_var = old_mean, old_var
    out = x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out.astype(x.dtype), new_mean.astype(x.dtype), new_var.astype(x.dtype)


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
    x = _input(x, (2, 3, 4), _CHANNEL_LAYOUTS)
    dout = _upstream(dout, x)
    _params(x, (x.shape[1],), "one value per channel, C = x.shape[1]", gamma=gamma)
    eps = check.positive_number(eps, "eps")
    if x.size // x.shape[1] < 2:
        raise ValueError(
            f"x: expected more than 1 value per channel when training, got shape {x.shape}"
        )
    axes = _non_channel_axes(x.ndim)
    x_hat, inv_std, _, _ = _standardize(x.astype(np.float64), axes, eps)
    dout64 = dout.astype(np.float64)
    dx = _standardize_backward(dout64 * _per_channel(gamma, x.ndim), x_hat, inv_std, axes)
    dgamma, dbeta = _affine_grads(dout64, x_hat, axes)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


# ---------------------------------------------------------------- layer norm


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
    x = _input(x, tuple(range(2, 33)), "(N, *) with at least 2 dimensions")
    _params(x, x.shape[1:], "x.shape[1:], one value per feature", gamma=gamma, beta=beta)
    eps = check.positive_number(eps, "eps")
    x_hat, _, _, _ = _standardize(x.astype(np.float64), tuple(range(1, x.ndim)), eps)
    out = x_hat * gamma.astype(np.float64) + beta.astype(np.float64)
    return out.astype(x.dtype)


def layer_norm_backward(
    dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`layer_norm`.

    The batch-norm formula with the roles of the axes swapped: the means run over
    each sample's features (axes 1, ...), while ``dgamma`` and ``dbeta`` sum over
    the batch axis 0 only.

    .. math::
        \frac{\partial L}{\partial x_n} = \frac{1}{\sigma_n}\big(
            \delta_n' - \mathrm{mean}\,\delta_n' - \hat x_n \, \mathrm{mean}(\delta_n' \hat x_n)
        \big), \quad \delta' = \gamma \, \delta

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: (N, \*), the forward input.
        gamma: ``x.shape[1:]``.
        eps: as in the forward pass.

    Returns:
        ``(dx, dgamma, dbeta)`` shaped ``x.shape``, ``x.shape[1:]``, ``x.shape[1:]``.
    """
    x = _input(x, tuple(range(2, 33)), "(N, *) with at least 2 dimensions")
    dout = _upstream(dout, x)
    _params(x, x.shape[1:], "x.shape[1:], one value per feature", gamma=gamma)
    eps = check.positive_number(eps, "eps")
    axes = tuple(range(1, x.ndim))
    x_hat, inv_std, _, _ = _standardize(x.astype(np.float64), axes, eps)
    dout64 = dout.astype(np.float64)
    dx = _standardize_backward(dout64 * gamma.astype(np.float64), x_hat, inv_std, axes)
    dgamma, dbeta = _affine_grads(dout64, x_hat, (0,))
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


# ---------------------------------------------------------------- instance norm

_SPATIAL_LAYOUTS = "(N, C, L) or (N, C, H, W)"


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
    x = _input(x, (3, 4), _SPATIAL_LAYOUTS)
    _spatial_size_above_one(x)
    _params(x, (x.shape[1],), "one value per channel, C = x.shape[1]", gamma=gamma, beta=beta)
    eps = check.positive_number(eps, "eps")
    x_hat, _, _, _ = _standardize(x.astype(np.float64), tuple(range(2, x.ndim)), eps)
    out = x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out.astype(x.dtype)


def instance_norm_backward(
    dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`instance_norm`.

    The means of the standardisation gradient run over the spatial axes of each
    sample and channel; ``dgamma`` and ``dbeta`` sum over the batch and space.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: (N, C, L) or (N, C, H, W), the forward input.
        gamma: (C,).
        eps: as in the forward pass.

    Returns:
        ``(dx, dgamma, dbeta)`` shaped ``x.shape``, ``(C,)``, ``(C,)``.
    """
    x = _input(x, (3, 4), _SPATIAL_LAYOUTS)
    _spatial_size_above_one(x)
    dout = _upstream(dout, x)
    _params(x, (x.shape[1],), "one value per channel, C = x.shape[1]", gamma=gamma)
    eps = check.positive_number(eps, "eps")
    axes = tuple(range(2, x.ndim))
    x_hat, inv_std, _, _ = _standardize(x.astype(np.float64), axes, eps)
    dout64 = dout.astype(np.float64)
    dx = _standardize_backward(dout64 * _per_channel(gamma, x.ndim), x_hat, inv_std, axes)
    dgamma, dbeta = _affine_grads(dout64, x_hat, _non_channel_axes(x.ndim))
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


# ---------------------------------------------------------------- group norm


def _grouped(x: np.ndarray, num_groups: int) -> np.ndarray:
    """``(N, C, *)`` as ``(N, G, C/G * prod(*))``: consecutive channels form a group."""
    return x.reshape(x.shape[0], num_groups, -1)


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
    x = _input(x, tuple(range(2, 33)), "(N, C, *) with at least 2 dimensions")
    num_groups = _num_groups(num_groups, x.shape[1])
    _params(x, (x.shape[1],), "one value per channel, C = x.shape[1]", gamma=gamma, beta=beta)
    eps = check.positive_number(eps, "eps")
    x_hat, _, _, _ = _standardize(_grouped(x.astype(np.float64), num_groups), (2,), eps)
    out = x_hat.reshape(x.shape) * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)
    return out.astype(x.dtype)


def group_norm_backward(
    dout: np.ndarray, x: np.ndarray, num_groups: int, gamma: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`group_norm`.

    The standardisation gradient's means run over each sample's group (its
    channels and space); ``dgamma`` and ``dbeta`` sum over every axis but 1.

    Args:
        dout: upstream gradient, shaped like ``x``.
        x: (N, C, \*), the forward input.
        num_groups: G, a divisor of C.
        gamma: (C,).
        eps: as in the forward pass.

    Returns:
        ``(dx, dgamma, dbeta)`` shaped ``x.shape``, ``(C,)``, ``(C,)``.
    """
    x = _input(x, tuple(range(2, 33)), "(N, C, *) with at least 2 dimensions")
    dout = _upstream(dout, x)
    num_groups = _num_groups(num_groups, x.shape[1])
    _params(x, (x.shape[1],), "one value per channel, C = x.shape[1]", gamma=gamma)
    eps = check.positive_number(eps, "eps")
    x_hat, inv_std, _, _ = _standardize(_grouped(x.astype(np.float64), num_groups), (2,), eps)
    dout64 = dout.astype(np.float64)
    dx_hat = _grouped(dout64 * _per_channel(gamma, x.ndim), num_groups)
    dx = _standardize_backward(dx_hat, x_hat, inv_std, (2,)).reshape(x.shape)
    dgamma, dbeta = _affine_grads(dout64, x_hat.reshape(x.shape), _non_channel_axes(x.ndim))
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


# ---------------------------------------------------------------- folding


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
    weight = check.float_array(weight, "weight")
    check.ndim_in(weight, "weight", (2, 3, 4), "(out, in) or (out, in, kh, kw)")
    out_features = weight.shape[0]
    why = "one value per output channel, weight.shape[0]"
    if bias is not None:
        _params(weight, (out_features,), why, bias=bias)
    _params(weight, (out_features,), why, gamma=gamma, beta=beta, running_mean=running_mean,
            running_var=running_var)
    if np.any(running_var < 0):
        raise ValueError(
            f"running_var: expected non-negative variances, got minimum {running_var.min()!r}"
        )
    eps = check.positive_number(eps, "eps")

    scale = gamma.astype(np.float64) / np.sqrt(running_var.astype(np.float64) + eps)
    old_bias = np.zeros(out_features) if bias is None else bias.astype(np.float64)
    folded_weight = weight.astype(np.float64) * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    folded_bias = (old_bias - running_mean.astype(np.float64)) * scale + beta.astype(np.float64)
    return folded_weight.astype(weight.dtype), folded_bias.astype(weight.dtype)
