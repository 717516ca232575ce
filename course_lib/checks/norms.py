"""Checks for notebook 05: batch, layer, instance, group and RMS norm, and BN folding.

Each ``check_*(student_fn, *, seed=0, thorough=False)`` runs deterministic cases
(2-D and 4-D inputs, float64 and float32, non-trivial ``gamma`` and ``beta``, a
constant channel where only ``eps`` prevents 0 / 0, offsets of 1e4 that break the
one-pass variance formula) against :mod:`course_lib.reference.norms`, recognises the
classic mistakes of :mod:`course_lib.checks.norm_mistakes`, and with
``thorough=True`` (hidden tests) adds random shapes and seeds. Backward passes
are also compared with central-difference gradients in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.checks import answers
from course_lib.checks.core import Checker, numerical_gradient
from course_lib.checks.mistakes.norms import (
    BATCH_NORM_BACKWARD_GRAPH_MISTAKES,
    BATCH_NORM_BACKWARD_MISTAKES,
    BATCH_NORM_MISTAKES,
    FOLD_BATCH_NORM_MISTAKES,
    GROUP_NORM_MISTAKES,
    INSTANCE_NORM_MISTAKES,
    LAYER_NORM_MISTAKES,
    RMS_NORM_MISTAKES,
)

__all__ = [
    "check_batch_norm",
    "check_batch_norm_backward",
    "check_batch_norm_backward_graph",
    "check_fold_batch_norm",
    "check_group_norm",
    "check_instance_norm",
    "check_layer_norm",
    "check_rms_norm",
]

#: float32 inputs near 1e4 carry only ~1e-3 absolute precision, so a correct float32
#: answer can differ from the float64-accurate reference by ~1e-3 there. One-pass
#: variance (E[x^2] - E[x]^2) is off by whole units there, so it still fails.
_FLOAT32_OFFSET_TOL = {"rtol": 1e-3, "atol": 3e-2}
#: Inputs near 1e4 with std 1e-2 keep ~10 digits after centring; dx then cancels
#: terms of size 1 / std = 100 down to ~0.1, which costs a correct answer ~1e-7.
_FLOAT64_OFFSET_TOL = {"rtol": 1e-6, "atol": 1e-7}
#: Central differences with h = 1e-6 in float64 are good to ~1e-8.
_NUMERICAL_TOL = {"rtol": 1e-5, "atol": 1e-6}

_EPS_HINT = (
    "add eps to the variance inside the square root, (x - mean) / np.sqrt(var + eps): "
    "it keeps a constant channel finite (0 / 0 otherwise)"
)
_TWO_PASS_HINT = (
    "compute the variance in two passes, np.mean((x - mean) ** 2); "
    "np.mean(x ** 2) - mean ** 2 loses all precision when |mean| >> std"
)

norms = answers.reference("norms")  # the right answers (see checks/answers.py)


@dataclass
class _Case:
    description: str
    args: tuple
    hint: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    tol: dict[str, float] = field(default_factory=dict)


def _run(checker: Checker, cases: Sequence[_Case], arg_names: Sequence[str]) -> None:
    """Run the cases, first making sure the function leaves its arguments alone."""
    _require_pure(checker, cases[0], arg_names)
    for case in cases:
        worst_so_far = checker.worst_error
        checker.case(case.description, *case.args, hint=case.hint, **case.tol, **case.kwargs)
        if case.tol:
            # Loose-tolerance cases (float32 near 1e4) have large *relative* errors on
            # outputs near 0; leave them out of the summary the student reads.
            checker.worst_error = worst_so_far


def _require_pure(checker: Checker, case: _Case, arg_names: Sequence[str]) -> None:
    """Fail with the argument's name if the function changes one in place."""
    run = checker.run_student(case.args, case.kwargs)
    if not run.mutated:
        return
    names = [arg_names[int(m.split()[1]) - 1] if m.startswith("argument ") else m
             for m in run.mutated]
    checker.fail(
        case.description,
        f"your function changed {', '.join(names)} in place. The exercise returns new "
        "arrays and leaves its inputs untouched.",
        args=case.args,
        kwargs=case.kwargs,
        hint="build new arrays, e.g. new_running_mean = (1 - momentum) * running_mean + "
        "momentum * mean, instead of running_mean *= ... or running_mean[:] = ...",
    )


# ---------------------------------------------------------------- inputs


