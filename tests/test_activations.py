"""The NumPy activations against PyTorch: values, autograd derivatives, kinks, large |x|
and dtypes. Properties and bad input are in test_activations_properties.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_allclose, assert_array_equal

from course_lib.reference import activations, relu_variants

act = SimpleNamespace(**{name: getattr(module, name) for module in (activations, relu_variants)
                         for name in module.__all__})

DTYPES = [np.float64, np.float32]
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
#: (rtol, atol) against PyTorch. The float32 atol covers PyTorch's own cancellation in
#: 1 - tanh(x)**2 and s * (1 - s), which the references avoid (|difference| <= 1.1e-6).
TOL = {np.float64: (1e-9, 1e-14), np.float32: (2e-6, 2e-6)}
SPECIAL = [0.0, -0.0, 1e-8, -1e-8, 6.0, -3.0, 3.0, 20.0, -20.0, 100.0, -100.0, 1000.0, -1000.0,
           1e4, -1e4]

#: name -> (reference, reference derivative, PyTorch function)
ELEMENTWISE = {
    "sigmoid": (act.sigmoid, act.sigmoid_grad, torch.sigmoid),
    "tanh": (np.tanh, act.tanh_grad, torch.tanh),
    "relu": (act.relu, act.relu_grad, F.relu),
    "leaky_relu": (act.leaky_relu, None, F.leaky_relu),
    "leaky_relu(0.2)": (lambda x: act.leaky_relu(x, 0.2), None, lambda t: F.leaky_relu(t, 0.2)),
    "leaky_relu(1.5)": (lambda x: act.leaky_relu(x, 1.5), None, lambda t: F.leaky_relu(t, 1.5)),
    "elu": (act.elu, act.elu_grad, F.elu),
    "elu(0.5)": (lambda x: act.elu(x, 0.5), lambda x: act.elu_grad(x, 0.5),
                 lambda t: F.elu(t, 0.5)),
    "elu(2)": (lambda x: act.elu(x, 2.0), lambda x: act.elu_grad(x, 2.0), lambda t: F.elu(t, 2.0)),
    "rrelu eval": (lambda x: act.rrelu(x, 0.1, 0.3), None,
                   lambda t: F.rrelu(t, 0.1, 0.3, training=False)),
}


def inputs(dtype, seed=0, n=3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 4.0, n), SPECIAL]).astype(dtype)


def torch_value_and_grad(fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(x, requires_grad=True)
    y = fn(t)
    (grad,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_values_and_derivatives_match_pytorch(name, dtype):
    forward, derivative, torch_fn = ELEMENTWISE[name]
    x = inputs(dtype)
    want, want_grad = torch_value_and_grad(torch_fn, x)
    rtol, atol = TOL[dtype]
    got = forward(x)
    assert got.dtype == dtype
    assert_allclose(got, want, rtol=rtol, atol=atol)
    if derivative is not None:
        got_grad = derivative(x)
        assert got_grad.dtype == dtype
        assert_allclose(got_grad, want_grad, rtol=rtol, atol=atol)


KINKS = {
    "relu": [0.0, -0.0],
    "leaky_relu": [0.0],
    "leaky_relu(0.2)": [0.0],
    "elu(0.5)": [0.0],
    "elu(2)": [0.0],
    "rrelu eval": [0.0],
}


@pytest.mark.parametrize("name", list(KINKS))
def test_derivative_at_the_kinks_is_exactly_pytorchs(name):
    forward, derivative, torch_fn = ELEMENTWISE[name]
    x = np.array(KINKS[name])
    want, want_grad = torch_value_and_grad(torch_fn, x)
    assert_array_equal(forward(x), want)
    if derivative is not None:
        assert_allclose(derivative(x), want_grad, rtol=1e-15, atol=0)


def test_the_contracts_kink_conventions():
    zero = np.zeros(1)
    assert act.relu_grad(zero)[0] == 0.0
    assert act.elu_grad(zero, 2.5)[0] == 2.5
    assert act.sigmoid(zero)[0] == 0.5 and act.sigmoid_grad(zero)[0] == 0.25
    assert act.tanh_grad(zero)[0] == 1.0


# -------------------------------------------------------------------- prelu


PRELU_SHAPES = [((5, 3), 3), ((5, 3), 1), ((2, 4, 6), 4), ((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1),
                ((2, 3, 2, 2, 2), 3), ((7,), 1), ((0, 3), 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "channels"), PRELU_SHAPES)
def test_prelu_and_its_backward_match_pytorch(shape, channels, dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(dtype)
    x.reshape(-1)[::5] = 0.0  # PyTorch's autograd: dx = weight * dout at x == 0
    weight = rng.uniform(-0.5, 1.5, channels).astype(dtype)
    dout = rng.normal(size=shape).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    ty = F.prelu(tx, tw)
    ty.backward(torch.tensor(dout))
    rtol, atol = TOL[dtype]
    out = act.prelu(x, weight)
    dx, dweight = act.prelu_backward(dout, x, weight)
    assert (out.dtype, dx.dtype, dweight.dtype) == (dtype, dtype, dtype)
    assert dweight.shape == weight.shape
    assert_allclose(out, ty.detach().numpy(), rtol=rtol, atol=atol)
    assert_allclose(dx, tx.grad.numpy(), rtol=rtol, atol=atol)
    assert_allclose(dweight, tw.grad.numpy(), rtol=rtol * 10, atol=atol * 10)


# ----------------------------------------------------- rrelu in training mode


@pytest.mark.parametrize("dtype", DTYPES)
def test_rrelu_training_draws_one_uniform_slope_per_negative_element(dtype):
    x = np.random.default_rng(3).normal(size=(50, 40)).astype(dtype)
    out = act.rrelu(x, 0.1, 0.4, training=True, rng=np.random.default_rng(7))
    assert out.dtype == dtype
    assert_array_equal(out[x >= 0], x[x >= 0])
    slopes = out[x < 0].astype(np.float64) / x[x < 0]
    assert slopes.min() >= 0.1 * (1 - 1e-6) and slopes.max() <= 0.4 * (1 + 1e-6)
    assert abs(slopes.mean() - 0.25) < 0.01 and np.unique(slopes).size > 500
    # PyTorch's rrelu in training has the same law: compare the slope means.
    torch_out = F.rrelu(torch.tensor(x), 0.1, 0.4, training=True).numpy()
    torch_slopes = torch_out[x < 0].astype(np.float64) / x[x < 0]
    assert abs(slopes.mean() - torch_slopes.mean()) < 0.01


def test_rrelu_training_is_reproducible_from_the_generator():
    x = np.linspace(-3, 3, 61)
    first = act.rrelu(x, training=True, rng=np.random.default_rng(5))
    again = act.rrelu(x, training=True, rng=np.random.default_rng(5))
    other = act.rrelu(x, training=True, rng=np.random.default_rng(6))
    assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert act.rrelu(x, training=True).shape == x.shape  # rng=None: a fresh generator


def test_rrelu_evaluation_ignores_the_generator():
    x = np.linspace(-3, 3, 61)
    assert_array_equal(act.rrelu(x, rng=np.random.default_rng(1)), act.leaky_relu(x, 11 / 48))


# ------------------------------------------------- large |x|, dtypes and purity


ALL_ONE_ARGUMENT = {
    **{name: fn for name, (fn, _grad, _torch) in ELEMENTWISE.items()},
    **{f"{name} derivative": grad for name, (_fn, grad, _torch) in ELEMENTWISE.items() if grad},
    "prelu": lambda x: act.prelu(x, np.full(1, 0.25, x.dtype)),
    "prelu_backward": lambda x: act.prelu_backward(x, x, np.full(1, 0.25, x.dtype)),
    "rrelu training": lambda x: act.rrelu(x, training=True, rng=np.random.default_rng(0)),
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ALL_ONE_ARGUMENT))
def test_no_warning_nan_or_dtype_change_for_x_up_to_1e4(name, dtype):
    x = np.concatenate([np.linspace(-1e4, 1e4, 2001), SPECIAL]).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        result = ALL_ONE_ARGUMENT[name](x)
    for out in result if isinstance(result, tuple) else (result,):
        assert out.dtype == dtype
        assert np.all(np.isfinite(out))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ALL_ONE_ARGUMENT))
def test_functions_are_pure_and_return_new_arrays(name, dtype):
    x = np.random.default_rng(4).normal(size=(3, 5)).astype(dtype)
    before = x.copy()
    result = ALL_ONE_ARGUMENT[name](x)
    assert_array_equal(x, before)
    for out in result if isinstance(result, tuple) else (result,):
        assert not np.shares_memory(out, x)


def test_numpy_scalar_parameters_do_not_upcast_float32():
    # np.float64 scalars are not "weak" under NumPy 2's promotion rules: they would turn a
    # float32 result into float64 if a reference used them as they came.
    x = np.linspace(-5, 5, 11, dtype=np.float32)
    w = np.array([0.25], np.float32)
    f64 = np.float64
    outputs = [
        act.leaky_relu(x, f64(0.2)), act.elu(x, f64(2.0)), act.elu_grad(x, f64(2.0)),
        act.rrelu(x, f64(0.1), f64(0.3)),
        act.rrelu(x, f64(0.1), f64(0.3), True, np.random.default_rng(0)), act.prelu(x, w),
        *act.prelu_backward(x, x, w),
    ]
    assert all(out.dtype == np.float32 for out in outputs)


def test_empty_arrays_give_empty_arrays():
    for fn in ALL_ONE_ARGUMENT.values():
        result = fn(np.zeros((0, 4)))
        out = result[0] if isinstance(result, tuple) else result
        assert out.shape == (0, 4)
    assert act.prelu_backward(np.zeros((0, 3)), np.zeros((0, 3)), np.ones(3))[1].tolist() == [0] * 3


def test_zero_dimensional_arrays_are_elementwise_too():
    x = np.array(-2.0)
    assert act.relu(x).shape == () and act.sigmoid(x) == pytest.approx(0.11920292202211755)
    assert act.prelu(x, np.array([0.5])) == -1.0
