"""The notebook-05 checks: they pass right answers (written as students write them),
name each classic mistake, and refuse fakes, wrong types, delegation and mutation."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import course_lib
from course_lib.checks import (
    CheckFailure,
    check_batch_norm,
    check_batch_norm_backward,
    check_batch_norm_backward_graph,
    check_fold_batch_norm,
    check_group_norm,
    check_instance_norm,
    check_layer_norm,
    check_rms_norm,
)
from course_lib.checks import norms as norm_checks
from course_lib.reference import norms

CHECKS = {
    "batch_norm": check_batch_norm,
    "batch_norm_backward": check_batch_norm_backward,
    "batch_norm_backward_graph": check_batch_norm_backward_graph,
    "layer_norm": check_layer_norm,
    "instance_norm": check_instance_norm,
    "group_norm": check_group_norm,
    "rms_norm": check_rms_norm,
    "fold_batch_norm": check_fold_batch_norm,
}

# ---------------------------------------------------------------- right answers, student style


def _axes(x):
    return (0, *range(2, x.ndim))


def _col(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def student_batch_norm(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1,
                       eps=1e-5, *, bug=None):
    axes, m = _axes(x), x.size // x.shape[1]
    if training or bug in ("eval uses batch", "ignores training"):
        mean = x.mean(axis=axes)
        var = x.var(axis=axes, ddof=1 if bug == "unbiased" else 0)
        if bug == "N only":
            m = x.shape[0]
        update_var = var if bug == "biased update" else x.var(axis=axes) * m / (m - 1)
        if bug == "swapped momentum":
            new_mean = momentum * running_mean + (1 - momentum) * mean
            new_var = momentum * running_var + (1 - momentum) * update_var
        elif bug == "in place":
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * update_var
            new_mean, new_var = running_mean, running_var
        else:
            new_mean = (1 - momentum) * running_mean + momentum * mean
            new_var = (1 - momentum) * running_var + momentum * update_var
        if bug == "eval uses batch" and not training:
            new_mean, new_var = running_mean.copy(), running_var.copy()
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    std = np.sqrt(_col(var, x.ndim)) + eps if bug == "eps outside" else np.sqrt(
        _col(var, x.ndim) + eps)
    out = _col(gamma, x.ndim) * (x - _col(mean, x.ndim)) / std + _col(beta, x.ndim)
    if bug == "keepdims stats":
        new_mean, new_var = _col(new_mean, x.ndim), _col(new_var, x.ndim)
    if bug == "float64 out":
        out = out.astype(np.float64)
    return out, new_mean, new_var


def student_batch_norm_backward(dout, x, gamma, eps=1e-5, *, bug=None):
    axes = _axes(x)
    m = x.shape[0] if bug == "N only" else x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    x_hat = (x - mu) / np.sqrt(var + eps)
    dx_hat = dout * _col(gamma, x.ndim)
    if bug == "no mean terms":
        dx = dx_hat / np.sqrt(var + eps)
    else:
        # The CS231n staged derivation, through var and mu.
        dvar = np.sum(dx_hat * (x - mu), axis=axes, keepdims=True) * -0.5 * (var + eps) ** -1.5
        dmu = np.sum(-dx_hat / np.sqrt(var + eps), axis=axes, keepdims=True)
        if bug != "no variance term":
            dmu = dmu + dvar * np.mean(-2 * (x - mu), axis=axes, keepdims=True)
        else:
            dvar = 0 * dvar
        dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
    if bug == "times m":
        dx = dx * x.size / x.shape[1]
    dgamma = np.sum(dout * (x if bug == "dgamma from x" else x_hat), axis=axes)
    dbeta = np.sum(dout, axis=axes)
    if bug == "params over batch only":
        dgamma, dbeta = np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)
    if bug == "dgamma over batch only":
        dgamma = np.sum(dout * x_hat, axis=0)
    return dx, dgamma, dbeta


def student_batch_norm_backward_graph(dout, x, gamma, eps=1e-5, *, bug=None):
    """The backward pass stage by stage, as notebook 05's graph draws it."""
    axes, m = _axes(x), x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = np.sum(xc**2, axis=axes, keepdims=True) / (m - 1 if bug == "unbiased" else m)
    s = np.sqrt(var + eps)
    r = 1 / s
    x_hat = xc * r
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * (x if bug == "dgamma from x" else x_hat)).sum(axis=axes)
    dx_hat = dout * _col(gamma, x.ndim)
    dr = dx_hat * xc if bug == "dr not summed" else np.sum(dx_hat * xc, axis=axes, keepdims=True)
    ds = dr / s**2 if bug == "reciprocal sign" else -dr / s**2
    dv = ds / s if bug == "no half" else 0.5 * ds / s
    two = 1 if bug == "no 2" else 2
    per = 1 if bug == "var without 1/m" else m
    if bug == "no variance path":
        dxc = dx_hat * r
    elif bug == "overwrite":
        dxc = dv * two * xc / per
    else:
        dxc = dx_hat * r + dv * two * xc / per
    dmu = np.sum(dxc, axis=axes, keepdims=True) * (1 if bug == "dmu sign" else -1)
    if bug == "no mean path":
        dx = dxc
    elif bug == "dmu without 1/m":
        dx = dxc + dmu
    else:
        dx = dxc + dmu / m
    return dx, dgamma, dbeta


