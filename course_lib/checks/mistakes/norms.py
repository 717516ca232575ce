"""Classic wrong normalizations, so that a failed check can name the mistake.

Each function has the signature of the exercise it imitates and makes exactly
one mistake; :mod:`course_lib.checks.norms` wraps them in
:class:`~course_lib.checks.core.Mistake` with a hint. They are written the way a
student would write them (plain NumPy, no argument checks) and are only ever run
by the checker on the case that just failed.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from course_lib.checks.core import Mistake

# ---------------------------------------------------------------- helpers


def _channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _standardize(x, axes, eps, ddof=0, eps_outside=False):
    """``(x_hat, mean, var)`` over ``axes`` with a chosen variance divisor and eps placement."""
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).sum(axis=axes, keepdims=True) / (
        np.prod([x.shape[a] for a in axes]) - ddof
    )
    std = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    return (x - mean) / std, mean, var


def _all_but_channel(ndim: int) -> tuple[int, ...]:
    return (0, *range(2, ndim))


# ---------------------------------------------------------------- batch norm


def _batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
                eps=1e-5, *, ddof=0, update_ddof=1, swap_momentum=False, eval_batch=False,
                ignore_training=False, count_batch_only=False, eps_outside=False):
    axes, channels = _all_but_channel(x.ndim), x.shape[1]
    if training or ignore_training or eval_batch:
        x_hat, mean, _ = _standardize(x, axes, eps, ddof, eps_outside)
        var = ((x - mean) ** 2).mean(axis=axes)  # the update's, whatever normalized x
        count = x.shape[0] if count_batch_only else x.size // channels
        unbiased = var * count / (count - 1) if update_ddof else var
        keep, take = (momentum, 1 - momentum) if swap_momentum else (1 - momentum, momentum)
        new_mean = keep * running_mean + take * mean.reshape(channels)
        new_var = keep * running_var + take * unbiased.reshape(channels)
        if eval_batch and not training:
            new_mean, new_var = running_mean.copy(), running_var.copy()
    else:
        x_hat = (x - _channel(running_mean, x.ndim)) / np.sqrt(_channel(running_var, x.ndim) + eps)
        new_mean, new_var = running_mean.copy(), running_var.copy()
    out = x_hat * _channel(gamma, x.ndim) + _channel(beta, x.ndim)
    return out.astype(x.dtype), new_mean.astype(x.dtype), new_var.astype(x.dtype)


BATCH_NORM_MISTAKES = (
    Mistake(
        "the batch is normalized with the unbiased variance (dividing by m - 1)",
        partial(_batch_norm, ddof=1),
        "normalize with the biased variance np.mean((x - mean) ** 2) (np.var's default); "
        "the unbiased m / (m - 1) correction is only for the running variance",
    ),
    Mistake(
        "the running statistics use the 0.9-momentum convention: "
        "new = momentum * old + (1 - momentum) * batch (weights swapped)",
        partial(_batch_norm, swap_momentum=True),
        "PyTorch's momentum is the weight of the *batch*: "
        "new = (1 - momentum) * old + momentum * batch_stat",
    ),
    Mistake(
        "the running variance is updated with the biased batch variance",
        partial(_batch_norm, update_ddof=0),
        "update running_var with the unbiased variance, var * m / (m - 1), where m is the "
        "number of values per channel (N, or N * H * W for 4-D input)",
    ),
    Mistake(
        "the unbiased correction counts only the batch: N / (N - 1) instead of m / (m - 1) "
        "with m = N * H * W",
        partial(_batch_norm, count_batch_only=True),
        "each channel's variance is taken over m = N * H * W values (x.size // C); use "
        "m / (m - 1) for the running variance",
    ),
    Mistake(
        "evaluation mode normalizes with the batch's statistics instead of the running ones",
        partial(_batch_norm, eval_batch=True),
        "with training=False use running_mean and running_var to normalize, and return "
        "them unchanged (as copies)",
    ),
    Mistake(
        "training=False is ignored: evaluation behaves like training",
        partial(_batch_norm, ignore_training=True),
        "with training=False normalize with running_mean and running_var and return them "
        "unchanged (as copies); update nothing",
    ),
    Mistake(
        "eps is added to the standard deviation instead of the variance",
        partial(_batch_norm, eps_outside=True),
        "divide by np.sqrt(var + eps), not np.sqrt(var) + eps",
    ),
)


def _batch_norm_backward(dout, x, gamma, eps=1e-5, *, scale=1.0, count_batch_only=False,
                         terms="all", dgamma_from_x=False):
    axes = _all_but_channel(x.ndim)
    x_hat, _, var = _standardize(x, axes, eps)
    inv_std = 1 / np.sqrt(var + eps)
    dx_hat = dout * _channel(gamma, x.ndim)
    m = x.shape[0] if count_batch_only else x.size // x.shape[1]
    if terms == "none":  # mean and variance treated as constants
        dx = dx_hat * inv_std
    elif terms == "mean":  # the variance's dependence on x forgotten
        dx = inv_std * (dx_hat - dx_hat.sum(axis=axes, keepdims=True) / m)
    else:
        dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
                            - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True))
    dgamma = (dout * (x if dgamma_from_x else x_hat)).sum(axis=axes)
    return (scale * dx).astype(x.dtype), dgamma.astype(x.dtype), dout.sum(axis=axes).astype(x.dtype)


def _params_summed_over_batch_only(dout, x, gamma, eps=1e-5):
    dx, _, _ = _batch_norm_backward(dout, x, gamma, eps)
    x_hat, _, _ = _standardize(x, _all_but_channel(x.ndim), eps)
    return dx, (dout * x_hat).sum(axis=0).astype(x.dtype), dout.sum(axis=0).astype(x.dtype)


def _m_times_too_large(dout, x, gamma, eps=1e-5):
    return _batch_norm_backward(dout, x, gamma, eps, scale=x.size // x.shape[1])


BATCH_NORM_BACKWARD_MISTAKES = (
    Mistake(
        "dx is off by a factor of m = N (* H * W): the 1 / m in front of the bracket is missing",
        _m_times_too_large,
        "dx = gamma / (m * std) * (m * dout - sum(dout) - x_hat * sum(dout * x_hat)); "
        "the means over the batch carry a 1 / m",
    ),
    Mistake(
        "dx divides by N instead of m = N * H * W for 4-D input",
        partial(_batch_norm_backward, count_batch_only=True),
        "m is the number of values per channel, x.size // C, not the batch size",
    ),
    Mistake(
        "dx misses the mean-of-dx_hat terms: the batch mean and variance are treated as "
        "constants (dx = gamma * dout / std)",
        partial(_batch_norm_backward, terms="none"),
        "the mean and the variance depend on x too: "
        "dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / std",
    ),
    Mistake(
        "dx misses the variance term (- x_hat * mean(dx_hat * x_hat))",
        partial(_batch_norm_backward, terms="mean"),
        "the variance depends on x: subtract x_hat * mean(dx_hat * x_hat) as well",
    ),
    Mistake(
        "dgamma and dbeta are summed over the batch axis only, not over H and W too",
        _params_summed_over_batch_only,
        "dgamma and dbeta have one value per channel: sum over axis=(0, 2, 3) for "
        "(N, C, H, W) input, every axis but 1",
    ),
    Mistake(
        "dgamma uses x instead of the normalized x_hat",
        partial(_batch_norm_backward, dgamma_from_x=True),
        "out = gamma * x_hat + beta, so dgamma = sum(dout * x_hat) over every axis but 1",
    ),
)


def _batch_norm_backward_graph(dout, x, gamma, eps=1e-5, *, mean_path="1/m", inv_summed=True,
                               var_path="add", var_factor=2.0, var_over_m=True,
                               half=True, inv_sign=-1.0, mu_sign=-1.0, ddof=0):
    """The staged backward of batch norm with one stage gone wrong (see the flags)."""
    axes = _all_but_channel(x.ndim)
    m = x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).sum(axis=axes, keepdims=True) / (m - ddof)
    std = np.sqrt(var + eps)
    inv = 1 / std
    x_hat = xc * inv
    dx_hat = dout * _channel(gamma, x.ndim)
    dinv = (dx_hat * xc).sum(axis=axes, keepdims=True) if inv_summed else dx_hat * xc
    dstd = inv_sign * dinv / std**2
    dvar = dstd / (2 * std) if half else dstd / std
    through_var = dvar * var_factor * xc / (m if var_over_m else 1)
    if var_path == "add":
        dxc = dx_hat * inv + through_var
    elif var_path == "overwrite":
        dxc = through_var
    else:  # "none": the variance treated as a constant
        dxc = dx_hat * inv
    dmu = mu_sign * dxc.sum(axis=axes, keepdims=True)
    if mean_path == "1/m":
        dx = dxc + dmu / m
    elif mean_path == "no 1/m":
        dx = dxc + dmu
    else:  # "none": the mean treated as a constant
        dx = dxc
    dgamma, dbeta = (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


BATCH_NORM_BACKWARD_GRAPH_MISTAKES = (
    Mistake(
        "the mean stage: dx gets dmu, not dmu / m (each x is 1/m of the mean)",
        partial(_batch_norm_backward_graph, mean_path="no 1/m"),
        "mu = sum(x) / m, so dmu reaches each x as dmu / m: dx = dxc + dmu / m",
    ),
    Mistake(
        "the mean stage is missing: x reaches x_c = x - mu only directly, not through mu",
        partial(_batch_norm_backward_graph, mean_path="none"),
        "x feeds x_c twice, directly and through mu = mean(x): dmu = -sum(dxc) over the "
        "channel, then dx = dxc + dmu / m",
    ),
    Mistake(
        "the mean stage: dmu = +sum(dxc); x_c = x - mu, so mu enters with a minus sign",
        partial(_batch_norm_backward_graph, mu_sign=1.0),
        "dmu = -sum(dxc) over every axis but 1",
    ),
    Mistake(
        "the variance path is missing: v is treated as a constant",
        partial(_batch_norm_backward_graph, var_path="none"),
        "x_c reaches the output twice, through x_hat = x_c * r and through v = mean(x_c**2): "
        "dxc = dx_hat * r + dv * 2 * x_c / m",
    ),
    Mistake(
        "the variance path overwrites dxc instead of adding to it (x_c has two paths)",
        partial(_batch_norm_backward_graph, var_path="overwrite"),
        "a node used twice gets the sum of both gradients: dxc = dx_hat * r + dv * 2 * x_c / m",
    ),
    Mistake(
        "the variance stage: the factor 2 of d(x_c**2) = 2 x_c is missing",
        partial(_batch_norm_backward_graph, var_factor=1.0),
        "v = mean(x_c**2), so dxc gets dv * 2 * x_c / m",
    ),
    Mistake(
        "the variance stage: the 1 / m of the mean is missing (dv * 2 * x_c)",
        partial(_batch_norm_backward_graph, var_over_m=False),
        "v = sum(x_c**2) / m, so dxc gets dv * 2 * x_c / m",
    ),
    Mistake(
        "the square-root stage: dv = ds / s; the derivative of sqrt(u) is 1 / (2 sqrt(u))",
        partial(_batch_norm_backward_graph, half=False),
        "s = sqrt(v + eps), so dv = ds / (2 * s)",
    ),
    Mistake(
        "the reciprocal stage: ds = dr / s**2; the derivative of 1 / s is -1 / s**2",
        partial(_batch_norm_backward_graph, inv_sign=1.0),
        "r = 1 / s, so ds = -dr / s**2",
    ),
    Mistake(
        "the reciprocal stage: dr is not summed over the channel (r is one number per channel)",
        partial(_batch_norm_backward_graph, inv_summed=False),
        "r = 1 / s is broadcast over the channel's m values, so its gradient is the sum: "
        "dr = sum(dx_hat * x_c) over every axis but 1, keepdims=True",
    ),
    Mistake(
        "the forward pass uses the unbiased variance (dividing by m - 1)",
        partial(_batch_norm_backward_graph, ddof=1),
        "training-mode batch norm normalizes with the biased variance, v = mean(x_c**2)",
    ),
    *(mistake for mistake in BATCH_NORM_BACKWARD_MISTAKES
      if "dgamma" in mistake.description),
)

# ---------------------------------------------------------------- layer norm


def _layer_norm(x, gamma, beta, eps=1e-5, *, axes=None, ddof=0, eps_outside=False):
    axes = tuple(range(1, x.ndim)) if axes is None else axes
    x_hat, _, _ = _standardize(x, axes, eps, ddof, eps_outside)
    return (x_hat * gamma + beta).astype(x.dtype)


def _layer_norm_over_last_axis(x, gamma, beta, eps=1e-5):
    return _layer_norm(x, gamma, beta, eps, axes=(x.ndim - 1,))


def _layer_norm_per_channel(x, gamma, beta, eps=1e-5):
    return _layer_norm(x, gamma, beta, eps, axes=tuple(range(2, x.ndim)))


LAYER_NORM_MISTAKES = (
    Mistake(
        "layer norm over the batch axis (axis 0): that is batch norm, not layer norm",
        partial(_layer_norm, axes=(0,)),
        "take each sample's mean and variance over its own features: "
        "axis=tuple(range(1, x.ndim)), keepdims=True",
    ),
    Mistake(
        "4-D input normalized over the last axis only (axis=-1), not over C, H and W",
        _layer_norm_over_last_axis,
        "for (N, C, H, W) input average over axes (1, 2, 3): every axis but the batch axis",
    ),
    Mistake(
        "each channel normalized separately over H, W: that is instance norm",
        _layer_norm_per_channel,
        "layer norm pools all of a sample's features: average over axes 1, 2, ... together",
    ),
    Mistake(
        "normalized with the unbiased variance (dividing by D - 1)",
        partial(_layer_norm, ddof=1),
        "use the biased variance np.mean((x - mean) ** 2), as torch.nn.LayerNorm does",
    ),
    Mistake(
        "eps is added to the standard deviation instead of the variance",
        partial(_layer_norm, eps_outside=True),
        "divide by np.sqrt(var + eps), not np.sqrt(var) + eps",
    ),
)

# ---------------------------------------------------------------- instance norm


def _instance_norm(x, gamma, beta, eps=1e-5, *, axes=None, ddof=0, eps_outside=False):
    axes = tuple(range(2, x.ndim)) if axes is None else axes
    x_hat, _, _ = _standardize(x, axes, eps, ddof, eps_outside)
    return (x_hat * _channel(gamma, x.ndim) + _channel(beta, x.ndim)).astype(x.dtype)


def _instance_norm_over_batch(x, gamma, beta, eps=1e-5):
    return _instance_norm(x, gamma, beta, eps, axes=_all_but_channel(x.ndim))


def _instance_norm_over_channels(x, gamma, beta, eps=1e-5):
    return _instance_norm(x, gamma, beta, eps, axes=tuple(range(1, x.ndim)))


INSTANCE_NORM_MISTAKES = (
    Mistake(
        "instance norm over the batch as well (N, H, W): that is batch norm",
        _instance_norm_over_batch,
        "each sample has its own statistics: average over the spatial axes only, "
        "axis=tuple(range(2, x.ndim))",
    ),
    Mistake(
        "instance norm over all channels together (C, H, W): that is layer norm",
        _instance_norm_over_channels,
        "each channel of each sample has its own statistics: average over axes 2, ... only",
    ),
    Mistake(
        "normalized with the unbiased variance (dividing by H * W - 1)",
        partial(_instance_norm, ddof=1),
        "use the biased variance np.mean((x - mean) ** 2), as torch.nn.InstanceNorm2d does",
    ),
    Mistake(
        "eps is added to the standard deviation instead of the variance",
        partial(_instance_norm, eps_outside=True),
        "divide by np.sqrt(var + eps), not np.sqrt(var) + eps",
    ),
)

# ---------------------------------------------------------------- group norm


def _group_norm(x, num_groups, gamma, beta, eps=1e-5, *, ddof=0, eps_outside=False):
    grouped = x.reshape(x.shape[0], num_groups, -1)
    x_hat, _, _ = _standardize(grouped, (2,), eps, ddof, eps_outside)
    return _scale_shift(x_hat.reshape(x.shape), gamma, beta, x.dtype)


def _scale_shift(x_hat, gamma, beta, dtype):
    return (x_hat * _channel(gamma, x_hat.ndim) + _channel(beta, x_hat.ndim)).astype(dtype)


def _group_norm_channels_last(x, num_groups, gamma, beta, eps=1e-5):
    """Groups cut from the (N, H, W, C) layout: they mix positions, not channels."""
    last = np.moveaxis(x, 1, -1)
    x_hat, _, _ = _standardize(last.reshape(x.shape[0], num_groups, -1), (2,), eps)
    return _scale_shift(np.moveaxis(x_hat.reshape(last.shape), -1, 1), gamma, beta, x.dtype)


def _group_norm_interleaved(x, num_groups, gamma, beta, eps=1e-5):
    """Channel c in group c % G instead of c // (C / G)."""
    n, c = x.shape[:2]
    split = x.reshape(n, c // num_groups, num_groups, -1)
    x_hat, _, _ = _standardize(split, (1, 3), eps)
    return _scale_shift(x_hat.reshape(x.shape), gamma, beta, x.dtype)


def _group_norm_per_channel(x, num_groups, gamma, beta, eps=1e-5):
    return _group_norm(x, x.shape[1], gamma, beta, eps)


def _group_norm_one_group(x, num_groups, gamma, beta, eps=1e-5):
    return _group_norm(x, 1, gamma, beta, eps)


GROUP_NORM_MISTAKES = (
    Mistake(
        "groups cut after moving the channels last: reshape(N, G, -1) of the (N, H, W, C) "
        "layout groups spatial positions, not channels",
        _group_norm_channels_last,
        "reshape the (N, C, H, W) array itself: x.reshape(N, G, -1) keeps each group's "
        "C / G consecutive channels together",
    ),
    Mistake(
        "groups interleaved: channel c went to group c % G instead of c // (C / G)",
        _group_norm_interleaved,
        "groups are blocks of consecutive channels: x.reshape(N, G, C // G, ...) or "
        "x.reshape(N, G, -1)",
    ),
    Mistake(
        "num_groups is ignored: every channel normalized on its own (instance norm)",
        _group_norm_per_channel,
        "pool the C / G channels of a group: x.reshape(N, num_groups, -1), statistics over "
        "the last axis",
    ),
    Mistake(
        "num_groups is ignored: all channels normalized together (layer norm)",
        _group_norm_one_group,
        "use num_groups groups: x.reshape(N, num_groups, -1), statistics over the last axis",
    ),
    Mistake(
        "normalized with the unbiased variance (dividing by count - 1)",
        partial(_group_norm, ddof=1),
        "use the biased variance np.mean((x - mean) ** 2), as torch.nn.GroupNorm does",
    ),
    Mistake(
        "eps is added to the standard deviation instead of the variance",
        partial(_group_norm, eps_outside=True),
        "divide by np.sqrt(var + eps), not np.sqrt(var) + eps",
    ),
)

# ---------------------------------------------------------------- RMS norm


def _rms_norm(x, gamma, eps=None, *, axes=None, default_eps="input", centre=False,
              eps_outside=False, mean=True, ignore_eps=False):
    default = {"input": np.finfo(x.dtype).eps, "float64": np.finfo(np.float64).eps,
               "layer norm's": 1e-5}[default_eps]
    eps = default if eps is None or ignore_eps else eps
    axes = tuple(range(1, x.ndim)) if axes is None else axes
    x64 = x.astype(np.float64)
    if centre:
        x64 = x64 - x64.mean(axis=axes, keepdims=True)
    squares = (x64 * x64).mean(axis=axes, keepdims=True) if mean else \
        (x64 * x64).sum(axis=axes, keepdims=True)
    scale = np.sqrt(squares) + eps if eps_outside else np.sqrt(squares + eps)
    return (x64 / scale * gamma).astype(x.dtype)


RMS_NORM_MISTAKES = (
    Mistake(
        "the mean is subtracted first: that is layer norm without its shift",
        partial(_rms_norm, centre=True),
        "RMS norm does not centre: divide x itself by np.sqrt(np.mean(x**2) + eps)",
    ),
    Mistake(
        "the sum of squares instead of their mean: x / ||x|| (off by sqrt(D))",
        partial(_rms_norm, mean=False),
        "the root *mean* square: np.sqrt(np.mean(x**2, axis=..., keepdims=True) + eps)",
    ),
    Mistake(
        "normalized over the batch axis (axis 0) instead of each sample's features",
        partial(_rms_norm, axes=(0,)),
        "each sample has its own root mean square, over axis=tuple(range(1, x.ndim))",
    ),
    Mistake(
        "4-D input normalized over the last axis only (axis=-1), not over C, H and W",
        lambda x, gamma, eps=None: _rms_norm(x, gamma, eps, axes=(x.ndim - 1,)),
        "like layer norm, average over every axis but the batch axis: "
        "axis=tuple(range(1, x.ndim))",
    ),
    Mistake(
        "the default eps is float64's machine epsilon, taken after converting the input",
        partial(_rms_norm, default_eps="float64"),
        "eps=None means the machine epsilon of the *input's* dtype, as torch.nn.RMSNorm: "
        "np.finfo(x.dtype).eps (about 1.2e-7 for float32), read before converting x",
    ),
    Mistake(
        "the default eps is layer norm's 1e-5",
        partial(_rms_norm, default_eps="layer norm's"),
        "torch.nn.functional.rms_norm's eps=None is np.finfo(x.dtype).eps, not 1e-5",
    ),
    Mistake(
        "the eps argument is ignored",
        partial(_rms_norm, ignore_eps=True),
        "use eps when it is given; only eps=None means np.finfo(x.dtype).eps",
    ),
    Mistake(
        "eps is added to the root mean square instead of the mean square",
        partial(_rms_norm, eps_outside=True),
        "divide by np.sqrt(np.mean(x**2) + eps), not np.sqrt(np.mean(x**2)) + eps",
    ),
)

# ---------------------------------------------------------------- folding


def _fold(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5, *,
          std=True, with_eps=True, mean="scaled", input_axis=False):
    var = running_var + eps if with_eps else running_var
    scale = gamma / (np.sqrt(var) if std else var)
    if input_axis:  # weight * scale broadcasts over the last axis
        folded_weight = weight * scale
    else:
        folded_weight = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    bias = np.zeros_like(gamma) if bias is None else bias
    if mean == "unscaled":
        folded_bias = bias * scale - running_mean + beta
    elif mean == "ignored":
        folded_bias = bias * scale + beta
    else:
        folded_bias = (bias - running_mean) * scale + beta
    return folded_weight.astype(weight.dtype), folded_bias.astype(weight.dtype)


FOLD_BATCH_NORM_MISTAKES = (
    Mistake(
        "the scale divides by the variance, not the standard deviation",
        partial(_fold, std=False),
        "scale = gamma / np.sqrt(running_var + eps)",
    ),
    Mistake(
        "eps is left out of the scale",
        partial(_fold, with_eps=False),
        "batch norm divides by np.sqrt(running_var + eps); the folded layer must too",
    ),
    Mistake(
        "the running mean is not scaled: bias' = bias * scale - running_mean + beta",
        partial(_fold, mean="unscaled"),
        "batch norm scales (z - running_mean) as a whole: "
        "bias' = (bias - running_mean) * scale + beta",
    ),
    Mistake(
        "the running mean is not subtracted: bias' = bias * scale + beta",
        partial(_fold, mean="ignored"),
        "batch norm subtracts running_mean before scaling: "
        "bias' = (bias - running_mean) * scale + beta",
    ),
    Mistake(
        "the weight is scaled along its input axis (weight * scale broadcasts over the "
        "last axis)",
        partial(_fold, input_axis=True),
        "scale output channel o, i.e. row o: weight * scale[:, None] for Linear, "
        "scale[:, None, None, None] for Conv2d",
    ),
)
