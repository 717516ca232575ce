"""The NumPy normalizations of course_lib.reference.norms against PyTorch, their properties,
their argument errors, and the torch.nn factory of course_lib.lab.models."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib.lab.models import NORM_KINDS, norm_layer
from course_lib.reference import norms

DTYPES = (np.float32, np.float64)
#: How close to PyTorch: float64 agrees to rounding; float32 PyTorch accumulates in
#: float32 while the reference accumulates in float64.
TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 1e-5, "atol": 2e-6}}
SHAPES_2D_TO_4D = [(5, 3), (4, 3, 6), (3, 4, 2, 5)]

fast = settings(max_examples=40, deadline=None)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _data(rng, shape, dtype, offset=0.0):
    """Inputs with different means and scales per channel, as real activations have."""
    stat_shape = (1, shape[1]) + (1,) * (len(shape) - 2)
    means = offset + rng.uniform(-2, 2, stat_shape)
    return (means + rng.uniform(0.5, 2, stat_shape) * rng.standard_normal(shape)).astype(dtype)


def _affine(rng, shape, dtype):
    return rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)


def _t(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(a, requires_grad=grad)


def _close(ours: np.ndarray, theirs, dtype) -> None:
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours, theirs, **TOL[dtype])


# ---------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES_2D_TO_4D)
@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_batch_norm_training_matches_torch_module(dtype, shape, momentum):
    rng = _rng(1)
    x = _data(rng, shape, dtype)
    gamma, beta = _affine(rng, shape[1], dtype)
    mean, var = rng.normal(size=shape[1]).astype(dtype), rng.uniform(0.5, 2, shape[1]).astype(dtype)
    module = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(
        shape[1], momentum=momentum, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        module.weight.copy_(_t(gamma))
        module.bias.copy_(_t(beta))
        module.running_mean.copy_(_t(mean))
        module.running_var.copy_(_t(var))
    module.train()
    expected = module(_t(x))
    out, new_mean, new_var = norms.batch_norm(x, gamma, beta, mean, var, momentum=momentum)
    _close(out, expected, dtype)
    _close(new_mean, module.running_mean, dtype)
    _close(new_var, module.running_var, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES_2D_TO_4D)
def test_batch_norm_eval_matches_torch_and_returns_running_stats(dtype, shape):
    rng = _rng(2)
    x = _data(rng, shape, dtype)
    gamma, beta = _affine(rng, shape[1], dtype)
    mean, var = rng.normal(size=shape[1]).astype(dtype), rng.uniform(0.5, 2, shape[1]).astype(dtype)
    expected = F.batch_norm(_t(x), _t(mean), _t(var), _t(gamma), _t(beta), training=False,
                            eps=1e-3)
    out, new_mean, new_var = norms.batch_norm(x, gamma, beta, mean, var, training=False, eps=1e-3)
    _close(out, expected, dtype)
    np.testing.assert_array_equal(new_mean, mean)
    np.testing.assert_array_equal(new_var, var)
    assert not np.shares_memory(new_mean, mean) and not np.shares_memory(new_var, var)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES_2D_TO_4D)
def test_batch_norm_backward_matches_autograd(dtype, shape):
    rng = _rng(3)
    x, dout = _data(rng, shape, dtype), rng.normal(size=shape).astype(dtype)
    gamma, beta = _affine(rng, shape[1], dtype)
    tx, tg, tb = _t(x, True), _t(gamma, True), _t(beta, True)
    F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-4).backward(_t(dout))
    dx, dgamma, dbeta = norms.batch_norm_backward(dout, x, gamma, eps=1e-4)
    _close(dx, tx.grad, dtype)
    _close(dgamma, tg.grad, dtype)
    _close(dbeta, tb.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES_2D_TO_4D)
def test_batch_norm_backward_graph_matches_autograd_and_the_simplified_formula(dtype, shape):
    rng = _rng(13)
    x, dout = _data(rng, shape, dtype), rng.normal(size=shape).astype(dtype)
    gamma, beta = _affine(rng, shape[1], dtype)
    tx, tg, tb = _t(x, True), _t(gamma, True), _t(beta, True)
    F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-4).backward(_t(dout))
    staged = norms.batch_norm_backward_graph(dout, x, gamma, eps=1e-4)
    for ours, theirs in zip(staged, (tx.grad, tg.grad, tb.grad)):
        _close(ours, theirs, dtype)
    for a, b in zip(staged, norms.batch_norm_backward(dout, x, gamma, eps=1e-4)):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(dtype, shape, eps):
    rng = _rng(14)
    x = _data(rng, shape, dtype, offset=1.0)
    gamma, _ = _affine(rng, shape[1:], dtype)
    expected = F.rms_norm(_t(x), shape[1:], _t(gamma), eps=eps)
    _close(norms.rms_norm(x, gamma, eps=eps), expected, dtype)
    module = nn.RMSNorm(shape[1:], eps=eps, dtype=torch.float64 if dtype == np.float64 else None)
    with torch.no_grad():
        module.weight.copy_(_t(gamma))
        _close(norms.rms_norm(x, gamma, eps), module(_t(x)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_default_eps_is_the_input_dtypes_machine_epsilon(dtype):
    # Tiny values: the mean square (1e-10) is below float32's eps, so eps decides the output.
    x = np.full((2, 3), 1e-5, dtype)
    ones = np.ones(3, dtype)
    expected = F.rms_norm(_t(x), (3,), _t(ones))  # eps=None: torch.finfo(dtype).eps
    _close(norms.rms_norm(x, ones), expected, dtype)
    np.testing.assert_allclose(norms.rms_norm(x, ones),
                               norms.rms_norm(x, ones, eps=float(np.finfo(dtype).eps)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 5), (2, 3, 4, 5)])
def test_layer_norm_matches_torch(dtype, shape):
    rng = _rng(4)
    x = _data(rng, shape, dtype)
    gamma, beta = _affine(rng, shape[1:], dtype)
    tx, tg, tb = _t(x, True), _t(gamma, True), _t(beta, True)
    expected = F.layer_norm(tx, shape[1:], tg, tb, eps=1e-5)
    _close(norms.layer_norm(x, gamma, beta), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4, 6), (2, 3, 4, 5)])
def test_instance_norm_matches_torch(dtype, shape):
    rng = _rng(5)
    x = _data(rng, shape, dtype)
    gamma, beta = _affine(rng, shape[1], dtype)
    module = (nn.InstanceNorm2d if len(shape) == 4 else nn.InstanceNorm1d)(shape[1], affine=True)
    module = module.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        module.weight.copy_(_t(gamma))
        module.bias.copy_(_t(beta))
    tx = _t(x, True)
    expected = module(tx)
    _close(norms.instance_norm(x, gamma, beta), expected, dtype)
    functional = F.instance_norm(_t(x), weight=_t(gamma), bias=_t(beta), eps=1e-5)
    _close(norms.instance_norm(x, gamma, beta), functional, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "groups"), [((4, 6), 3), ((3, 6, 5), 2), ((2, 6, 3, 4), 1),
                                               ((2, 6, 3, 4), 3), ((2, 6, 3, 4), 6)])
def test_group_norm_matches_torch(dtype, shape, groups):
    rng = _rng(6)
    x = _data(rng, shape, dtype)
    gamma, beta = _affine(rng, shape[1], dtype)
    tx, tg, tb = _t(x, True), _t(gamma, True), _t(beta, True)
    expected = F.group_norm(tx, groups, tg, tb, eps=1e-5)
    _close(norms.group_norm(x, groups, gamma, beta), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_offsets_stay_accurate_and_quiet(dtype):
    """Means of 1e4: the two-pass variance keeps the result right and warning-free."""
    rng = _rng(7)
    x = _data(rng, (6, 3, 4, 4), dtype, offset=1e4)
    gamma, beta = _affine(rng, 3, dtype)
    ones, zeros = np.ones(3, dtype), np.zeros(3, dtype)
    # torch in float64 on the same (rounded) inputs
    exact, g64, b64 = (_t(a.astype(np.float64)) for a in (x, gamma, beta))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [
            (norms.batch_norm(x, gamma, beta, zeros, ones)[0],
             F.batch_norm(exact, None, None, g64, b64, True)),
            (norms.layer_norm(x, np.ones(x.shape[1:], dtype), np.zeros(x.shape[1:], dtype)),
             F.layer_norm(exact, x.shape[1:])),
            (norms.instance_norm(x, gamma, beta), F.instance_norm(exact, weight=g64, bias=b64)),
            (norms.group_norm(x, 3, gamma, beta), F.group_norm(exact, 3, g64, b64)),
        ]
    for ours, theirs in results:
        assert ours.dtype == dtype and np.all(np.isfinite(ours))
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_constant_channel_gives_beta():
    x = np.ones((4, 2, 3, 3))
    x[:, 1] = np.arange(36.0).reshape(4, 3, 3)
    gamma, beta = np.array([2.0, 3.0]), np.array([0.5, -1.0])
    out, _, new_var = norms.batch_norm(x, gamma, beta, np.zeros(2), np.ones(2))
    np.testing.assert_array_equal(out[:, 0], 0.5)
    assert new_var[0] == pytest.approx(0.9)  # (1 - 0.1) * 1 + 0.1 * 0


# ---------------------------------------------------------------- folding


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_fold_batch_norm_into_conv2d_matches_torch(dtype, with_bias):
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=with_bias).to(torch_dtype)
    bn = nn.BatchNorm2d(4, eps=1e-3).to(torch_dtype)
    with torch.no_grad():
        bn.weight.uniform_(-2, 2)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.1, 3)
    bn.eval()
    x = torch.randn(2, 3, 5, 6, dtype=torch_dtype)
    weight, bias = norms.fold_batch_norm(
        conv.weight.detach().numpy(), conv.bias.detach().numpy() if with_bias else None,
        *(t.detach().numpy() for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var)),
        eps=1e-3)
    assert weight.dtype == dtype and bias.dtype == dtype and bias.shape == (4,)
    folded = F.conv2d(x, torch.from_numpy(weight), torch.from_numpy(bias), padding=1)
    with torch.no_grad():
        expected = bn(conv(x))
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(folded.detach().numpy(), expected.numpy(), **tol)
    fused_weight, fused_bias = torch.nn.utils.fusion.fuse_conv_bn_weights(
        conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    np.testing.assert_allclose(weight, fused_weight.detach().numpy(), **tol)
    np.testing.assert_allclose(bias, fused_bias.detach().numpy(), **tol)


def test_fold_batch_norm_into_linear_matches_torch():
    torch.manual_seed(1)
    linear = nn.Linear(5, 3).double()
    bn = nn.BatchNorm1d(3).double()
    with torch.no_grad():
        bn.weight.uniform_(-2, 2)
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.1, 3)
    bn.eval()
    x = torch.randn(7, 5, dtype=torch.float64)
    weight, bias = norms.fold_batch_norm(
        *(t.detach().numpy() for t in (linear.weight, linear.bias, bn.weight, bn.bias,
                                       bn.running_mean, bn.running_var)))
    with torch.no_grad():
        np.testing.assert_allclose(x.numpy() @ weight.T + bias, bn(linear(x)).numpy(), rtol=1e-12,
                                   atol=1e-12)


# ---------------------------------------------------------------- properties


def _draw(data, ndim_choices=(2, 3, 4), min_spatial=1):
    """A seed and a small (N, C, ...) shape with C a multiple of 1, 2 or 3."""
    ndim = data.draw(st.sampled_from(ndim_choices))
    shape = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)),
             *(data.draw(st.integers(min_spatial, 4)) for _ in range(ndim - 2)))
    return _rng(data.draw(st.integers(0, 2**32 - 1))), shape


@fast
@given(st.data())
def test_group_norm_with_one_group_is_layer_norm_with_per_channel_affine(data):
    rng, shape = _draw(data)
    x = _data(rng, shape, np.float64)
    gamma, beta = _affine(rng, shape[1], np.float64)
    spread = (-1,) + (1,) * (len(shape) - 2)
    broadcast = [np.broadcast_to(v.reshape(spread), shape[1:]).copy() for v in (gamma, beta)]
    np.testing.assert_allclose(norms.group_norm(x, 1, gamma, beta),
                               norms.layer_norm(x, *broadcast), rtol=1e-12, atol=1e-12)


@fast
@given(st.data())
def test_group_norm_with_one_channel_per_group_is_instance_norm(data):
    rng, shape = _draw(data, (3, 4), min_spatial=2)
    x = _data(rng, shape, np.float64)
    gamma, beta = _affine(rng, shape[1], np.float64)
    np.testing.assert_allclose(norms.group_norm(x, shape[1], gamma, beta),
                               norms.instance_norm(x, gamma, beta), rtol=1e-12, atol=1e-12)


def _per_sample_norms(x, rng):
    """Layer, instance (when x has space) and group norm of x with fixed parameters."""
    channels = x.shape[1]
    gamma, beta = _affine(rng, channels, np.float64)
    ln_gamma, ln_beta = _affine(rng, x.shape[1:], np.float64)
    results = {"layer": lambda v: norms.layer_norm(v, ln_gamma, ln_beta),
               "group": lambda v: norms.group_norm(v, 1 if channels % 2 else 2, gamma, beta)}
    if x.ndim > 2 and x[0, 0].size > 1:
        results["instance"] = lambda v: norms.instance_norm(v, gamma, beta)
    return results


@fast
@given(st.data())
def test_permuting_the_batch_permutes_every_norm(data):
    rng, shape = _draw(data)
    shape = (max(shape[0], 2), *shape[1:])
    x = _data(rng, shape, np.float64)
    perm = rng.permutation(shape[0])
    for name, norm in _per_sample_norms(x, rng).items():
        np.testing.assert_array_equal(norm(x[perm]), norm(x)[perm], err_msg=name)
    # Batch norm too: its statistics are sums over the batch, which ignore the order.
    gamma, beta = _affine(rng, shape[1], np.float64)
    stats = (np.zeros(shape[1]), np.ones(shape[1]))
    np.testing.assert_allclose(norms.batch_norm(x[perm], gamma, beta, *stats)[0],
                               norms.batch_norm(x, gamma, beta, *stats)[0][perm], rtol=1e-12,
                               atol=1e-12)


@fast
@given(st.data())
def test_only_batch_norm_depends_on_the_other_samples(data):
    rng, shape = _draw(data)
    # Three or more: two values alone always normalize to -1 and +1.
    shape = (max(shape[0], 3), *shape[1:])
    x = _data(rng, shape, np.float64)
    shuffled_in = x.copy()
    shuffled_in[1:] = _data(rng, (shape[0] - 1, *shape[1:]), np.float64)  # new batch-mates
    for name, norm in _per_sample_norms(x, rng).items():
        np.testing.assert_array_equal(norm(shuffled_in)[0], norm(x)[0], err_msg=name)
    gamma = np.ones(shape[1])
    stats = (np.zeros(shape[1]), np.ones(shape[1]))
    first = norms.batch_norm(x, gamma, 0 * gamma, *stats)[0][0]
    assert not np.allclose(norms.batch_norm(shuffled_in, gamma, 0 * gamma, *stats)[0][0], first)


@fast
@given(st.data(), st.floats(1e-3, 1e3))
def test_layer_norm_ignores_the_input_scale(data, scale):
    rng, shape = _draw(data)
    shape = (shape[0], max(shape[1], 2), *shape[2:])
    x = _data(rng, shape, np.float64)
    gamma, beta = _affine(rng, shape[1:], np.float64)
    np.testing.assert_allclose(norms.layer_norm(x * scale, gamma, beta, eps=1e-20),
                               norms.layer_norm(x, gamma, beta, eps=1e-20), rtol=1e-9, atol=1e-9)


@fast
@given(st.data())
def test_batch_norm_output_has_mean_beta_and_std_abs_gamma(data):
    rng, shape = _draw(data)
    shape = (max(shape[0], 2), *shape[1:])
    x = _data(rng, shape, np.float64)
    gamma, beta = _affine(rng, shape[1], np.float64)
    eps = 1e-5
    out = norms.batch_norm(x, gamma, beta, np.zeros(shape[1]), np.ones(shape[1]), eps=eps)[0]
    axes = (0, *range(2, len(shape)))
    var = x.var(axis=axes)
    np.testing.assert_allclose(out.mean(axis=axes), beta, atol=1e-10)
    # The std is |gamma| shrunk by eps: sqrt(var / (var + eps)).
    np.testing.assert_allclose(out.std(axis=axes), np.abs(gamma) * np.sqrt(var / (var + eps)),
                               rtol=1e-9, atol=1e-12)


@fast
@given(st.data(), st.floats(1e-3, 1e3))
def test_rms_norm_ignores_the_input_scale_and_is_layer_norm_for_zero_mean_samples(data, scale):
    rng, shape = _draw(data, min_spatial=2)
    x = _data(rng, shape, np.float64)
    gamma, beta = _affine(rng, shape[1:], np.float64)
    np.testing.assert_allclose(norms.rms_norm(scale * x, gamma, eps=1e-300),
                               norms.rms_norm(x, gamma, eps=1e-300), rtol=1e-9, atol=1e-12)
    axes = tuple(range(1, x.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    np.testing.assert_allclose(norms.rms_norm(centred, gamma, eps=1e-5),
                               norms.layer_norm(centred, gamma, np.zeros_like(beta), eps=1e-5),
                               rtol=1e-9, atol=1e-12)
    # with gamma = 1 every sample comes out with root mean square 1 (up to eps)
    out = norms.rms_norm(x, np.ones_like(gamma), eps=1e-12)
    np.testing.assert_allclose(np.sqrt((out**2).mean(axis=axes)), 1.0, rtol=1e-8)


@fast
@given(st.data())
def test_staged_and_simplified_batch_norm_backward_agree(data):
    rng, shape = _draw(data)
    shape = (max(shape[0], 2), *shape[1:])
    x, dout = _data(rng, shape, np.float64), rng.normal(size=shape)
    gamma, _ = _affine(rng, shape[1], np.float64)
    for a, b in zip(norms.batch_norm_backward_graph(dout, x, gamma),
                    norms.batch_norm_backward(dout, x, gamma)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)


@fast
@given(st.data(), st.sampled_from(DTYPES))
def test_references_are_pure_and_keep_the_dtype(data, dtype):
    rng, shape = _draw(data, (3, 4), min_spatial=2)
    shape = (max(shape[0], 2), *shape[1:])
    x = _data(rng, shape, dtype)
    gamma, beta = _affine(rng, shape[1], dtype)
    mean, var = np.zeros(shape[1], dtype), np.ones(shape[1], dtype)
    inputs = [a.copy() for a in (x, gamma, beta, mean, var)]
    results = [*norms.batch_norm(x, gamma, beta, mean, var), norms.instance_norm(x, gamma, beta),
               norms.group_norm(x, 1, gamma, beta), *norms.batch_norm_backward(x, x, gamma),
               *norms.batch_norm_backward_graph(x, x, gamma),
               norms.rms_norm(x, np.ones(shape[1:], dtype))]
    for before, after in zip(inputs, (x, gamma, beta, mean, var)):
        np.testing.assert_array_equal(before, after)
    for result in results:
        assert result.dtype == dtype
        assert not any(np.shares_memory(result, a) for a in (x, gamma, beta, mean, var))


# ---------------------------------------------------------------- bad input


def _bn_inputs(shape=(4, 3), dtype=np.float64):
    x = _data(_rng(), shape, dtype)
    c = shape[1]
    return x, np.ones(c, dtype), np.zeros(c, dtype), np.zeros(c, dtype), np.ones(c, dtype)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: norms.batch_norm([[1.0, 2.0]], *_bn_inputs()[1:]), TypeError,
     r"x: expected a float32 or float64 np.ndarray, got list"),
    (lambda: norms.batch_norm(np.ones((4, 3), int), *_bn_inputs()[1:]), TypeError,
     r"x: expected dtype float32 or float64, got int64"),
    (lambda: norms.batch_norm(np.ones(3), *_bn_inputs()[1:]), ValueError,
     r"x: expected \(N, C\), \(N, C, L\) or \(N, C, H, W\), got shape \(3,\)"),
    (lambda: norms.batch_norm(*_bn_inputs()[:1], np.ones(4), *_bn_inputs()[2:]), ValueError,
     r"gamma: expected shape \(3,\) \(one value per channel, C = x.shape\[1\]\), got \(4,\)"),
    (lambda: norms.batch_norm(*_bn_inputs()[:3], np.zeros((1, 3)), np.ones(3)), ValueError,
     r"running_mean: expected shape \(3,\) .*got \(1, 3\)"),
    (lambda: norms.batch_norm(*_bn_inputs()[:4], -np.ones(3)), ValueError,
     r"running_var: expected non-negative values, got minimum"),
    (lambda: norms.batch_norm(*_bn_inputs(), momentum=1.5), ValueError,
     r"momentum: expected a number in \[0, 1\], got 1.5"),
    (lambda: norms.batch_norm(*_bn_inputs(), eps=0.0), ValueError,
     r"eps: expected a finite number > 0, got 0.0"),
    (lambda: norms.batch_norm(*_bn_inputs(), training="yes"), TypeError,
     r"training: expected True or False, got str 'yes'"),
    (lambda: norms.batch_norm(*_bn_inputs((1, 3))), ValueError,
     r"x: expected more than 1 value per channel when training, got shape \(1, 3\)"),
    (lambda: norms.batch_norm(_bn_inputs()[0], *_bn_inputs(dtype=np.float32)[1:]), TypeError,
     r"gamma: expected dtype float64 like x, got float32"),
    (lambda: norms.batch_norm_backward(np.ones((4, 2)), *_bn_inputs()[:2]), ValueError,
     r"dout: expected shape \(4, 3\) \(the shape of x\), got \(4, 2\)"),
    (lambda: norms.layer_norm(np.ones((2, 3, 4)), np.ones(4), np.zeros(4)), ValueError,
     r"gamma: expected shape \(3, 4\) \(x.shape\[1:\], one value per feature\), got \(4,\)"),
    (lambda: norms.batch_norm_backward_graph(np.ones((4, 2)), *_bn_inputs()[:2]), ValueError,
     r"dout: expected shape \(4, 3\) \(the shape of x\), got \(4, 2\)"),
    (lambda: norms.rms_norm(np.ones((2, 3, 4)), np.ones(4)), ValueError,
     r"gamma: expected shape \(3, 4\) \(x.shape\[1:\], one value per feature\), got \(4,\)"),
    (lambda: norms.rms_norm(np.ones((2, 3)), np.ones(3), eps=0.0), ValueError,
     r"eps: expected a finite number > 0, got 0.0"),
    (lambda: norms.instance_norm(np.ones((2, 3)), np.ones(3), np.zeros(3)), ValueError,
     r"x: expected \(N, C, L\) or \(N, C, H, W\), got shape \(2, 3\)"),
    (lambda: norms.instance_norm(np.ones((2, 3, 1, 1)), np.ones(3), np.zeros(3)), ValueError,
     r"x: expected more than 1 spatial element per channel"),
    (lambda: norms.group_norm(np.ones((2, 6, 2)), 4, np.ones(6), np.zeros(6)), ValueError,
     r"num_groups: expected a divisor of the number of channels C = 6 .*got 4"),
    (lambda: norms.group_norm(np.ones((2, 6)), 0, np.ones(6), np.zeros(6)), ValueError,
     r"num_groups: expected an int >= 1, got 0"),
    (lambda: norms.group_norm(np.ones((0, 6)), 2, np.ones(6), np.zeros(6)), ValueError,
     r"x: expected a non-empty array, got shape \(0, 6\)"),
    (lambda: norms.fold_batch_norm(np.ones((3, 2)), np.ones(2), *_bn_inputs()[1:]), ValueError,
     r"bias: expected shape \(3,\) \(one value per output channel, weight.shape\[0\]\), "
     r"got \(2,\)"),
    (lambda: norms.fold_batch_norm(np.ones(3), None, *_bn_inputs()[1:]), ValueError,
     r"weight: expected \(out, in\) or \(out, in, kh, kw\), got shape \(3,\)"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


@fast
@given(st.integers(1, 12), st.integers(1, 12))
def test_group_count_must_divide_channels(channels, groups):
    x, gamma = np.ones((2, channels, 3)), np.ones(channels)
    if channels % groups:
        with pytest.raises(ValueError, match=f"num_groups: .*C = {channels}.*got {groups}"):
            norms.group_norm(x, groups, gamma, gamma)
    else:
        assert norms.group_norm(x, groups, gamma, gamma).shape == x.shape


@fast
@given(st.floats(allow_nan=False).filter(lambda m: not 0 <= m <= 1))
def test_momentum_outside_unit_interval_is_refused(momentum):
    with pytest.raises(ValueError, match=r"momentum: expected a (number in \[0, 1\]|finite)"):
        norms.batch_norm(*_bn_inputs(), momentum=momentum)


@fast
@given(st.floats(max_value=0.0, allow_nan=False))
def test_non_positive_eps_is_refused(eps):
    with pytest.raises(ValueError, match=r"eps: expected a finite number > 0"):
        norms.layer_norm(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=eps)


def test_importing_norms_does_not_import_torch():
    code = ("import sys, course_lib.reference.norms, course_lib.checks.norms; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------- norm_layer


@pytest.mark.parametrize(("kind", "spatial_dims", "expected"), [
    ("none", 2, nn.Identity), ("batch", 2, nn.BatchNorm2d), ("batch", 0, nn.BatchNorm1d),
    ("batch", 1, nn.BatchNorm1d), ("layer", 2, nn.GroupNorm), ("layer", 0, nn.GroupNorm),
    ("instance", 2, nn.InstanceNorm2d), ("instance", 1, nn.InstanceNorm1d),
])
def test_norm_layer_builds_the_matching_module(kind, spatial_dims, expected):
    layer = norm_layer(kind, 6, spatial_dims=spatial_dims)
    assert type(layer) is expected
    x = torch.randn(4, 6, *(3,) * spatial_dims)
    assert layer(x).shape == x.shape


def test_norm_layer_group_and_layer_match_the_references():
    torch.manual_seed(2)
    x = torch.randn(3, 6, 4, 5, dtype=torch.float64)
    group, layer = norm_layer("group", 6, 3).double(), norm_layer("layer", 6).double()
    instance = norm_layer("instance", 6).double()
    with torch.no_grad():
        for module in (group, layer, instance):
            module.weight.normal_()
            module.bias.normal_()
            assert module.weight.shape == (6,)
    params = [(m.weight.detach().numpy(), m.bias.detach().numpy())
              for m in (group, layer, instance)]
    with torch.no_grad():
        np.testing.assert_allclose(group(x).numpy(), norms.group_norm(x.numpy(), 3, *params[0]),
                                   rtol=1e-10, atol=1e-12)
        gamma, beta = (np.broadcast_to(p[:, None, None], (6, 4, 5)).copy() for p in params[1])
        np.testing.assert_allclose(layer(x).numpy(), norms.layer_norm(x.numpy(), gamma, beta),
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(instance(x).numpy(), norms.instance_norm(x.numpy(), *params[2]),
                                   rtol=1e-10, atol=1e-12)
    assert NORM_KINDS == ("none", "batch", "layer", "instance", "group")


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"kind": "weight", "num_channels": 4}, ValueError,
     r"kind: expected one of 'none', .*'weight'"),
    ({"kind": "group", "num_channels": 4}, ValueError,
     r"num_groups: expected a divisor of num_channels = 4 for kind='group', got None"),
    ({"kind": "group", "num_channels": 6, "num_groups": 4}, ValueError,
     r"num_groups: expected a divisor of num_channels = 6, got 4"),
    ({"kind": "batch", "num_channels": 4, "num_groups": 2}, ValueError,
     r"num_groups: expected None for kind='batch', got 2"),
    ({"kind": "instance", "num_channels": 4, "spatial_dims": 0}, ValueError,
     r"spatial_dims: expected 1 or 2 for kind='instance'"),
    ({"kind": "batch", "num_channels": 4, "spatial_dims": 3}, ValueError,
     r"spatial_dims: expected 0, 1 or 2, got 3"),
    ({"kind": "batch", "num_channels": 0}, ValueError, r"num_channels: expected an int >= 1"),
])
def test_norm_layer_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        norm_layer(**kwargs)