def student_rms_norm(x, gamma, eps=None, *, bug=None):
    if eps is None or bug == "ignores eps":
        eps = {"float64 eps": np.finfo(np.float64).eps, "eps 1e-5": 1e-5}.get(
            bug, np.finfo(x.dtype).eps)
    axes = {"batch axis": (0,), "last axis": (-1,)}.get(bug, tuple(range(1, x.ndim)))
    if bug == "centred":
        x = x - x.mean(axis=axes, keepdims=True)
    squares = np.sum(x**2, axis=axes, keepdims=True) if bug == "sum" else np.mean(
        x**2, axis=axes, keepdims=True)
    rms = np.sqrt(squares) + eps if bug == "eps outside" else np.sqrt(squares + eps)
    return (x / rms * gamma).astype(x.dtype)


def student_layer_norm(x, gamma, beta, eps=1e-5, *, bug=None):
    axes = {"batch axis": (0,), "last axis": (-1,),
            "per channel": tuple(range(2, x.ndim))}.get(bug, tuple(range(1, x.ndim)))
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.var(x, axis=axes, keepdims=True, ddof=1 if bug == "unbiased" else 0)
    std = np.sqrt(var) + eps if bug == "eps outside" else np.sqrt(var + eps)
    return gamma * (x - mean) / std + beta


def student_instance_norm(x, gamma, beta, eps=1e-5, *, bug=None):
    axes = {"batch norm": (0, *range(2, x.ndim)),
            "layer norm": tuple(range(1, x.ndim))}.get(bug, tuple(range(2, x.ndim)))
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.var(x, axis=axes, keepdims=True, ddof=1 if bug == "unbiased" else 0)
    std = np.sqrt(var) + eps if bug == "eps outside" else np.sqrt(var + eps)
    return _col(gamma, x.ndim) * (x - mean) / std + _col(beta, x.ndim)


