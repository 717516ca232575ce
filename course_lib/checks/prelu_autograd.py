"""The check of notebook 04's ``prelu_autograd(x, weight)``: NumPy PReLU inside autograd.

The student wraps their ``prelu`` and ``prelu_backward`` in a ``torch.autograd.Function``
and returns ``PReLUFunction.apply(x, weight)``. PyTorch is the oracle: on each case the
output and both gradients (of ``x`` and of ``weight``, for a given upstream gradient)
must equal those of :func:`torch.nn.functional.prelu`, the output must come from a custom
``autograd.Function`` (so that the backward really is the student's), and on a float64
case :func:`torch.autograd.gradcheck` must agree with central differences.

Everything done to the student's function happens in a *probe* (:func:`_probe`): it
makes the tensors, calls the function, runs the backward pass and returns plain data.
The judging reads only that data, so under ``course grade`` the probe runs in a sandbox
and the verdict is reached outside it. The right answers and the classic mistakes'
behaviour on the same cases come from :func:`expected_run` (stored in the student
edition).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks import answers, core
from course_lib.checks.core import Checker, _last_frame_line, tolerance_for
from course_lib.checks.mistakes.prelu_autograd import FUNCTION_HINT, PRELU_AUTOGRAD_MISTAKES

ref = answers.reference("relu_variants")  # the grader's stand-in (see checks/answers.py)

__all__ = ["check_prelu_autograd"]

#: What the check may not call: the references (PyTorch is the point here).
FORBIDDEN = ("course_lib",)
VALUES_HINT = ("prelu_autograd only wraps your NumPy functions: check_prelu and "
               "check_prelu_backward must pass first; convert with x.detach().numpy() and "
               "torch.from_numpy(...)")


# ------------------------------------------------------------------ probes (student side)


def _array(tensor: Any) -> np.ndarray | None:
    import torch

    if not isinstance(tensor, torch.Tensor):
        return None
    return tensor.detach().cpu().numpy().copy()


def _examine(fn: Callable, x: np.ndarray, weight: np.ndarray, dout: np.ndarray,
             forbidden: tuple[str, ...], gradcheck: bool) -> dict:
    """Call ``fn(x, weight)`` on tensors that require grad, run the backward pass with
    ``dout``, and report everything as data."""
    import torch

    x_t = torch.tensor(x, requires_grad=True)
    w_t = torch.tensor(weight, requires_grad=True)
    found: dict[str, Any] = {"error": None, "delegated": None, "type": "", "custom": False,
                             "grad_fn": None, "out": None, "backward_error": None,
                             "dx": None, "dweight": None, "gradcheck": None}
    try:
        out, found["delegated"] = core._call_guarded(fn, (x_t, w_t), {}, forbidden)
    except Exception as exc:  # the student's error becomes the message
        found["error"] = _last_frame_line(exc)
        return found
    found["type"] = f"{type(out).__module__}.{type(out).__qualname__}".removeprefix("builtins.")
    if found["delegated"] or not isinstance(out, torch.Tensor):
        return found
    found["out"] = _array(out)
    found["grad_fn"] = None if out.grad_fn is None else type(out.grad_fn).__name__
    found["custom"] = isinstance(out.grad_fn, torch.autograd.function.BackwardCFunction)
    try:
        _, delegated = core._call_guarded(out.backward, (torch.tensor(dout),), {}, forbidden)
    except Exception as exc:
        found["backward_error"] = _last_frame_line(exc)
        return found
    if delegated:
        found["delegated"] = delegated
        return found
    found["dx"], found["dweight"] = _array(x_t.grad), _array(w_t.grad)
    if gradcheck:
        inputs = (torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True))
        try:
            found["gradcheck"], _ = core._call_guarded(
                torch.autograd.gradcheck, (fn, inputs), {"raise_exception": False}, forbidden)
        except Exception as exc:
            found["gradcheck"] = _last_frame_line(exc)
    return found


def _probe(fn: Callable, x: np.ndarray, weight: np.ndarray, dout: np.ndarray,
           gradcheck: bool) -> dict:
    """The student's ``prelu_autograd`` on one case (see :func:`_examine`); warnings are
    kept off stderr (nbgrader scores a test cell that writes there 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _examine(fn, x, weight, dout, FORBIDDEN, gradcheck)


# ------------------------------------------------------------------ the right answers


@answers.stored
def expected_run(x: np.ndarray, weight: np.ndarray, dout: np.ndarray) -> dict:
    """PyTorch's PReLU on one case, and what each classic mistake does there.

    Returns:
        ``{"out", "dx", "dweight"}`` from :func:`torch.nn.functional.prelu` and its
        autograd, and ``"mistakes"``: one :func:`_examine` report per entry of
        :data:`PRELU_AUTOGRAD_MISTAKES`, in order.
    """
    import torch

    x_t = torch.tensor(x, requires_grad=True)
    w_t = torch.tensor(weight, requires_grad=True)
    out = torch.nn.functional.prelu(x_t, w_t)
    out.backward(torch.tensor(dout))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mistakes = [_examine(m.fn, x, weight, dout, (), False) for m in PRELU_AUTOGRAD_MISTAKES]
    return {"out": _array(out), "dx": _array(x_t.grad), "dweight": _array(w_t.grad),
            "mistakes": mistakes}


# ------------------------------------------------------------------ judging (grader side)

_WHERE = re.compile(r" \(in [^()]*, line \d+\)")
_NAMES = re.compile(r"\b\w*Backward\w*\b")


def _plain_error(error: str | None) -> str | None:
    """An error line without where it happened or the student's class name."""
    return None if error is None else _NAMES.sub("Backward", _WHERE.sub("", error))


def _close(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.shape != b.shape:
        return False
    rtol, atol = tolerance_for(b.dtype)
    return core.within_tolerance(a, b, rtol, atol)


def _behaves_like(found: dict, mistake: dict) -> bool:
    """Does the student's function do what a classic mistake does, as far as it got?"""
    if _plain_error(found["error"]) != _plain_error(mistake["error"]):
        return False
    if found["error"] is not None:
        return True
    if (found["type"], found["custom"], _plain_error(found["backward_error"])) != (
            mistake["type"], mistake["custom"], _plain_error(mistake["backward_error"])):
        return False
    return all(_close(found[key], mistake[key]) for key in ("out", "dx", "dweight"))


def _fail(checker: Checker, description: str, problem: str, found: dict, run: dict,
          inputs: tuple, hint: str) -> None:
    """Fail the case, naming the classic mistake the student's function behaves like."""
    for mistake, behaviour in zip(PRELU_AUTOGRAD_MISTAKES, run["mistakes"]):
        if _behaves_like(found, behaviour):
            problem = f"{problem}\n  this is a known mistake: {mistake.description}"
            hint = mistake.hint
            break
    x, weight, dout = inputs
    checker.fail(description, problem, args=(x, weight), kwargs={"dout": dout}, hint=hint)


def _require_close(checker: Checker, description: str, name: str, got: np.ndarray | None,
                   want: np.ndarray, found: dict, run: dict, inputs: tuple, hint: str) -> None:
    fail = lambda problem: _fail(checker, description, problem, found, run, inputs, hint)  # noqa: E731
    if got is None:
        fail(f"{name} got no gradient (its .grad is None after backward)")
    if got.shape != want.shape:
        fail(f"{name}: expected shape {want.shape}, got shape {got.shape}")
    if got.dtype != want.dtype:
        fail(f"{name}: expected dtype {want.dtype} (the input's), got {got.dtype}")
    if not _close(got, want):
        rtol, atol = tolerance_for(want.dtype)
        fail(f"{name} differs from torch.nn.functional.prelu's\n"
             f"  expected {name}: {core.show(want)}\n"
             f"  got      {name}: {core.show(got)}\n"
             f"  max relative error {core.rel_error(want, got):.2e}; tolerance rtol={rtol:.0e}, "
             f"atol={atol:.0e}")
    checker.worst_error = max(checker.worst_error, core.rel_error(want, got))


def _judge(checker: Checker, description: str, found: dict, run: dict, inputs: tuple,
           gradcheck: bool) -> None:
    fail = lambda problem, hint: _fail(checker, description, problem, found, run, inputs,  # noqa: E731
                                       hint)
    if found["error"] is not None:
        checker.fail_unless_written(description, found["error"], args=inputs[:2])
        fail(f"your function raised {found['error']}", FUNCTION_HINT)
    if found["delegated"]:
        checker.fail(description, f"your function called {found['delegated']}; wrap your own "
                     "prelu and prelu_backward, not course_lib's", args=inputs[:2])
    if found["out"] is None:
        fail(f"expected a torch.Tensor, got {found['type']}", FUNCTION_HINT)
    _require_close(checker, description, "the output", found["out"], run["out"], found, run,
                   inputs, VALUES_HINT)
    if not found["custom"]:
        made_by = (f"its grad_fn is {found['grad_fn']}, made by autograd from torch operations"
                   if found["grad_fn"] else "it has no grad_fn, so no gradient can reach x")
        fail(f"the output does not come from a torch.autograd.Function: {made_by}",
             FUNCTION_HINT)
    if found["backward_error"] is not None:  # where in torch's engine it was says nothing
        fail(f"the backward pass raised {_WHERE.sub('', found['backward_error'])}",
             FUNCTION_HINT)
    _require_close(checker, description, "x.grad", found["dx"], run["dx"], found, run, inputs,
                   VALUES_HINT)
    _require_close(checker, description, "weight.grad", found["dweight"], run["dweight"],
                   found, run, inputs, VALUES_HINT)
    if gradcheck and found["gradcheck"] is not True:
        result = found["gradcheck"]
        fail("torch.autograd.gradcheck (central differences in float64) "
             + ("disagrees with your backward" if result is False else f"raised {result}"),
             VALUES_HINT)
    checker.passed()


def _case_inputs(rng: np.random.Generator, shape: tuple, channels: int,
                 dtype: type = np.float32, slopes: tuple[float, float] = (-0.5, 1.5)
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, weight, dout)`` for one case, x with a few exact zeros."""
    x = rng.normal(size=shape)
    x.reshape(-1)[::7] = 0.0
    weight = rng.uniform(*slopes, channels)
    return x.astype(dtype), weight.astype(dtype), rng.normal(size=shape).astype(dtype)


def _no_reference(x: Any, weight: Any) -> None:
    """Stands for the reference in the Checker, which only names inputs after it."""


def check_prelu_autograd(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``prelu_autograd(x, weight)``: values and gradients of torch's PReLU, from a
    ``torch.autograd.Function`` that wraps the student's NumPy functions.

    Args:
        student_fn: the student's ``prelu_autograd``.
        seed: seed of the random cases.
        thorough: add larger and 1-D and 5-D inputs (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, what was wrong, the known
            mistake it matches, and a hint.
    """
    checker = Checker("prelu_autograd", student_fn, _no_reference, forbidden=FORBIDDEN,
                      stand_in=lambda: ref.prelu_autograd)
    if checker.description.is_class:
        checker.fail("prelu_autograd is a function", "expected the function prelu_autograd, "
                     "got a class", hint="pass the function that returns "
                     "PReLUFunction.apply(x, weight): check_prelu_autograd(prelu_autograd)")
    rng = np.random.default_rng(seed)
    cases = [
        ("x (N, C) = (4, 3) with zeros, weight (C,), float32", (4, 3), 3, np.float32, False),
        ("x (N, C, H, W) = (2, 3, 4, 5), weight (C,), float32", (2, 3, 4, 5), 3, np.float32,
         False),
        ("one shared slope, weight (1,), x (2, 3, 4, 4), float32", (2, 3, 4, 4), 1,
         np.float32, False),
        ("float64 x (2, 3, 5), weight (3,), and torch.autograd.gradcheck", (2, 3, 5), 3,
         np.float64, True),
    ]
    if thorough:
        cases += [
            ("larger x (8, 16, 12, 12), float32", (8, 16, 12, 12), 16, np.float32, False),
            ("1-D x (no channel axis), weight (1,), float64", (9,), 1, np.float64, True),
            ("x (N, C, D, H, W) = (2, 4, 3, 2, 2), float32", (2, 4, 3, 2, 2), 4, np.float32,
             False),
        ]
    for description, shape, channels, dtype, gradcheck in cases:
        x, weight, dout = _case_inputs(rng, shape, channels, dtype)
        if gradcheck:  # central differences need a step's room around the kink at 0
            x = np.where(np.abs(x) < 1e-2, 0.5, x).astype(dtype)
        run = expected_run(x, weight, dout)
        found = checker.probe(_probe, x, weight, dout, gradcheck)
        _judge(checker, description, found, run, (x, weight, dout), gradcheck)
    checker.done()