def _spread(rng: np.random.Generator, shape: tuple[int, ...], dtype: type,
            mean_axes: Sequence[int], offset: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Normal data whose mean and scale differ along ``mean_axes``.

    Different statistics per channel (or sample) make normalizing over the wrong
    axes visible in the output.
    """
    stat_shape = tuple(n if a in mean_axes else 1 for a, n in enumerate(shape))
    spread = 2.0 if offset == 0 else 1e-3 * abs(offset)
    means = offset + rng.uniform(-spread, spread, stat_shape)
    scales = std * rng.uniform(0.5, 2.0, stat_shape)
    return (means + scales * rng.standard_normal(shape)).astype(dtype)


def _affine(rng: np.random.Generator, shape: tuple[int, ...], dtype: type):
    """Non-trivial ``gamma`` (both signs, sizes 0.5 to 2) and ``beta``."""
    gamma = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return gamma.astype(dtype), rng.normal(size=shape).astype(dtype)


def _unit_affine(shape: tuple[int, ...], dtype: type):
    return np.ones(shape, dtype), np.zeros(shape, dtype)


def _random_shape(rng: np.random.Generator, ndim: int, min_batch: int = 2,
                  values_per_statistic: Callable[[tuple[int, ...]], int] | None = None,
                  ) -> tuple[int, ...]:
    """A small random (N, C, ...) shape.

    With ``values_per_statistic``, redraw until each mean and variance pools at least
    4 values: over 2 or 3 values a float32 answer loses digits to cancellation (the
    gradient of a pair is nearly 0), which would fail correct float32 code.
    """
    while True:
        shape = (int(rng.integers(min_batch, 6)), int(rng.integers(1, 6)),
                 *(int(rng.integers(2, 5)) for _ in range(ndim - 2)))
        if values_per_statistic is None or values_per_statistic(shape) >= 4:
            return shape


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


# ---------------------------------------------------------------- batch norm

_BN_ARGS = ("x", "gamma", "beta", "running_mean", "running_var")
_BN_AXES_HINT = (
    "for (N, C, H, W) input each channel has one mean and one variance, over N, H and W: "
    "axis=(0, 2, 3), keepdims=True; the running statistics have shape (C,)"
)
_BN_TRAIN_HINT = (
    "training: normalize with the batch mean and biased variance over every axis but 1; "
    "new running stats = (1 - momentum) * old + momentum * batch stat, with the unbiased "
    "variance for running_var"
)


def _bn_stats(rng: np.random.Generator, channels: int, dtype: type, far: bool = False):
    mean = rng.normal(size=channels) + (5.0 if far else 0.0)
    var = rng.uniform(0.5, 2.0, channels) * (9.0 if far else 1.0)
    return mean.astype(dtype), var.astype(dtype)


def _bn_args(rng, shape, dtype, *, affine=True, offset=0.0, std=1.0, far=False):
    x = _spread(rng, shape, dtype, (1,), offset, std)
    gamma, beta = _affine(rng, (shape[1],), dtype) if affine else _unit_affine((shape[1],), dtype)
    return (x, gamma, beta, *_bn_stats(rng, shape[1], dtype, far))


def _batch_norm_cases(rng: np.random.Generator, thorough: bool) -> list[_Case]:
    f64, f32 = np.float64, np.float32
    train, evaluate = {"training": True}, {"training": False}
    constant = _bn_args(rng, (6, 3), f64)
    constant[0][:, 1] = 2.5
    tiny = _bn_args(rng, (6, 3), f64)
    tiny[0][:, 2] = 1.0 + 1e-3 * rng.standard_normal(6)
    cases = [
        _Case("training, x (4, 3), gamma = 1, beta = 0", _bn_args(rng, (4, 3), f64, affine=False),
              _BN_TRAIN_HINT, train),
        _Case("training, x (8, 5), non-trivial gamma, beta and running statistics",
              _bn_args(rng, (8, 5), f64), "out = gamma * x_hat + beta, per channel", train),
        _Case("training, a batch of two: the unbiased factor m / (m - 1) is 2",
              _bn_args(rng, (2, 4), f64), "running_var is updated with var * m / (m - 1)", train),
        _Case("training, x (N, C, H, W) = (2, 3, 2, 3)", _bn_args(rng, (2, 3, 2, 3), f64),
              _BN_AXES_HINT, train),
        _Case("training, float32 x (3, 4, 3, 2)", _bn_args(rng, (3, 4, 3, 2), f32),
              "keep the input's dtype: float32 in, float32 out (all three arrays)", train),
        _Case("training, momentum = 0.3 and eps = 1e-3", _bn_args(rng, (5, 3, 2, 2), f64),
              "use the momentum and eps arguments, not the defaults",
              {"training": True, "momentum": 0.3, "eps": 1e-3}),
        _Case("training, channel 1 is constant (variance 0)", constant, _EPS_HINT, train),
        _Case("training, channel 2 has std 1e-3, where eps matters", tiny,
              "divide by np.sqrt(var + eps), not np.sqrt(var) + eps", train),
        _Case("training, channel means near 1e4 with std 1e-2",
              _bn_args(rng, (8, 3), f64, offset=1e4, std=1e-2), _TWO_PASS_HINT, train),
        _Case("training, float32, channel means near 1e4 with std 1",
              _bn_args(rng, (4, 3, 3, 3), f32, offset=1e4), _TWO_PASS_HINT, train,
              _FLOAT32_OFFSET_TOL),
        _Case("evaluation, x (6, 4), running statistics far from the batch's",
              _bn_args(rng, (6, 4), f64, far=True),
              "training=False: normalize with running_mean and running_var and return them "
              "unchanged", evaluate),
        _Case("evaluation, float32 x (3, 2, 4, 4)", _bn_args(rng, (3, 2, 4, 4), f32, far=True),
              "training=False: (x - running_mean) / np.sqrt(running_var + eps), per channel",
              evaluate),
        _Case("evaluation, a batch of one sample", _bn_args(rng, (1, 3), f64, far=True),
              "in evaluation a single sample is fine: it never needs batch statistics",
              evaluate),
    ]
    if thorough:
        for k in range(10):
            dtype = (f64, f32)[k % 2]
            ndim = (2, 3, 4)[k % 3]
            shape = _random_shape(rng, ndim, min_batch=2)
            mode = {"training": k % 4 != 3, "momentum": float(rng.uniform(0, 1)),
                    "eps": float(10 ** rng.uniform(-6, -2))}
            cases.append(_Case(f"random case {k + 1}, x {shape}, {np.dtype(dtype)}",
                               _bn_args(rng, shape, dtype, far=k % 4 == 3),
                               _BN_TRAIN_HINT if mode["training"] else
                               "training=False: normalize with the running statistics", mode))
    return cases


def check_batch_norm(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps)``.

    Compares ``(out, new_running_mean, new_running_var)`` with
    :func:`course_lib.reference.norms.batch_norm` in training and evaluation, on (N, C) and
    (N, C, H, W) input, and requires the running statistics to be returned, not
    changed in place.

    Args:
        student_fn: the student's ``batch_norm``.
        seed: seed of the random inputs.
        thorough: add random shapes, dtypes and modes (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("batch_norm", student_fn, norms.batch_norm,
                      outputs=("out", "new_running_mean", "new_running_var"),
                      mistakes=BATCH_NORM_MISTAKES)
    _run(checker, _batch_norm_cases(np.random.default_rng(seed), thorough), _BN_ARGS)
    checker.done()


# ---------------------------------------------------------------- batch norm backward

_BACKWARD_HINT = (
    "dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / std with "
    "dx_hat = gamma * dout and means over every axis but 1; dgamma = sum(dout * x_hat), "
    "dbeta = sum(dout)"
)
_BACKWARD_4D_HINT = (
    "for (N, C, H, W) input dgamma and dbeta have shape (C,): sum dout * x_hat and dout "
    "over N, H and W, every axis but 1 (not over the batch axis only), and the means in dx "
    "run over m = N * H * W values"
)


def _backward_args(rng, shape, dtype, *, offset=0.0, std=1.0):
    x = _spread(rng, shape, dtype, (1,), offset, std)
    gamma, _ = _affine(rng, (shape[1],), dtype)
    return rng.normal(size=shape).astype(dtype), x, gamma


def _numerical_batch_norm_grads(dout, x, gamma, eps=1e-5):
    """``(dx, dgamma, dbeta)`` of training batch norm by central differences (float64)."""
    channels = x.shape[1]
    beta, running_mean, running_var = np.zeros(channels), np.zeros(channels), np.ones(channels)

    def out(x_, gamma_, beta_):
        return norms.batch_norm(x_, gamma_, beta_, running_mean, running_var, eps=eps)[0]

    return (numerical_gradient(lambda v: out(v, gamma, beta), x, dout),
            numerical_gradient(lambda v: out(x, v, beta), gamma, dout),
            numerical_gradient(lambda v: out(x, gamma, v), beta, dout))


def _check_backward(checker: Checker, seed: int, thorough: bool, hints: dict[str, str]) -> None:
    """The cases of both batch-norm backward exercises; ``hints`` says what to look at."""
    rng = np.random.default_rng(seed)
    f64, f32 = np.float64, np.float32
    constant = _backward_args(rng, (5, 3), f64)
    constant[1][:, 0] = -1.5
    small_2d, small_4d = _backward_args(rng, (4, 3), f64), _backward_args(rng, (3, 2, 2, 2), f64)
    cases = [
        _Case("x (4, 3)", small_2d, hints["2d"]),
        _Case("x (8, 5)", _backward_args(rng, (8, 5), f64), hints["2d"]),
        _Case("x (N, C, H, W) = (4, 3, 3, 3)", _backward_args(rng, (4, 3, 3, 3), f64),
              hints["4d"]),
        _Case("x (3, 2, 2, 2)", small_4d, hints["4d"]),
        _Case("float32 x (3, 4, 2, 3)", _backward_args(rng, (3, 4, 2, 3), f32),
              "keep the input's dtype: float32 in, float32 out (all three arrays)"),
        _Case("eps = 0.1", _backward_args(rng, (6, 2), f64),
              "use the eps argument in std = np.sqrt(var + eps)", {"eps": 0.1}),
        _Case("channel 0 is constant (variance 0)", constant,
              "with variance 0, std = np.sqrt(eps): still add eps inside the square root"),
        _Case("channel means near 1e4 with std 1e-2",
              _backward_args(rng, (6, 3), f64, offset=1e4, std=1e-2), _TWO_PASS_HINT,
              tol=_FLOAT64_OFFSET_TOL),
    ]
    if thorough:
        for k in range(8):
            dtype = (f64, f32)[k % 2]
            shape = _random_shape(rng, (2, 3, 4)[k % 3],
                                  values_per_statistic=lambda s: _size(s) // s[1])
            cases.append(_Case(f"random case {k + 1}, x {shape}, {np.dtype(dtype)}",
                               _backward_args(rng, shape, dtype), hints["2d"]))
    _run(checker, cases, ("dout", "x", "gamma"))
    for description, args in (("x (4, 3)", small_2d), ("x (3, 2, 2, 2)", small_4d)):
        checker.case(f"{description}, against central-difference gradients of batch_norm",
                     *args, expected=_numerical_batch_norm_grads(*args),
                     hint="your gradient disagrees with the slope of batch_norm itself; "
                     + hints["2d"], **_NUMERICAL_TOL)
    checker.done()


def check_batch_norm_backward(student_fn: Callable, *, seed: int = 0,
                              thorough: bool = False) -> None:
    """Check ``batch_norm_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``.

    Compares with :func:`course_lib.reference.norms.batch_norm_backward` and, in float64,
    with central-difference gradients of training-mode batch norm.

    Args:
        student_fn: the student's ``batch_norm_backward``.
        seed: seed of the random inputs.
        thorough: add random shapes and dtypes (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("batch_norm_backward", student_fn, norms.batch_norm_backward,
                      outputs=("dx", "dgamma", "dbeta"), mistakes=BATCH_NORM_BACKWARD_MISTAKES)
    _check_backward(checker, seed, thorough, {"2d": _BACKWARD_HINT, "4d": _BACKWARD_4D_HINT})


_GRAPH_HINT = (
    "go through the stages in reverse: dx_hat = gamma * dout; dr = sum(dx_hat * x_c); "
    "ds = -dr / s**2; dv = ds / (2 * s); dxc = dx_hat * r + dv * 2 * x_c / m; "
    "dmu = -sum(dxc); dx = dxc + dmu / m (sums over every axis but 1, keepdims=True); "
    "dgamma = sum(dout * x_hat), dbeta = sum(dout)"
)
_GRAPH_4D_HINT = (
    "for (N, C, H, W) input every sum of a per-channel stage (dr, dmu, dgamma, dbeta) runs "
    "over axis=(0, 2, 3), and m = N * H * W"
)


def check_batch_norm_backward_graph(student_fn: Callable, *, seed: int = 0,
                                    thorough: bool = False) -> None:
    """Check ``batch_norm_backward_graph(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``.

    The same cases as :func:`check_batch_norm_backward` (the staged and the simplified
    backward compute the same gradients), against
    :func:`course_lib.reference.norms.batch_norm_backward_graph` and central differences;
    a failure names the stage a known mistake went wrong in.

    Args:
        student_fn: the student's ``batch_norm_backward_graph``.
        seed: seed of the random inputs.
        thorough: add random shapes and dtypes (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("batch_norm_backward_graph", student_fn, norms.batch_norm_backward_graph,
                      outputs=("dx", "dgamma", "dbeta"),
                      mistakes=BATCH_NORM_BACKWARD_GRAPH_MISTAKES)
    _check_backward(checker, seed, thorough, {"2d": _GRAPH_HINT, "4d": _GRAPH_4D_HINT})


# ---------------------------------------------------------------- layer norm

_LN_HINT = (
    "each sample is normalized over all of its features: mean and biased variance over "
    "axis=tuple(range(1, x.ndim)), keepdims=True; then gamma * x_hat + beta"
)


def _ln_args(rng, shape, dtype, *, affine=True, offset=0.0, std=1.0):
    x = _spread(rng, shape, dtype, (0, 1), offset, std)
    gamma, beta = _affine(rng, shape[1:], dtype) if affine else _unit_affine(shape[1:], dtype)
    return x, gamma, beta


def _layer_norm_cases(rng: np.random.Generator, thorough: bool) -> list[_Case]:
    f64, f32 = np.float64, np.float32
    constant = _ln_args(rng, (3, 5), f64)
    constant[0][1] = 0.75
    tiny = _ln_args(rng, (3, 5), f64)
    tiny[0][2] = 4.0 + 1e-3 * rng.standard_normal(5)
    cases = [
        _Case("x (4, 5), gamma = 1, beta = 0", _ln_args(rng, (4, 5), f64, affine=False), _LN_HINT),
        _Case("x (3, 8), non-trivial gamma and beta", _ln_args(rng, (3, 8), f64),
              "gamma and beta have shape x.shape[1:]: out = gamma * x_hat + beta"),
        _Case("x (N, C, H, W) = (2, 3, 4, 4), gamma and beta (3, 4, 4)",
              _ln_args(rng, (2, 3, 4, 4), f64),
              "for (N, C, H, W) input average over axes (1, 2, 3) together"),
        _Case("float32 x (3, 2, 3, 3)", _ln_args(rng, (3, 2, 3, 3), f32),
              "keep the input's dtype: float32 in, float32 out"),
        _Case("a batch of one sample", _ln_args(rng, (1, 6), f64),
              "layer norm needs no batch: each sample is normalized on its own"),
        _Case("sample 1 is constant (variance 0)", constant, _EPS_HINT),
        _Case("sample 2 has std 1e-3, where eps matters", tiny,
              "divide by np.sqrt(var + eps), not np.sqrt(var) + eps"),
        _Case("eps = 1e-2", _ln_args(rng, (3, 4), f64), "use the eps argument", {"eps": 1e-2}),
        _Case("sample means near 1e4 with std 1e-2",
              _ln_args(rng, (4, 6), f64, offset=1e4, std=1e-2), _TWO_PASS_HINT),
        _Case("float32, sample means near 1e4 with std 1",
              _ln_args(rng, (3, 2, 3, 3), f32, offset=1e4), _TWO_PASS_HINT,
              tol=_FLOAT32_OFFSET_TOL),
    ]
    if thorough:
        for k in range(8):
            dtype = (f64, f32)[k % 2]
            shape = _random_shape(rng, (2, 3, 4)[k % 3], min_batch=1,
                                  values_per_statistic=lambda s: _size(s[1:]))
            cases.append(_Case(f"random case {k + 1}, x {shape}, {np.dtype(dtype)}",
                               _ln_args(rng, shape, dtype), _LN_HINT,
                               {"eps": float(10 ** rng.uniform(-6, -2))}))
    return cases


def check_layer_norm(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``layer_norm(x, gamma, beta, eps)`` against the reference.

    Args:
        student_fn: the student's ``layer_norm``.
        seed: seed of the random inputs.
        thorough: add random shapes, dtypes and eps (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("layer_norm", student_fn, norms.layer_norm, mistakes=LAYER_NORM_MISTAKES)
    _run(checker, _layer_norm_cases(np.random.default_rng(seed), thorough),
         ("x", "gamma", "beta"))
    checker.done()


# ---------------------------------------------------------------- instance norm

_IN_HINT = (
    "each channel of each sample is normalized over its spatial positions only: mean and "
    "biased variance over axis=tuple(range(2, x.ndim)), keepdims=True; gamma and beta (C,) "
    "reshaped to (1, C, 1, 1)"
)


def _in_args(rng, shape, dtype, *, affine=True, offset=0.0, std=1.0):
    x = _spread(rng, shape, dtype, (0, 1), offset, std)
    gamma, beta = _affine(rng, (shape[1],), dtype) if affine else _unit_affine((shape[1],), dtype)
    return x, gamma, beta


def _instance_norm_cases(rng: np.random.Generator, thorough: bool) -> list[_Case]:
    f64, f32 = np.float64, np.float32
    constant = _in_args(rng, (2, 3, 3, 3), f64)
    constant[0][1, 2] = -0.5
    cases = [
        _Case("x (2, 3, 2, 3), gamma = 1, beta = 0", _in_args(rng, (2, 3, 2, 3), f64, affine=False),
              _IN_HINT),
        _Case("x (3, 4, 3, 5), non-trivial gamma and beta", _in_args(rng, (3, 4, 3, 5), f64),
              "gamma and beta have shape (C,): reshape them to (1, C, 1, 1) to scale channels"),
        _Case("x (N, C, L) = (3, 4, 6)", _in_args(rng, (3, 4, 6), f64),
              "for (N, C, L) input average over axis 2 only; use tuple(range(2, x.ndim))"),
        _Case("float32 x (2, 3, 4, 4)", _in_args(rng, (2, 3, 4, 4), f32),
              "keep the input's dtype: float32 in, float32 out"),
        _Case("a batch of one sample", _in_args(rng, (1, 3, 4, 4), f64),
              "instance norm needs no batch: each sample is normalized on its own"),
        _Case("channel 2 of sample 1 is constant (variance 0)", constant, _EPS_HINT),
        _Case("eps = 1e-2", _in_args(rng, (2, 2, 3, 3), f64), "use the eps argument",
              {"eps": 1e-2}),
        _Case("means near 1e4 with std 1e-2",
              _in_args(rng, (2, 3, 4, 4), f64, offset=1e4, std=1e-2), _TWO_PASS_HINT),
        _Case("float32, means near 1e4 with std 1",
              _in_args(rng, (2, 3, 4, 4), f32, offset=1e4), _TWO_PASS_HINT,
              tol=_FLOAT32_OFFSET_TOL),
    ]
    if thorough:
        for k in range(8):
            dtype = (f64, f32)[k % 2]
            shape = _random_shape(rng, (3, 4)[k % 2], min_batch=1,
                                  values_per_statistic=lambda s: _size(s[2:]))
            cases.append(_Case(f"random case {k + 1}, x {shape}, {np.dtype(dtype)}",
                               _in_args(rng, shape, dtype), _IN_HINT,
                               {"eps": float(10 ** rng.uniform(-6, -2))}))
    return cases


def check_instance_norm(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``instance_norm(x, gamma, beta, eps)`` against the reference.

    Args:
        student_fn: the student's ``instance_norm``.
        seed: seed of the random inputs.
        thorough: add random shapes, dtypes and eps (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("instance_norm", student_fn, norms.instance_norm,
                      mistakes=INSTANCE_NORM_MISTAKES)
    _run(checker, _instance_norm_cases(np.random.default_rng(seed), thorough),
         ("x", "gamma", "beta"))
    checker.done()


# ---------------------------------------------------------------- group norm

_GN_HINT = (
    "reshape x to (N, G, -1): each group is C / G consecutive channels with all their "
    "positions; normalize over the last axis, reshape back, then gamma and beta per channel"
)


def _gn_args(rng, shape, groups, dtype, *, affine=True, offset=0.0, std=1.0):
    x = _spread(rng, shape, dtype, (0, 1), offset, std)
    gamma, beta = _affine(rng, (shape[1],), dtype) if affine else _unit_affine((shape[1],), dtype)
    return x, groups, gamma, beta


def _group_norm_cases(rng: np.random.Generator, thorough: bool) -> list[_Case]:
    f64, f32 = np.float64, np.float32
    constant = _gn_args(rng, (2, 4, 3, 3), 2, f64)
    constant[0][0, 2:] = 1.25
    cases = [
        _Case("x (2, 4, 2, 3), 2 groups, gamma = 1, beta = 0",
              _gn_args(rng, (2, 4, 2, 3), 2, f64, affine=False), _GN_HINT),
        _Case("x (3, 6, 2, 4), 3 groups, non-trivial gamma and beta",
              _gn_args(rng, (3, 6, 2, 4), 3, f64),
              "gamma and beta have one value per channel (C,), not per group"),
        _Case("x (2, 4, 3, 3), 1 group (layer norm)", _gn_args(rng, (2, 4, 3, 3), 1, f64),
              "with one group, group norm normalizes each sample over all its channels"),
        _Case("x (2, 4, 3, 3), 4 groups = C (instance norm)", _gn_args(rng, (2, 4, 3, 3), 4, f64),
              "with C groups, group norm normalizes each channel on its own"),
        _Case("x (N, C) = (4, 6), 3 groups", _gn_args(rng, (4, 6), 3, f64),
              "(N, C) input works the same: x.reshape(N, G, -1)"),
        _Case("x (N, C, L) = (2, 4, 5), 2 groups", _gn_args(rng, (2, 4, 5), 2, f64), _GN_HINT),
        _Case("float32 x (2, 8, 3, 3), 4 groups", _gn_args(rng, (2, 8, 3, 3), 4, f32),
              "keep the input's dtype: float32 in, float32 out"),
        _Case("group 1 of sample 0 is constant (variance 0)", constant, _EPS_HINT),
        _Case("eps = 1e-2", _gn_args(rng, (2, 4, 2, 2), 2, f64), "use the eps argument",
              {"eps": 1e-2}),
        _Case("means near 1e4 with std 1e-2",
              _gn_args(rng, (2, 6, 3, 3), 3, f64, offset=1e4, std=1e-2), _TWO_PASS_HINT),
        _Case("float32, means near 1e4 with std 1",
              _gn_args(rng, (2, 4, 3, 3), 2, f32, offset=1e4), _TWO_PASS_HINT,
              tol=_FLOAT32_OFFSET_TOL),
    ]
    if thorough:
        for k in range(8):
            dtype = (f64, f32)[k % 2]
            groups = int(rng.choice([1, 2, 3]))
            shape = list(_random_shape(rng, (2, 3, 4)[k % 3], min_batch=1))
            # Channels per group, enough for 4 values per statistic (see _random_shape).
            per_group = max(int(rng.integers(1, 4)), -(-4 // _size(shape[2:])))
            shape[1] = groups * per_group
            cases.append(_Case(f"random case {k + 1}, x {tuple(shape)}, {groups} groups, "
                               f"{np.dtype(dtype)}", _gn_args(rng, tuple(shape), groups, dtype),
                               _GN_HINT, {"eps": float(10 ** rng.uniform(-6, -2))}))
    return cases


def check_group_norm(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``group_norm(x, num_groups, gamma, beta, eps)`` against the reference.

    Args:
        student_fn: the student's ``group_norm``.
        seed: seed of the random inputs.
        thorough: add random shapes, group counts, dtypes and eps (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("group_norm", student_fn, norms.group_norm, mistakes=GROUP_NORM_MISTAKES)
    _run(checker, _group_norm_cases(np.random.default_rng(seed), thorough),
         ("x", "num_groups", "gamma", "beta"))
    checker.done()


# ---------------------------------------------------------------- RMS norm

_RMS_HINT = (
    "divide each sample by its root mean square over all of its features, "
    "np.sqrt(np.mean(x**2, axis=tuple(range(1, x.ndim)), keepdims=True) + eps), then "
    "multiply by gamma; no mean is subtracted and there is no beta"
)
_RMS_EPS_HINT = (
    "eps=None means np.finfo(x.dtype).eps, the machine epsilon of the input's dtype "
    "(as torch.nn.functional.rms_norm): read it before converting x to float64"
)


def _rms_args(rng, shape, dtype, *, scale=1.0, offset=0.0):
    x = (_spread(rng, shape, np.float64, (0, 1), offset) * scale).astype(dtype)
    gamma, _ = _affine(rng, shape[1:], dtype)
    return x, gamma


def _rms_norm_cases(rng: np.random.Generator, thorough: bool) -> list[_Case]:
    f64, f32 = np.float64, np.float32
    zero = _rms_args(rng, (3, 5), f64)
    zero[0][1] = 0.0
    ones = np.ones((4, 5)), np.ones(5)
    cases = [
        _Case("x (4, 5), gamma = 1", (_spread(rng, (4, 5), f64, (0, 1)), ones[1]), _RMS_HINT),
        _Case("x (3, 8), non-trivial gamma", _rms_args(rng, (3, 8), f64),
              "gamma has shape x.shape[1:]: out = x / rms * gamma"),
        _Case("x (N, C, H, W) = (2, 3, 4, 4), gamma (3, 4, 4)", _rms_args(rng, (2, 3, 4, 4), f64),
              "for (N, C, H, W) input average the squares over axes (1, 2, 3) together"),
        _Case("float32 x (3, 2, 3, 3)", _rms_args(rng, (3, 2, 3, 3), f32),
              "keep the input's dtype: float32 in, float32 out"),
        _Case("a batch of one sample", _rms_args(rng, (1, 6), f64),
              "RMS norm needs no batch: each sample is normalized on its own"),
        _Case("samples with means far from 0 (offset 5, std about 1)",
              _rms_args(rng, (3, 6), f64, offset=5.0),
              "RMS norm keeps the mean: the root mean square of x, not its standard deviation"),
        _Case("sample 1 is all zeros (mean square 0)", zero,
              "add eps inside the square root, np.sqrt(np.mean(x**2) + eps): it keeps an "
              "all-zero sample finite (0 / 0 otherwise)"),
        _Case("float64 values near 1e-3, default eps", _rms_args(rng, (3, 4), f64, scale=1e-3),
              _RMS_EPS_HINT),
        _Case("float32 values near 1e-4, where the default eps matters",
              _rms_args(rng, (3, 2, 2, 2), f32, scale=1e-4), _RMS_EPS_HINT),
        _Case("eps = 1e-2", _rms_args(rng, (3, 4), f64), "use the eps argument when it is given",
              {"eps": 1e-2}),
        _Case("float32, eps = 1e-6, values near 1e-3", _rms_args(rng, (2, 3, 3), f32, scale=1e-3),
              "use the eps argument when it is given", {"eps": 1e-6}),
    ]
    if thorough:
        for k in range(8):
            dtype = (f64, f32)[k % 2]
            shape = _random_shape(rng, (2, 3, 4)[k % 3], min_batch=1,
                                  values_per_statistic=lambda s: _size(s[1:]))
            kwargs = {} if k % 3 == 0 else {"eps": float(10 ** rng.uniform(-6, -2))}
            cases.append(_Case(f"random case {k + 1}, x {shape}, {np.dtype(dtype)}",
                               _rms_args(rng, shape, dtype, scale=float(10 ** rng.uniform(-2, 2))),
                               _RMS_HINT, kwargs))
    return cases


def check_rms_norm(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``rms_norm(x, gamma, eps=None)`` against the reference.

    Cases cover 2-D and 4-D input, float32 and float64, an all-zero sample, values small
    enough for the default eps (the input dtype's machine epsilon) to matter, and a given
    eps.

    Args:
        student_fn: the student's ``rms_norm``.
        seed: seed of the random inputs.
        thorough: add random shapes, dtypes, scales and eps (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("rms_norm", student_fn, norms.rms_norm, mistakes=RMS_NORM_MISTAKES)
    _run(checker, _rms_norm_cases(np.random.default_rng(seed), thorough), ("x", "gamma"))
    checker.done()


# ---------------------------------------------------------------- folding

_FOLD_HINT = (
    "in evaluation batch norm computes gamma * (z - running_mean) / np.sqrt(running_var + "
    "eps) + beta per output channel; with scale = gamma / np.sqrt(running_var + eps): "
    "weight' = weight scaled per output row, bias' = (bias - running_mean) * scale + beta"
)


def _fold_args(rng, weight_shape, dtype, *, bias=True, small_var=False):
    out = weight_shape[0]
    weight = rng.normal(size=weight_shape).astype(dtype)
    gamma, beta = _affine(rng, (out,), dtype)
    mean = rng.normal(size=out).astype(dtype)
    var = (rng.uniform(0.5, 2.0, out) * (1e-4 if small_var else 1.0)).astype(dtype)
    layer_bias = rng.normal(size=out).astype(dtype) if bias else None
    return weight, layer_bias, gamma, beta, mean, var


def check_fold_batch_norm(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``fold_batch_norm(weight, bias, gamma, beta, running_mean, running_var, eps)``.

    Compares ``(folded_weight, folded_bias)`` with
    :func:`course_lib.reference.norms.fold_batch_norm` for Linear and Conv2d weights, with
    and without a bias.

    Args:
        student_fn: the student's ``fold_batch_norm``.
        seed: seed of the random inputs.
        thorough: add random shapes and dtypes (hidden tests).

    Raises:
        AssertionError: on the first wrong case, saying what to change.
    """
    checker = Checker("fold_batch_norm", student_fn, norms.fold_batch_norm,
                      outputs=("folded_weight", "folded_bias"), mistakes=FOLD_BATCH_NORM_MISTAKES)
    rng = np.random.default_rng(seed)
    f64, f32 = np.float64, np.float32
    cases = [
        _Case("square Linear weight (3, 3) with bias", _fold_args(rng, (3, 3), f64),
              "scale the rows (output channels) of weight: weight * scale[:, None]"),
        _Case("Linear weight (4, 3) with bias", _fold_args(rng, (4, 3), f64), _FOLD_HINT),
        _Case("Linear weight (4, 3) without bias (bias=None)",
              _fold_args(rng, (4, 3), f64, bias=False),
              "with bias=None the layer's bias is 0, but the folded layer still needs one: "
              "return bias' = -running_mean * scale + beta as an array of shape (out,)"),
        _Case("Conv2d weight (4, 3, 3, 3) with bias", _fold_args(rng, (4, 3, 3, 3), f64),
              "for a Conv2d weight (out, in, kh, kw) scale with scale[:, None, None, None]"),
        _Case("float32 Conv2d weight (3, 2, 3, 3) without bias",
              _fold_args(rng, (3, 2, 3, 3), f32, bias=False),
              "keep the weight's dtype: float32 in, float32 out"),
        _Case("running variances near 1e-4, where eps matters",
              _fold_args(rng, (3, 4), f64, small_var=True),
              "scale = gamma / np.sqrt(running_var + eps): keep eps"),
        _Case("eps = 1e-3", _fold_args(rng, (3, 2, 2, 2), f64), "use the eps argument",
              {"eps": 1e-3}),
    ]
    if thorough:
        for k in range(6):
            dtype = (f64, f32)[k % 2]
            shape = tuple(int(n) for n in rng.integers(1, 6, size=(2, 4)[k % 2]))
            cases.append(_Case(f"random case {k + 1}, weight {shape}, {np.dtype(dtype)}",
                               _fold_args(rng, shape, dtype, bias=k % 3 != 0), _FOLD_HINT))
    _run(checker, cases, ("weight", "bias", "gamma", "beta", "running_mean", "running_var"))
    checker.done()