def student_group_norm(x, num_groups, gamma, beta, eps=1e-5, *, bug=None):
    n, c = x.shape[:2]
    groups = {"ignores groups (IN)": c, "ignores groups (LN)": 1}.get(bug, num_groups)
    if bug == "channels last":
        moved = np.transpose(x, (0, *range(2, x.ndim), 1))
        g = moved.reshape(n, groups, -1)
        g = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps)
        x_hat = np.transpose(g.reshape(moved.shape), (0, x.ndim - 1, *range(1, x.ndim - 1)))
    elif bug == "interleaved":
        g = x.reshape(n, c // groups, groups, -1)
        mean = g.mean(axis=(1, 3), keepdims=True)
        x_hat = ((g - mean) / np.sqrt(g.var(axis=(1, 3), keepdims=True) + eps)).reshape(x.shape)
    else:
        g = x.reshape(n, groups, -1)
        var = g.var(axis=2, keepdims=True, ddof=1 if bug == "unbiased" else 0)
        std = np.sqrt(var) + eps if bug == "eps outside" else np.sqrt(var + eps)
        x_hat = ((g - g.mean(axis=2, keepdims=True)) / std).reshape(x.shape)
    return _col(gamma, x.ndim) * x_hat + _col(beta, x.ndim)


def student_fold_batch_norm(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5, *,
                            bug=None):
    if bug == "no sqrt":
        scale = gamma / (running_var + eps)
    elif bug == "no eps":
        scale = gamma / np.sqrt(running_var)
    else:
        scale = gamma / np.sqrt(running_var + eps)
    if bug == "input axis":
        new_weight = weight * scale
    else:
        new_weight = weight * scale.reshape(-1, *([1] * (weight.ndim - 1)))
    if bias is None:
        if bug == "none bias":
            return new_weight, None
        bias = np.zeros_like(beta)
    if bug == "mean unscaled":
        return new_weight, bias * scale - running_mean + beta
    if bug == "mean ignored":
        return new_weight, bias * scale + beta
    return new_weight, (bias - running_mean) * scale + beta


STUDENTS = {
    "batch_norm": student_batch_norm,
    "batch_norm_backward": student_batch_norm_backward,
    "batch_norm_backward_graph": student_batch_norm_backward_graph,
    "layer_norm": student_layer_norm,
    "rms_norm": student_rms_norm,
    "instance_norm": student_instance_norm,
    "group_norm": student_group_norm,
    "fold_batch_norm": student_fold_batch_norm,
}


def _fails(check, fn, capfd, **kwargs) -> str:
    """Run a check that must fail; return its message, and make sure stderr stayed empty."""
    with pytest.raises(CheckFailure) as failure:
        check(fn, **kwargs)
    assert capfd.readouterr().err == ""
    return str(failure.value)


# ---------------------------------------------------------------- right answers pass


@pytest.mark.parametrize("name", list(CHECKS))
@pytest.mark.parametrize(("seed", "thorough"), [(0, False), (1, True), (7, True)])
def test_right_answers_pass_quietly(name, seed, thorough, capfd):
    CHECKS[name](STUDENTS[name], seed=seed, thorough=thorough)
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out.startswith(f"✔ {name}: all ") and captured.out.count("\n") == 1


@pytest.fixture(scope="module")
def reference_copy():
    """course_lib.reference.norms loaded as if it were the student's own module.

    The checks refuse calls into course_lib, so the reference itself would be
    flagged as delegation; a copy under another module name (with its own copy of the
    argument checks) is the same code.
    """
    from activation_students import student_copy

    return student_copy("reference.norms")


@pytest.mark.parametrize("name", list(CHECKS))
def test_the_reference_passes(name, reference_copy, capfd):
    CHECKS[name](getattr(reference_copy, name), thorough=True)
    assert capfd.readouterr().err == ""


def test_thorough_adds_cases(capfd):
    check_group_norm(student_group_norm)
    quick = capfd.readouterr().out
    check_group_norm(student_group_norm, thorough=True)
    thorough = capfd.readouterr().out
    count = [int(text.split("all ")[1].split()[0]) for text in (quick, thorough)]
    assert count[1] > count[0] >= 10


def test_every_case_has_a_hint():
    rng = np.random.default_rng(0)
    builders = (norm_checks._batch_norm_cases, norm_checks._layer_norm_cases,
                norm_checks._instance_norm_cases, norm_checks._group_norm_cases,
                norm_checks._rms_norm_cases)
    for build in builders:
        for case in build(rng, True):
            assert len(case.hint) > 15, case.description


# ---------------------------------------------------------------- classic mistakes are named

MISTAKES = [
    ("batch_norm", "unbiased", "normalized with the unbiased variance"),
    ("batch_norm", "swapped momentum", "0.9-momentum convention"),
    ("batch_norm", "biased update", "running variance is updated with the biased"),
    ("batch_norm", "N only", "unbiased correction counts only the batch"),
    ("batch_norm", "eval uses batch", "evaluation mode normalizes with the batch's statistics"),
    ("batch_norm", "ignores training", "training=False is ignored"),
    ("batch_norm", "eps outside", "eps is added to the standard deviation"),
    ("batch_norm_backward", "times m", "dx is off by a factor of m"),
    ("batch_norm_backward", "N only", "dx divides by N instead of m = N * H * W"),
    ("batch_norm_backward", "no mean terms", "dx misses the mean-of-dx_hat terms"),
    ("batch_norm_backward", "no variance term", "dx misses the variance term"),
    ("batch_norm_backward", "params over batch only", "summed over the batch axis only"),
    ("batch_norm_backward", "dgamma from x", "dgamma uses x instead of the normalized x_hat"),
    ("batch_norm_backward_graph", "dmu without 1/m", "the mean stage: dx gets dmu, not dmu / m"),
    ("batch_norm_backward_graph", "no mean path", "the mean stage is missing"),
    ("batch_norm_backward_graph", "dmu sign", "the mean stage: dmu = +sum(dxc)"),
    ("batch_norm_backward_graph", "no variance path", "the variance path is missing"),
    ("batch_norm_backward_graph", "overwrite", "the variance path overwrites dxc"),
    ("batch_norm_backward_graph", "no 2", "the factor 2 of d(x_c**2) = 2 x_c is missing"),
    ("batch_norm_backward_graph", "var without 1/m", "the 1 / m of the mean is missing"),
    ("batch_norm_backward_graph", "no half", "the square-root stage"),
    ("batch_norm_backward_graph", "reciprocal sign", "the reciprocal stage: ds = dr / s**2"),
    ("batch_norm_backward_graph", "dr not summed", "dr is not summed over the channel"),
    ("batch_norm_backward_graph", "unbiased", "the forward pass uses the unbiased variance"),
    ("batch_norm_backward_graph", "dgamma from x", "dgamma uses x instead of the normalized"),
    ("layer_norm", "batch axis", "layer norm over the batch axis"),
    ("layer_norm", "last axis", "normalized over the last axis only"),
    ("layer_norm", "per channel", "that is instance norm"),
    ("layer_norm", "unbiased", "unbiased variance"),
    ("layer_norm", "eps outside", "eps is added to the standard deviation"),
    ("instance_norm", "batch norm", "over the batch as well (N, H, W): that is batch norm"),
    ("instance_norm", "layer norm", "(C, H, W): that is layer norm"),
    ("instance_norm", "unbiased", "unbiased variance"),
    ("instance_norm", "eps outside", "eps is added to the standard deviation"),
    ("group_norm", "channels last", "groups cut after moving the channels last"),
    ("group_norm", "interleaved", "groups interleaved"),
    ("group_norm", "ignores groups (IN)", "every channel normalized on its own"),
    ("group_norm", "ignores groups (LN)", "all channels normalized together"),
    ("group_norm", "unbiased", "unbiased variance"),
    ("group_norm", "eps outside", "eps is added to the standard deviation"),
    ("rms_norm", "centred", "the mean is subtracted first: that is layer norm"),
    ("rms_norm", "sum", "the sum of squares instead of their mean"),
    ("rms_norm", "batch axis", "normalized over the batch axis"),
    ("rms_norm", "last axis", "normalized over the last axis only"),
    ("rms_norm", "float64 eps", "the default eps is float64's machine epsilon"),
    ("rms_norm", "eps 1e-5", "the default eps is layer norm's 1e-5"),
    ("rms_norm", "ignores eps", "the eps argument is ignored"),
    ("rms_norm", "eps outside", "eps is added to the root mean square"),
    ("fold_batch_norm", "no sqrt", "divides by the variance, not the standard deviation"),
    ("fold_batch_norm", "no eps", "eps is left out of the scale"),
    ("fold_batch_norm", "mean unscaled", "the running mean is not scaled"),
    ("fold_batch_norm", "mean ignored", "the running mean is not subtracted"),
    ("fold_batch_norm", "input axis", "scaled along its input axis"),
]


@pytest.mark.parametrize(("name", "bug", "named"), MISTAKES,
                         ids=[f"{name}-{bug}" for name, bug, _ in MISTAKES])
def test_classic_mistake_is_named(name, bug, named, capfd):
    message = _fails(CHECKS[name], partial(STUDENTS[name], bug=bug), capfd)
    assert "this is a known mistake: " in message
    assert named in message
    assert "hint: " in message


def test_dgamma_not_summed_over_space_gets_the_hint(capfd):
    message = _fails(check_batch_norm_backward,
                     partial(student_batch_norm_backward, bug="dgamma over batch only"), capfd)
    assert "dgamma: expected shape (3,), got shape (3, 3, 3)" in message
    assert "sum dout * x_hat and dout over N, H and W" in message


def test_one_pass_variance_fails_on_large_offsets_without_stderr(capfd):
    def one_pass_layer_norm(x, gamma, beta, eps=1e-5):
        axes = tuple(range(1, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        var = (x * x).mean(axis=axes, keepdims=True) - mean * mean
        return gamma * (x - mean) / np.sqrt(var + eps) + beta

    message = _fails(check_layer_norm, one_pass_layer_norm, capfd)
    assert "near 1e4" in message
    assert "compute the variance in two passes" in message


def test_a_warning_is_reported_in_the_message_not_on_stderr(capfd):
    def debug_line_left_in(x, gamma, beta, eps=1e-5):
        out = student_layer_norm(x, gamma, beta, eps)
        spread = 1.0 / x.var(axis=tuple(range(1, x.ndim))).min()  # noqa: F841 (a leftover)
        return out

    message = _fails(check_layer_norm, debug_line_left_in, capfd)
    assert "sample 1 is constant (variance 0)" in message
    assert "your function emitted: RuntimeWarning: divide by zero" in message


def test_leaving_out_eps_fails(capfd):
    def no_eps(x, num_groups, gamma, beta, eps=1e-5):
        return student_group_norm(x, num_groups, gamma, beta, eps=1e-300)

    message = _fails(check_group_norm, no_eps, capfd)
    assert "group_norm failed on case 1" in message
    assert "output differs from the expected values" in message
    assert "max relative error" in message


# ---------------------------------------------------------------- fakes, types, purity


def test_running_statistics_changed_in_place_are_named(capfd):
    message = _fails(check_batch_norm, partial(student_batch_norm, bug="in place"), capfd)
    assert "changed running_mean, running_var in place" in message
    assert "instead of running_mean *= ..." in message


def test_an_object_that_equals_everything_is_refused(capfd):
    class EqualsAnything:
        def __eq__(self, other):
            return True

        __hash__ = None

    message = _fails(check_layer_norm, lambda x, gamma, beta, eps=1e-5: EqualsAnything(), capfd)
    assert "expected a np.ndarray, got" in message and "EqualsAnything" in message


def test_float64_for_float32_input_is_refused(capfd):
    message = _fails(check_batch_norm, partial(student_batch_norm, bug="float64 out"), capfd)
    assert "out: expected dtype float32 (the input's dtype), got float64" in message


def test_running_statistics_of_the_wrong_shape_are_refused(capfd):
    message = _fails(check_batch_norm, partial(student_batch_norm, bug="keepdims stats"), capfd)
    assert "new_running_mean: expected shape (3,), got shape (1, 3)" in message


def test_a_single_array_instead_of_the_tuple_is_refused(capfd):
    message = _fails(check_batch_norm, lambda *args, **kwargs: student_batch_norm(*args,
                                                                                  **kwargs)[0],
                     capfd)
    assert "expected a tuple (out, new_running_mean, new_running_var), got np.ndarray" in message


def test_bias_none_returned_as_none_gets_the_hint(capfd):
    message = _fails(check_fold_batch_norm, partial(student_fold_batch_norm, bug="none bias"),
                     capfd)
    assert "folded_bias: expected a np.ndarray, got NoneType" in message
    assert "with bias=None the layer's bias is 0" in message


def test_delegating_to_torch_is_refused(capfd):
    def torch_group_norm(x, num_groups, gamma, beta, eps=1e-5):
        out = F.group_norm(torch.from_numpy(x), num_groups, torch.from_numpy(gamma),
                           torch.from_numpy(beta), eps)
        return out.numpy()

    message = _fails(check_group_norm, torch_group_norm, capfd)
    assert "your function called torch" in message


def test_delegating_to_course_lib_is_refused(capfd):
    def wrapper(x, gamma, beta, eps=1e-5):
        return course_lib.reference.norms.instance_norm(x, gamma, beta, eps)

    message = _fails(check_instance_norm, wrapper, capfd)
    assert "your function called course_lib.reference.norms" in message


def test_a_crash_is_reported_with_the_case(capfd):
    def crashes(dout, x, gamma, eps=1e-5):
        raise IndexError("tuple index out of range")

    message = _fails(check_batch_norm_backward, crashes, capfd)
    assert "failed on case 1" in message
    assert "your function raised IndexError: tuple index out of range (in crashes" in message


def test_passing_the_result_instead_of_the_function_is_refused(capfd):
    x = np.ones((2, 3))
    message = _fails(check_layer_norm, student_layer_norm(x, np.ones(3), np.zeros(3)), capfd)
    assert "Pass the function itself: check_layer_norm(layer_norm)" in message


def test_numerical_gradient_catches_what_the_reference_would_miss(monkeypatch, capfd):
    """If the reference backward were wrong, the central differences would still object."""
    wrong = partial(student_batch_norm_backward, bug="no variance term")
    monkeypatch.setattr(norms, "batch_norm_backward", wrong)
    message = _fails(check_batch_norm_backward, wrong, capfd)
    assert "against central-difference gradients of batch_norm" in message
    assert "dx differs from the expected values" in message
