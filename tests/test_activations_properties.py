"""Properties of the NumPy activations (hypothesis) and the errors they give on bad input."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from course_lib.reference import activations, relu_variants

act = SimpleNamespace(**{name: getattr(module, name) for module in (activations, relu_variants)
                         for name in module.__all__})


def arrays(dtype=np.float64, low=-1e4, high=1e4, max_dims=3):
    width = 32 if dtype == np.float32 else 64
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=max_dims, max_side=6),
                      elements=st.floats(low, high, width=width))


FLOAT = st.sampled_from([np.float64, np.float32])


# ------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.data(), FLOAT)
def test_sigmoid_is_symmetric(data, dtype):
    x = data.draw(arrays(dtype))
    atol = 1e-15 if dtype == np.float64 else 1e-7
    assert_allclose(act.sigmoid(-x), 1 - act.sigmoid(x), rtol=0, atol=atol)


@settings(max_examples=60, deadline=None)
@given(arrays(low=-5e3, high=5e3))
def test_tanh_is_a_rescaled_sigmoid(x):
    assert_allclose(np.tanh(x), 2 * act.sigmoid(2 * x) - 1, rtol=0, atol=1e-15)
    assert_allclose(act.tanh_grad(x), 4 * act.sigmoid_grad(2 * x), rtol=1e-12, atol=1e-300)


@settings(max_examples=60, deadline=None)
@given(st.data(), FLOAT)
def test_relu_is_idempotent(data, dtype):
    x = data.draw(arrays(dtype))
    assert_array_equal(act.relu(act.relu(x)), act.relu(x))


@settings(max_examples=60, deadline=None)
@given(arrays(), st.floats(0.0, 3.0))
def test_leaky_relu_and_prelu_split_x_into_its_two_sides(x, slope):
    expected = act.relu(x) - slope * act.relu(-x)
    assert_allclose(act.leaky_relu(x, slope), expected, rtol=1e-15, atol=0)
    assert_array_equal(act.prelu(x, np.array([slope])), act.leaky_relu(x, slope))


@settings(max_examples=60, deadline=None)
@given(arrays(), st.floats(0.0, 5.0))
def test_elu_is_bounded_below_by_minus_alpha_and_increasing(x, alpha):
    assert np.all(act.elu(x, alpha) >= -alpha)
    assert np.all(act.elu_grad(x, alpha) >= 0)


@settings(max_examples=60, deadline=None)
@given(arrays(low=-50, high=50), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 99))
def test_rrelu_training_lies_between_its_two_extreme_leaky_relus(x, a, b, seed):
    lower, upper = min(a, b), max(a, b)
    out = act.rrelu(x, lower, upper, training=True, rng=np.random.default_rng(seed))
    low, high = act.leaky_relu(x, lower), act.leaky_relu(x, upper)
    assert np.all(out <= np.maximum(low, high) + 1e-12) and np.all(out >= np.minimum(low, high)
                                                                   - 1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(low=-30, high=30))
def test_derivatives_agree_with_their_definitions(x):
    s = act.sigmoid(x)
    assert_allclose(act.sigmoid_grad(x), s * (1 - s), rtol=1e-6, atol=1e-15)


# -------------------------------------------------------------------- bad input


ONE_ARRAY = {
    "sigmoid": act.sigmoid, "sigmoid_grad": act.sigmoid_grad, "tanh_grad": act.tanh_grad,
    "relu": act.relu, "relu_grad": act.relu_grad, "leaky_relu": act.leaky_relu,
    "rrelu": act.rrelu, "elu": act.elu, "elu_grad": act.elu_grad,
    "prelu": lambda x: act.prelu(x, np.ones(1)),
}


@pytest.mark.parametrize("name", list(ONE_ARRAY))
def test_a_list_is_refused_with_a_conversion_hint(name):
    with pytest.raises(TypeError, match=r"x: expected a float32 or float64 np.ndarray, got list "
                                        r"of length 3; convert with np.asarray\(x"):
        ONE_ARRAY[name]([1.0, 2.0, 3.0])


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(list(ONE_ARRAY)),
       hnp.arrays(st.one_of(hnp.integer_dtypes(), hnp.boolean_dtypes(),
                            st.just(np.dtype(np.float16)), st.just(np.dtype(np.complex128))),
                  hnp.array_shapes(max_dims=2)))
def test_a_non_float_array_is_refused_naming_its_dtype(name, x):
    with pytest.raises(TypeError, match=f"x: expected dtype float32 or float64, got {x.dtype}"):
        ONE_ARRAY[name](x)


@settings(max_examples=40, deadline=None)
@given(st.floats(-10, 10), st.floats(-10, 10))
def test_rrelu_refuses_lower_above_upper(a, b):
    lower, upper = max(a, b), min(a, b)
    if lower == upper:
        act.rrelu(np.ones(2), lower, upper)
        return
    for training in (False, True):
        with pytest.raises(ValueError, match=rf"lower: expected lower <= upper \(= {upper!r}\), "
                                             rf"got {lower!r}"):
            act.rrelu(np.ones(2), lower, upper, training)


def test_rrelu_refuses_a_bad_generator_or_mode():
    with pytest.raises(TypeError, match=r"rng: expected a np.random.Generator .* got int 3"):
        act.rrelu(np.ones(2), training=True, rng=3)
    with pytest.raises(TypeError, match="rng: expected .* got RandomState"):
        act.rrelu(np.ones(2), training=True, rng=np.random.RandomState(0))
    with pytest.raises(TypeError, match="training: expected True or False, got str 'yes'"):
        act.rrelu(np.ones(2), training="yes")
    with pytest.raises(TypeError, match="upper: expected a real number, got str"):
        act.rrelu(np.ones(2), 0.1, "0.3")


@settings(max_examples=30, deadline=None)
@given(st.floats(-1e6, -1e-9), st.sampled_from([act.elu, act.elu_grad]))
def test_elu_refuses_a_negative_alpha(alpha, fn):
    with pytest.raises(ValueError, match=rf"alpha: expected a number >= 0, got {alpha!r}"):
        fn(np.ones(2), alpha)


def test_scalar_parameters_must_be_finite_real_numbers():
    with pytest.raises(TypeError, match="alpha: expected a real number, got str '1'"):
        act.elu(np.ones(2), "1")
    with pytest.raises(ValueError, match="negative_slope: expected a finite number, got nan"):
        act.leaky_relu(np.ones(2), float("nan"))
    with pytest.raises(TypeError, match="negative_slope: expected a real number, got bool"):
        act.leaky_relu(np.ones(2), True)


@pytest.mark.parametrize(("x_shape", "w_shape", "expected"), [
    ((2, 3, 4), (1, 3), r"weight: expected shape \(3,\) .* or \(1,\) .*, got \(1, 3\)"),
    ((2, 3, 4), (4,), r"weight: expected shape \(3,\) \(one slope per channel on axis 1 of x "
                      r"with shape \(2, 3, 4\)\) .*, got \(4,\)"),
    ((5,), (3,), r"weight: expected shape \(1,\) .*, got \(3,\)"),
    ((2, 3), (), r"weight: expected shape \(3,\) .*, got \(\)"),
])
def test_prelu_refuses_a_weight_of_the_wrong_shape(x_shape, w_shape, expected):
    x, weight = np.ones(x_shape), np.ones(w_shape)
    with pytest.raises(ValueError, match=expected):
        act.prelu(x, weight)
    with pytest.raises(ValueError, match=expected):
        act.prelu_backward(x, x, weight)


def test_prelu_refuses_mismatched_dtypes_and_dout_shapes():
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match="weight: expected dtype float64 like x, got float32"):
        act.prelu(x, np.ones(3, np.float32))
    with pytest.raises(TypeError, match="weight: expected a float32 or float64 np.ndarray, got "
                                        "list"):
        act.prelu(x, [0.25])
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3\) \(the shape of x\), "
                                         r"got \(3, 2\)"):
        act.prelu_backward(np.ones((3, 2)), x, np.ones(3))
    with pytest.raises(TypeError, match="dout: expected dtype float64 like x, got float32"):
        act.prelu_backward(np.ones((2, 3), np.float32), x, np.ones(3))
