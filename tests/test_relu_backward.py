"""``relu_backward(dout, x) -> dx`` (notebook 03): the reference against PyTorch's autograd,
its properties, and the check with each classic mistake named where it should be."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import course_lib.checks as checks
from course_lib.checks import CheckFailure
from course_lib.reference.activations import relu, relu_backward, relu_grad

finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)


def autograd_dx(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t).backward(torch.tensor(dout))
    return t.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_backward_equals_autograd_including_zero(dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.0, 3.0, 500), [0.0, -0.0, 1e-30, -1e-30, 1e4, -1e4]])
    dout = rng.normal(size=x.shape)
    x, dout = x.astype(dtype), dout.astype(dtype)
    dx = relu_backward(dout, x)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(dx, autograd_dx(dout, x))
    assert dx[500] == 0.0  # 0 at x == 0, as PyTorch


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=5), elements=finite),
       st.data())
def test_relu_backward_is_dout_times_the_slope_and_linear_in_dout(x, data):
    dout = data.draw(hnp.arrays(np.float64, x.shape, elements=finite))
    np.testing.assert_array_equal(relu_backward(dout, x), dout * relu_grad(x))
    np.testing.assert_allclose(relu_backward(2.5 * dout, x), 2.5 * relu_backward(dout, x))
    np.testing.assert_array_equal(relu_backward(np.ones_like(x), x), relu_grad(x))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-5, 5)), st.data())
def test_relu_backward_is_the_vector_jacobian_product_of_relu(x, data):
    x = np.where(np.abs(x) < 1e-3, 0.5, x)  # central differences need room around the kink
    dout = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-3, 3)))
    from course_lib.checks import numerical_gradient

    np.testing.assert_allclose(relu_backward(dout, x), numerical_gradient(relu, x, dout),
                               rtol=1e-6, atol=1e-8)


def test_relu_backward_refuses_a_dout_of_another_shape_or_dtype():
    with pytest.raises(ValueError, match=r"dout: expected shape \(3,\)"):
        relu_backward(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="dout: expected dtype float32 like x"):
        relu_backward(np.ones(3), np.ones(3, np.float32))


# ------------------------------------------------------------------ the check


def good(dout, x):
    return dout * (x > 0)


def good_where(dout, x):
    return np.where(x > 0, dout, 0)


@pytest.mark.parametrize("student", [good, good_where])
def test_correct_solutions_pass_visible_and_hidden(student, capsys):
    checks.check_relu_backward(student)
    checks.check_relu_backward(student, seed=3035, thorough=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("✔ relu_backward: all") for line in lines)


MISTAKES = [
    (lambda dout, x: (x > 0).astype(x.dtype), "ignores dout", "the chain rule multiplies"),
    (lambda dout, x: np.where(x >= 0, dout, 0.0), "1 \\* dout at x == 0", "use x > 0, not x >= 0"),
    (lambda dout, x: dout * (x >= 0), "1 \\* dout at x == 0", "use x > 0, not x >= 0"),
    (lambda dout, x: np.where(dout > 0, dout, 0.0), "masks with dout > 0 instead of x > 0",
     "the sign of dout does not matter"),
    (lambda dout, x: np.maximum(dout, 0), "masks with dout > 0 instead of x > 0",
     "the sign of dout does not matter"),
    (lambda dout, x: dout + 0.0, "returns dout unchanged", "no gradient passes there"),
    (lambda dout, x: dout * np.maximum(x, 0), "multiplies dout by relu\\(x\\)",
     "its slope .*not its value"),
    (lambda dout, x: np.where(x <= 0, dout, 0.0), "mask is inverted", "dx = dout where x > 0"),
]


@pytest.mark.parametrize(("student", "mistake", "hint"), MISTAKES, ids=range(len(MISTAKES)))
def test_each_classic_mistake_is_named_on_the_first_case(student, mistake, hint):
    import re

    with pytest.raises(CheckFailure) as failure:
        checks.check_relu_backward(student)
    message = str(failure.value)
    assert message.startswith("relu_backward failed on case 1:"), message
    assert re.search("known mistake: .*" + mistake, message), message
    assert re.search("hint: .*" + hint, message), message


def test_the_mistakes_give_distinct_results_on_the_first_case():
    """Each classic mistake is told apart from every other on the first case, so the one
    named is the one made."""
    from course_lib.checks.activations import _KINK_DOUT
    from course_lib.checks.elementwise import KINK_VALUES
    from course_lib.checks.mistakes.activations import RELU_BACKWARD_MISTAKES

    x, dout = np.array(KINK_VALUES), np.array(_KINK_DOUT)
    outputs = [m.fn(dout, x) for m in RELU_BACKWARD_MISTAKES] + [relu_backward(dout, x)]
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            assert not np.allclose(a, b)


def test_in_place_float64_and_numerical_problems_get_their_own_words():
    def in_place(dout, x):
        dout[x <= 0] = 0.0
        return dout

    def float64(dout, x):
        return np.where(x > 0, dout, np.float64(0.0)).astype(np.float64)

    def slope_two(dout, x):  # right everywhere the reference is compared except in size
        return np.where(x > 0, 2 * dout, 0.0)

    for student, words in [(in_place, "changed its input in place"),
                           (float64, "expected dtype float32"),
                           (slope_two, "dx differs from the expected values")]:
        with pytest.raises(CheckFailure, match=words):
            checks.check_relu_backward(student)


def test_thorough_mode_adds_cases(capsys):
    checks.check_relu_backward(good)
    checks.check_relu_backward(good, thorough=True)
    counts = [int(line.split("all ")[1].split(" cases")[0])
              for line in capsys.readouterr().out.splitlines()]
    assert counts[1] > counts[0]
