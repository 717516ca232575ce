"""The known mistakes of notebook 04 (Leaky ReLU, PReLU, RReLU, ELU), each named by its check.

What every activation check accepts and rejects is in test_checks_activations.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from activation_students import ALTERNATIVES

import course_lib.checks as checks
from course_lib.checks import CheckFailure


def failure_of(check, student, **kwargs) -> str:
    with pytest.raises(CheckFailure) as failure:
        check(student, **kwargs)
    return str(failure.value)


def assert_names(message: str, mistake: str, hint: str) -> None:
    assert "known mistake: " in message, message
    assert re.search(mistake, message), f"{mistake!r} not in:\n{message}"
    assert re.search("hint: .*" + hint, message), f"hint {hint!r} not in:\n{message}"


def channels(weight, x):
    return weight.reshape([1, -1] + [1] * (x.ndim - 2)) if x.ndim >= 2 else weight


# -------------------------------------------------------------------- leaky_relu


LEAKY = [
    (lambda x, negative_slope=0.01: np.where(x > 0, negative_slope * x, x),
     "condition inverted", "keep x where x > 0"),
    (lambda x, negative_slope=0.01: negative_slope * x,
     "negative_slope applied to the positive values too", "positive x passes through"),
    (lambda x, negative_slope=0.01: np.where(x > 0, x, 0.01 * x),
     "negative_slope ignored", "use the negative_slope argument"),
    (lambda x, negative_slope=0.01: np.maximum(x, negative_slope * x),
     "only right for slopes <= 1", "works for any slope"),
    (lambda x, negative_slope=0.01: np.maximum(x, 0), "plain relu", "not 0"),
]


@pytest.mark.parametrize(("student", "mistake", "hint"), LEAKY, ids=range(len(LEAKY)))
def test_leaky_relu_mistakes(student, mistake, hint):
    assert_names(failure_of(checks.check_leaky_relu, student), mistake, hint)


# ------------------------------------------------------------------------- prelu


def prelu_last_axis(x, weight):
    return np.where(x > 0, x, x * weight)


PRELU = [
    (prelu_last_axis, "weight broadcast on the last axis instead of the channel axis 1",
     "reshape weight to \\(1, C, 1, 1\\)"),
    (lambda x, weight: np.where(x > 0, x * channels(weight, x), x), "condition inverted",
     "keep x where x > 0"),
    (lambda x, weight: np.where(x > 0, x, x * weight[0]), "weight\\[0\\] used for every channel",
     "its own slope"),
    (lambda x, weight: np.maximum(x, channels(weight, x) * x),
     "np.maximum\\(x, weight \\* x\\) is only right for slopes <= 1.*unconstrained",
     "right for every slope"),
]


@pytest.mark.parametrize(("student", "mistake", "hint"), PRELU, ids=range(len(PRELU)))
def test_prelu_mistakes(student, mistake, hint):
    assert_names(failure_of(checks.check_prelu, student), mistake, hint)


def test_prelu_as_a_maximum_passes_every_slope_up_to_1_and_fails_only_above():
    """np.maximum(x, a * x) is PReLU for slopes <= 1 (negative ones too): the mistake is
    named on the case with slopes above 1, and only there."""
    def maximum(x, weight):
        return np.maximum(x, channels(weight, x) * x)

    x = np.random.default_rng(0).normal(size=(4, 3, 2))
    for weight in (np.array([0.25, -0.5, 1.0]), np.array([0.0, 0.9, -2.0])):
        np.testing.assert_array_equal(maximum(x, weight), ALTERNATIVES["prelu"](x, weight))
    message = failure_of(checks.check_prelu, maximum)
    assert "case 2: slopes above 1 and below 0" in message


def test_prelu_on_the_last_axis_fails_on_the_case_where_it_runs_without_error():
    message = failure_of(checks.check_prelu, prelu_last_axis)
    assert "W == C, so only axis 1 is right" in message


def prelu_backward_with(dweight_of=None, dx_of=None):
    """The correct prelu_backward with one of its two results replaced."""
    def student(dout, x, weight):
        dx, dweight = ALTERNATIVES["prelu_backward"](dout, x, weight)
        terms = np.where(x <= 0, x * dout, 0.0).astype(x.dtype)
        dweight = dweight if dweight_of is None else dweight_of(terms, dout, x, weight)
        dx = dx if dx_of is None else dx_of(dout, x, weight)
        return dx, dweight

    return student


def spatial(terms):
    return tuple(range(2, terms.ndim))


SUM_HINT = "dweight has the shape of weight: sum x \\* dout over the batch axis 0"
PRELU_BACKWARD = [
    (prelu_backward_with(lambda t, dout, x, w: t), "does not sum dweight over batch and space",
     SUM_HINT),
    (prelu_backward_with(lambda t, dout, x, w: t.sum(axis=0)), "summed over the batch axis only",
     SUM_HINT),
    (prelu_backward_with(lambda t, dout, x, w: t.sum(axis=spatial(t))),
     "does not sum dweight over batch and space|summed over the spatial axes only", SUM_HINT),
    (prelu_backward_with(lambda t, dout, x, w: t.sum(axis=(0, *spatial(t)), keepdims=True)),
     "summed with keepdims=True", SUM_HINT),
    (prelu_backward_with(lambda t, dout, x, w: np.array([t.sum()])), "summed over every axis",
     SUM_HINT),
    (prelu_backward_with(lambda t, dout, x, w: ALTERNATIVES["prelu_backward"](
        np.ones_like(x), x, w)[1] * 0 + np.where(x <= 0, dout, 0).sum(
        axis=(0, *spatial(t))).reshape(w.shape) if w.size > 1 or x.ndim < 2 else
        np.where(x <= 0, dout, 0).sum().reshape(1)),
     "forgets the factor x", "not dout"),
    (prelu_backward_with(dx_of=lambda dout, x, w: dout * (x > 0)), "dx ignores the weight",
     "dx = weight\\[c\\] \\* dout"),
    (prelu_backward_with(dx_of=lambda dout, x, w: np.where(x > 0, dout, dout * w)),
     "dx broadcasts weight on the last axis", "reshape weight"),
]


@pytest.mark.parametrize(("student", "mistake", "hint"), PRELU_BACKWARD,
                         ids=range(len(PRELU_BACKWARD)))
def test_prelu_backward_mistakes(student, mistake, hint):
    assert_names(failure_of(checks.check_prelu_backward, student), mistake, hint)


def hard_coded_axes(dout, x, weight):
    """Right for a 4-D x only: the batch and spatial axes written out as (0, 2, 3)."""
    dx, _ = ALTERNATIVES["prelu_backward"](dout, x, weight)
    terms = np.where(x <= 0, x * dout, 0.0)
    dweight = terms.sum().reshape(1) if weight.size == 1 else terms.sum(axis=(0, 2, 3))
    return dx, dweight.astype(x.dtype)


def test_prelu_backward_with_hard_coded_axes_is_named_on_a_2d_input():
    message = failure_of(checks.check_prelu_backward, hard_coded_axes)
    assert message.startswith("prelu_backward failed on case 1: x (N, C) = (2, 3)")
    assert "AxisError: axis 2 is out of bounds for array of dimension 2" in message
    assert_names(message, "hard-coded axis=\\(0, 2, 3\\)",
                 "axis=\\(0,\\) \\+ tuple\\(range\\(2, x.ndim\\)\\)")


def test_prelu_backward_hard_coded_axes_on_5d_input_is_named_by_its_shape():
    """A version that handles 2-D and 3-D x but hard-codes (0, 2, 3) for the rest fails on
    the hidden 5-D case, with the same name."""
    def from_4d_on(dout, x, weight):
        if x.ndim < 4:
            return ALTERNATIVES["prelu_backward"](dout, x, weight)
        return hard_coded_axes(dout, x, weight)

    checks.check_prelu_backward(from_4d_on)  # the visible cases have no 5-D x
    message = failure_of(checks.check_prelu_backward, from_4d_on, thorough=True)
    assert "(N, C, D, H, W)" in message
    assert_names(message, "hard-coded axis=\\(0, 2, 3\\)", "whatever x.ndim is")


def test_another_error_on_a_2d_input_is_not_called_hard_coded_axes():
    def raises(dout, x, weight):
        raise ValueError("axis 2 is out of bounds for array of dimension 2")

    def sums_a_missing_axis_1d(dout, x, weight):
        return ALTERNATIVES["prelu_backward"](dout, x, weight)[0], np.sum(x, axis=5)

    for student in (raises, sums_a_missing_axis_1d):
        message = failure_of(checks.check_prelu_backward, student)
        assert "known mistake" not in message and "hard-coded" not in message, message


def test_prelu_backward_returning_a_scalar_dweight_gets_the_summing_hint():
    message = failure_of(checks.check_prelu_backward,
                         prelu_backward_with(lambda t, dout, x, w: t.sum()))
    assert "dweight: expected a np.ndarray, got numpy.float64" in message
    assert re.search("hint: .*" + SUM_HINT, message)


def test_prelu_backward_reports_which_output_has_the_wrong_shape():
    message = failure_of(checks.check_prelu_backward,
                         prelu_backward_with(lambda t, dout, x, w: t.sum(axis=0)))
    assert re.search(r"dweight: expected shape \(3,\), got shape \(3, 4, 3\)", message)


def test_prelu_backward_with_dx_wrong_at_zero_fails_on_the_kink():
    # PyTorch's autograd gives dx = weight * dout at x == 0.
    student = prelu_backward_with(dx_of=lambda dout, x, w: np.where(
        x >= 0, dout, dout * channels(w, x)))
    assert "with zeros" in failure_of(checks.check_prelu_backward, student)


# ------------------------------------------------------------------------- rrelu


def rrelu_with(train_slopes, eval_slope=lambda lower, upper: (lower + upper) / 2):
    """An rrelu whose training slopes come from ``train_slopes(x, lower, upper, rng)``."""
    def student(x, lower=1 / 8, upper=1 / 3, training=False, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        slope = train_slopes(x, lower, upper, rng) if training else eval_slope(lower, upper)
        return np.where(x >= 0, x, x * slope).astype(x.dtype)

    return student


def per_element(x, lower, upper, rng):
    return rng.uniform(lower, upper, x.shape)


# The global np.random below is the students' mistake being tested.
RRELU = [
    (rrelu_with(per_element, eval_slope=lambda lo, up: np.random.uniform(lo, up)),  # noqa: NPY002
     "random slopes in evaluation mode", "rrelu is deterministic"),
    (rrelu_with(lambda x, lo, up, rng: (lo + up) / 2),
     "a fixed slope \\(lower \\+ upper\\) / 2 in training mode", "draw one slope per element"),
    (rrelu_with(lambda x, lo, up, rng: rng.uniform(lo, up)),
     "one slope for the whole array", "draw one slope per element"),
    (rrelu_with(lambda x, lo, up, rng: np.random.uniform(lo, up, x.shape)),  # noqa: NPY002
     "not drawn from the rng argument", "from the rng argument"),
    (rrelu_with(per_element, eval_slope=lambda lo, up: lo), "uses lower instead of",
     "mean slope"),
    (rrelu_with(per_element, eval_slope=lambda lo, up: up), "uses upper instead of",
     "mean slope"),
    (rrelu_with(per_element, eval_slope=lambda lo, up: (up - lo) / 2),
     "\\(upper - lower\\) / 2", "mean slope"),
]


@pytest.mark.parametrize(("student", "mistake", "hint"), RRELU, ids=range(len(RRELU)))
def test_rrelu_mistakes(student, mistake, hint):
    assert_names(failure_of(checks.check_rrelu, student), mistake, hint)


@pytest.mark.parametrize(("slopes", "problem"), [
    (lambda x, lo, up, rng: rng.uniform(0.0, 1.0, x.shape), "must lie in \\[lower, upper\\]"),
    (lambda x, lo, up, rng: rng.choice([lo, up], x.shape), "uniform in \\[lower, upper\\]"),
    (lambda x, lo, up, rng: rng.uniform(lo, (lo + up) / 2, x.shape), "should be uniform"),
    (lambda x, lo, up, rng: rng.uniform(1 / 8, 1 / 3, x.shape), "should be uniform"),
], ids=["unit interval", "two values", "lower half", "default bounds"])
def test_rrelu_training_slopes_must_be_uniform_in_the_bounds(slopes, problem):
    message = failure_of(checks.check_rrelu, rrelu_with(slopes))
    assert re.search(problem, message), message
    assert "training mode" in message


def test_rrelu_training_must_keep_positives_and_accept_rng_none():
    def scales_positives(x, lower=1 / 8, upper=1 / 3, training=False, rng=None):
        out = rrelu_with(per_element)(x, lower, upper, training, rng)
        return out * 1.5 if training else out

    assert "x >= 0 must pass through unchanged" in failure_of(checks.check_rrelu,
                                                               scales_positives)

    def needs_rng(x, lower=1 / 8, upper=1 / 3, training=False, rng=None):
        slope = rng.uniform(lower, upper, x.shape) if training else (lower + upper) / 2
        return np.where(x >= 0, x, x * slope).astype(x.dtype)

    assert "raised AttributeError" in failure_of(checks.check_rrelu, needs_rng)


def test_rrelu_training_that_ignores_the_seed_is_caught():
    def same_every_seed(x, lower=1 / 8, upper=1 / 3, training=False, rng=None):
        return rrelu_with(per_element)(x, lower, upper, training, np.random.default_rng(0))

    assert "two different seeds gave the same output" in failure_of(checks.check_rrelu,
                                                                    same_every_seed)


# --------------------------------------------------------------------------- elu


ELU = [
    (lambda x, alpha=1.0: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), "elu without alpha",
     "multiply the negative branch by alpha"),
    (lambda x, alpha=1.0: np.where(x > 0, x, alpha * (np.exp(x) - 1)),
     "np.exp on the positive values too", "np.expm1\\(np.minimum\\(x, 0\\)\\)"),
    (lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.exp(np.minimum(x, 0))),
     "the - 1 is missing", "elu\\(0\\) = 0"),
    (lambda x, alpha=1.0: alpha * ALTERNATIVES["elu"](x), "alpha applied to the positive values",
     "passes through unchanged"),
]


@pytest.mark.parametrize(("student", "mistake", "hint"), ELU, ids=range(len(ELU)))
def test_elu_mistakes(student, mistake, hint):
    assert_names(failure_of(checks.check_elu, student), mistake, hint)


def test_elu_overflow_is_reported_with_the_warning(capfd):
    message = failure_of(checks.check_elu, ELU[1][0])
    assert "RuntimeWarning: overflow encountered in exp" in message
    assert capfd.readouterr().err == ""


ELU_GRAD = [
    (lambda x, alpha=1.0: np.where(x > 0, 1, np.exp(np.minimum(x, 0))).astype(x.dtype),
     "elu_grad missing alpha", "is alpha \\* exp\\(x\\)"),
    (lambda x, alpha=1.0: np.where(x > 0, 1, alpha * np.exp(x)).astype(x.dtype),
     "np.exp on the positive values too", "np.exp\\(np.minimum\\(x, 0\\)\\)"),
    (lambda x, alpha=1.0: np.where(x >= 0, 1, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype),
     "elu_grad is 1 at x == 0", "x == 0 gets alpha"),
    (lambda x, alpha=1.0: ALTERNATIVES["elu"](x, alpha), "returns elu\\(x\\)", "differentiate"),
]


@pytest.mark.parametrize(("student", "mistake", "hint"), ELU_GRAD, ids=range(len(ELU_GRAD)))
def test_elu_grad_mistakes(student, mistake, hint):
    assert_names(failure_of(checks.check_elu_grad, student), mistake, hint)


def test_elu_grad_is_checked_numerically_with_alpha():
    def elu_grad(x, alpha=1.0):  # wrong only where the numerical cases look
        exact = ALTERNATIVES["elu_grad"](x, alpha)
        return exact * 1.01 if x.shape == (12,) and alpha != 1.0 else exact

    message = failure_of(checks.check_elu_grad, elu_grad)
    assert "numerical gradient check" in message and "input alpha: 1.7" in message
