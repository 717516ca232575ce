"""The engine behind every ``check_*`` function: run a student's function on a
case, validate what came back, compare it with the reference, and explain a
failure in words a student can act on.

A check builds a :class:`Checker` for one exercise and feeds it cases::

    checker = Checker("sigmoid", student_sigmoid, reference.sigmoid)
    checker.case("x = 0", np.zeros(1))
    checker.case("very negative x", np.array([-1000.0]), hint="use the stable form")
    checker.done()          # prints one short line

On the first failing case :meth:`Checker.case` raises :class:`CheckFailure`
(an ``AssertionError``, which nbgrader reports as a failed test) whose message
names the case, the input, the expected and the received values, the largest
relative error against the tolerance and, where one applies, a hint. Nothing is
ever written to stderr: warnings raised by the student's code are recorded and
reported inside the failure message instead.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.checks import answers, handin, wire

#: Relative and absolute tolerance per dtype: float32 arithmetic carries about
#: 7 significant digits, float64 about 16; the margins absorb the different but
#: equally valid orders of summation that students write.
TOLERANCES: dict[type, tuple[float, float]] = {
    np.float32: (1e-4, 1e-5),
    np.float64: (1e-7, 1e-10),
}

#: Packages that a NumPy exercise must not call while it runs: the reference
#: implementations and the frameworks that would do the work for the student.
FORBIDDEN_PACKAGES = ("course_lib", "torch", "tensorflow", "jax", "scipy")


class CheckFailure(AssertionError):
    """A student's function gave a wrong result; the message says which and why.

    In a notebook IPython shows it as the message alone: :meth:`_render_traceback_`
    replaces the traceback, which would only run through the check's own code. The cell
    still fails, so nbgrader scores the test 0.
    """

    def _render_traceback_(self) -> list[str]:
        lines = str(self).splitlines() or [""]
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {lines[0]}", *lines[1:]]


#: What every check says of an exercise whose answer cell still raises NotImplementedError.
NOT_WRITTEN = ("is not written yet (it raises NotImplementedError): replace "
               "`raise NotImplementedError()` with your code")


def not_written(error: str | None) -> bool:
    """Did the student's code fail only because it is still the released stub?"""
    return error is not None and error.startswith("NotImplementedError")


@dataclass(frozen=True)
class Mistake:
    """A classic wrong implementation, recognised by reproducing its output.

    Args:
        description: what the mistake is, e.g. ``"relu_grad is 1 at x == 0"``.
        fn: a function with the exercise's signature that makes the mistake.
        hint: what the student should change.
    """

    description: str
    fn: Callable[..., Any]
    hint: str


@dataclass
class _Run:
    """What one call of the student's function produced.

    ``observed`` is what an :class:`Observer` saw of the arguments after the call (e.g.
    hooks left on a model); everything here is data, so a call made in a grading
    sandbox comes back as a ``_Run`` too (:mod:`course_lib.checks.recorder`).
    """

    outputs: tuple | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    delegated_to: str | None = None
    mutated: list[str] = field(default_factory=list)
    observed: Any = None


# --------------------------------------------------------------------------- errors


def rel_error(expected: np.ndarray, got: np.ndarray) -> float:
    r"""Largest elementwise relative error, as in CS231n.

    .. math::
        \max_i \frac{|e_i - g_i|}{\max(10^{-8}, |e_i| + |g_i|)}

    Positions where both are the same infinity, or both NaN, count as exact.
    """
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    same = (expected == got) | (np.isnan(expected) & np.isnan(got))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(expected - got) / np.maximum(1e-8, np.abs(expected) + np.abs(got))
    err = np.where(same, 0.0, err)
    err = np.where(np.isnan(err), np.inf, err)
    return float(err.max()) if err.size else 0.0


def _worst_index(expected: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> tuple:
    """Index of the element that most exceeds ``atol + rtol * |expected|``."""
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        excess = np.abs(expected - got) - (atol + rtol * np.abs(expected))
    same = (expected == got) | (np.isnan(expected) & np.isnan(got))
    excess = np.where(same, -np.inf, np.where(np.isnan(excess), np.inf, excess))
    if not excess.size:
        return ()
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), expected.shape))


def within_tolerance(expected: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> bool:
    """``|got - expected| <= atol + rtol * |expected|`` everywhere; NaN only where expected."""
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(expected - got) <= atol + rtol * np.abs(expected)
    same = (expected == got) | (np.isnan(expected) & np.isnan(got))
    return bool(np.all(close | same))


def tolerance_for(dtype: np.dtype) -> tuple[float, float]:
    """``(rtol, atol)`` for comparing arrays of ``dtype``."""
    return TOLERANCES.get(np.dtype(dtype).type, TOLERANCES[np.float64])


# --------------------------------------------------------------------- formatting


def show(value: Any) -> str:
    """Compact one-or-few-line rendering of a value for a failure message."""
    if isinstance(value, np.ndarray):
        body = np.array2string(value, precision=6, threshold=12, edgeitems=3, max_line_width=88)
        return f"{body}  ({value.dtype}, shape {value.shape})"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, np.random.Generator):  # its repr has a memory address: noise
        return f"np.random.Generator({type(value.bit_generator).__name__})"
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "..."


def _type_name(value: Any) -> str:
    if type(value) is np.ndarray:
        return f"np.ndarray of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, wire.Foreign):  # a value that came back from a sandbox as its name
        return value.type_name
    return wire.type_name(value)


# ------------------------------------------------------------------- the guard


def _owner(event: str, frame, arg) -> str | None:
    """Module that owns the function being entered by a profiler event."""
    if event == "call":
        return frame.f_globals.get("__name__")
    if event == "c_call":
        module = getattr(arg, "__module__", None)
        if module is None:  # a method of a C type, e.g. torch.Tensor.sigmoid
            module = type(getattr(arg, "__self__", None)).__module__
        return module
    return None


#: The module of :func:`course_lib._validate.checked`, which runs before every reference.
_VALIDATION_MODULE = "course_lib._validate"


#: Set while the reference stands in for the student (see :func:`standing_in`).
_standing_in = False


@contextlib.contextmanager
def standing_in() -> Iterator[None]:
    """Run a check's calls with the reference standing in for the student: no delegation
    guard (the grader's first guess of a result, :mod:`course_lib.grading.replay`)."""
    global _standing_in
    previous, _standing_in = _standing_in, True
    try:
        yield
    finally:
        _standing_in = previous


def _call_guarded(fn: Callable, args: tuple, kwargs: dict, forbidden: Sequence[str]) -> tuple:
    """Call ``fn`` and return ``(result, first forbidden module entered or None)``.

    ``sys.setprofile`` sees every Python call and every call of a C function, so
    ``torch.sigmoid``, a Tensor method or ``course_lib.reference.activations.sigmoid``
    are all seen, even when reached through an alias the student made.
    """
    seen: list[str] = []
    if answers.is_recording() or _standing_in:  # the reference is the student here
        forbidden = ()

    def profiler(frame, event, arg):
        if seen:
            return
        module = _owner(event, frame, arg)
        if module == _VALIDATION_MODULE and event == "call":
            # A reference's argument checks run first: name the reference they guard.
            wrapped = frame.f_locals.get("fn")
            if wrapped is not None and "course_lib" in forbidden:
                seen.append(f"{wrapped.__module__}.{wrapped.__qualname__}")
            return
        if module and module.split(".")[0] in forbidden:
            seen.append(f"{module}.{getattr(arg, '__name__', frame.f_code.co_name)}"
                        if event == "c_call" else f"{module}.{frame.f_code.co_name}")

    previous = sys.getprofile()
    sys.setprofile(profiler if forbidden else previous)
    try:
        result = fn(*args, **kwargs)
        if forbidden and sys.getprofile() is not profiler and not seen:
            # The function removed or replaced the monitor: what it called is unknown.
            seen.append("sys.setprofile (it switched off the check's call monitor)")
    finally:
        sys.setprofile(previous)
    return result, (seen[0] if seen else None)


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _changed(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return not (before.shape == after.shape and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, (list, tuple)):
        return len(before) != len(after) or any(_changed(b, a) for b, a in zip(before, after))
    return False


def _last_frame_line(exc: BaseException) -> str:
    """``ValueError: ... (in f, line 4)``-style summary of an exception."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (in {frames[-1].name}, line {frames[-1].lineno})" if frames else ""
    message = f": {exc}" if str(exc) else ""
    return f"{type(exc).__name__}{message}{where}"


# ------------------------------------------------------------------ the subject


@dataclass(frozen=True)
class Description:
    """What the student handed to a check, before it is called."""

    callable: bool
    is_class: bool
    type_name: str


class Observer:
    """Looks at a call's arguments before and after it (e.g. a model's hooks and mode).

    Subclasses are module-level classes of ``course_lib.checks``: a grading sandbox
    finds them by name. :meth:`after` returns data (see :mod:`course_lib.checks.wire`).
    """

    def before(self, args: tuple, kwargs: dict) -> Any:
        return None

    def after(self, args: tuple, kwargs: dict, before: Any) -> Any:
        raise NotImplementedError


class Subject:
    """What a check calls: the student's function or class, wherever it runs.

    :class:`LocalSubject` calls it in this process (a notebook's test cell, ``course
    check``); the grader's subject (:mod:`course_lib.grading.replay`) answers from the
    results of calls made in a sandbox, so the verdict is reached outside the student's
    interpreter.
    """

    def bind(self, exercise: str) -> None:
        """The check's exercise, e.g. ``"sigmoid"`` (names the student's hand-in)."""

    def describe(self, stand_in: Callable[[], Any], forbidden: Sequence[str]) -> Description:
        raise NotImplementedError

    def call(self, args: tuple, kwargs: dict, *, forbidden: Sequence[str],
             observer: Observer | None, stand_in: Callable[[], Any]) -> _Run:
        raise NotImplementedError

    def probe(self, fn: Callable[..., Any], args: tuple, stand_in: Callable[[], Any] | None,
              guess: Callable[[], Any] | None = None, forbidden: Sequence[str] = ()) -> Any:
        raise NotImplementedError


def describe(value: Any) -> Description:
    """The :class:`Description` of a student's object."""
    return Description(callable(value), isinstance(value, type), _type_name(value))


def description_data(value: Any) -> dict:
    """:func:`describe` as data (a probe: the grader describes a hand-in this way)."""
    description = describe(value)
    return {"callable": description.callable, "is_class": description.is_class,
            "type_name": description.type_name}


class LocalSubject(Subject):
    """The student's function (or class) itself, called in this process.

    ``stand_in`` arguments are ignored: they tell a remote subject what a right answer
    would do while it waits for the real one.
    """

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def describe(self, stand_in: Callable[[], Any] | None = None,
                 forbidden: Sequence[str] = ()) -> Description:
        return describe(self.fn)

    def call(self, args: tuple, kwargs: dict, *, forbidden: Sequence[str] = FORBIDDEN_PACKAGES,
             observer: Observer | None = None, stand_in: Callable[[], Any] | None = None
             ) -> _Run:
        """Call on copies of the inputs, recording everything (see :class:`_Run`)."""
        run = _Run()
        call_args, call_kwargs = _copy(args), _copy(kwargs)
        seen = observer.before(call_args, call_kwargs) if observer else None
        numpy_warns = np.errstate(over="warn", divide="warn", invalid="warn", under="ignore")
        with warnings.catch_warnings(record=True) as caught, numpy_warns:
            warnings.simplefilter("always")
            try:
                result, run.delegated_to = _call_guarded(self.fn, call_args, call_kwargs,
                                                         forbidden)
            except Exception as exc:  # the student's error becomes the message
                run.error = _last_frame_line(exc)
                result = None
        if observer:
            run.observed = observer.after(call_args, call_kwargs, seen)
        if run.error is not None:
            return run
        run.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
        run.mutated = [f"argument {i + 1}" for i, (a, b) in enumerate(zip(args, call_args))
                       if _changed(a, b)]
        run.mutated += [k for k in kwargs if _changed(kwargs[k], call_kwargs[k])]
        run.outputs = (result,)
        return run

    def probe(self, fn: Callable[..., Any], args: tuple,
              stand_in: Callable[[], Any] | None = None,
              guess: Callable[[], Any] | None = None, forbidden: Sequence[str] = ()) -> Any:
        return fn(self.fn, *args)


# ------------------------------------------------------------------ the checker


class Checker:
    """Runs one exercise's cases against the reference and explains failures.

    Args:
        exercise: the name the student knows, e.g. ``"sigmoid"``.
        student_fn: the student's function.
        reference_fn: the reference with the same signature.
        outputs: names of the returned values; more than one means the function
            returns a tuple of that length (e.g. ``("dx", "dgamma", "dbeta")``).
        kind: what every output must be: ``"array"`` (a real ``np.ndarray`` of
            the reference's shape and dtype), ``"float"`` (a Python or NumPy float)
            or ``"int"`` (a Python or NumPy int, compared exactly).
        mistakes: classic wrong implementations to recognise in a failure.
        forbidden: top-level packages the student's function may not call;
            ``()`` for exercises where PyTorch is the point.
        stand_in: returns what a right answer is (default: ``reference_fn``); the grader
            asks it what to expect of calls whose real results are still to come.

    Under ``course grade`` (:mod:`course_lib.checks.handin`) a check in the student's
    notebook hands the function in instead of running, and the grader runs the same
    check on it outside the notebook.
    """

    def __init__(
        self,
        exercise: str,
        student_fn: Callable | Subject,
        reference_fn: Callable,
        *,
        outputs: Sequence[str] = ("output",),
        kind: str = "array",
        mistakes: Sequence[Mistake] = (),
        forbidden: Sequence[str] = FORBIDDEN_PACKAGES,
        stand_in: Callable[[], Any] | None = None,
    ) -> None:
        if kind not in ("array", "float", "int"):
            raise ValueError(f"kind: expected 'array', 'float' or 'int', got {kind!r}")
        if not isinstance(student_fn, Subject) and handin.active():
            handin.hand_in(exercise, student_fn)  # raises HandedIn: the grader checks it
        self.subject = student_fn if isinstance(student_fn, Subject) else LocalSubject(student_fn)
        self.subject.bind(exercise)
        self.stand_in = stand_in or (lambda: reference_fn)
        self.forbidden = tuple(forbidden)
        description = self.subject.describe(self.stand_in, self.forbidden)
        if not description.callable:
            raise CheckFailure(
                f"{exercise}: expected your function, got {description.type_name}. "
                f"Pass the function itself: check_{exercise}({exercise}), without calling it."
            )
        self.description = description
        self.exercise = exercise
        self.reference_fn = reference_fn
        self.outputs = tuple(outputs)
        self.kind = kind
        self.mistakes = tuple(mistakes)
        self.cases_passed = 0
        self.worst_error = 0.0

    # -- running ---------------------------------------------------------------

    def run_student(self, args: tuple, kwargs: dict | None = None, *,
                    observer: Observer | None = None) -> _Run:
        """Call the student's function on copies of the inputs, recording everything.

        Its result is ``run.outputs``: a tuple of the outputs when the exercise has
        several (a wrong-length result stays as it came, for the case to report).
        """
        run = self.subject.call(args, kwargs or {}, forbidden=self.forbidden,
                                observer=observer, stand_in=self.stand_in)
        if run.outputs is not None and len(self.outputs) > 1:
            run.outputs = run.outputs[0]
        return run

    def probe(self, fn: Callable[..., Any], *args: Any, guess: Any = None) -> Any:
        """``fn(student's object, *args)``: a look at the student's object (e.g. build a
        model and report its layers), run where the object is; returns data.

        ``fn`` is a module-level function of ``course_lib.checks`` that catches the
        student's errors itself. The grader's first guess of its result is ``fn`` on the
        stand-in, or ``guess()`` if given (for a probe too slow to run twice).
        """
        stand_in = self.stand_in if guess is None else None
        return self.subject.probe(fn, args, stand_in, guess, self.forbidden)

    def reference(self, args: tuple, kwargs: dict | None = None) -> tuple:
        """The reference's outputs as a tuple, on copies of the inputs."""
        result = self.reference_fn(*_copy(args), **_copy(kwargs or {}))
        return result if len(self.outputs) > 1 else (result,)

    # -- cases -----------------------------------------------------------------

    def case(
        self,
        description: str,
        *args: Any,
        hint: str | None = None,
        expected: tuple | Any | None = None,
        rtol: float | None = None,
        atol: float | None = None,
        **kwargs: Any,
    ) -> tuple:
        """Run one case; raise :class:`CheckFailure` if the student's result is wrong.

        Args:
            description: what the case tests, shown on failure.
            *args, **kwargs: the inputs, passed to both functions.
            hint: advice shown if this case fails and no known mistake matches.
            expected: the right outputs, when they come from elsewhere than the
                reference (e.g. a numerical gradient); a tuple for several outputs.
            rtol, atol: tolerances; by default :data:`TOLERANCES` of each
                expected output's dtype.

        Returns:
            The student's outputs, as a tuple.
        """
        if expected is None:
            expected = self.reference(args, kwargs)
        elif len(self.outputs) == 1:
            expected = (expected,)
        run = self.run_student(args, kwargs)
        context = _Context(self, description, args, kwargs, run, hint)
        context.require_clean_run()
        context.require_structure(expected)
        for name, want, got in zip(self.outputs, expected, run.outputs):
            context.require_close(name, want, got, rtol, atol)
        self.cases_passed += 1
        return run.outputs

    def outputs_of(self, description: str, *args: Any, like: tuple | Any,
                   hint: str | None = None, **kwargs: Any) -> tuple:
        """Run a case whose right answer is a property, not a value (e.g. a random draw).

        Requires what :meth:`case` requires except the values: a clean run (no error,
        warning, delegation or mutation) and outputs with the type, shape and dtype of
        ``like`` (a tuple for several outputs). Returns the student's outputs, as a
        tuple, for the caller to judge, then :meth:`fail` or :meth:`passed`.
        """
        like = like if len(self.outputs) > 1 else (like,)
        run = self.run_student(args, kwargs)
        context = _Context(self, description, args, kwargs, run, hint)
        context.require_clean_run()
        context.require_structure(like)
        return run.outputs

    def fail(self, description: str, problem: str, *, args: tuple = (), kwargs: dict | None = None,
             hint: str | None = None) -> None:
        """Raise a :class:`CheckFailure` for a property check written by hand."""
        run = _Run()
        _Context(self, description, args, kwargs or {}, run, hint).fail(problem)

    def fail_unless_written(self, description: str, error: str | None, *, args: tuple = (),
                            kwargs: dict | None = None, what: str = "function") -> None:
        """Fail with the one "not written yet" line if ``error`` is the released stub's."""
        if not_written(error):
            self.fail(description, f"your {what} {NOT_WRITTEN}", args=args, kwargs=kwargs)

    def passed(self, error: float = 0.0) -> None:
        """Count a hand-written case as passed, with its relative error."""
        self.cases_passed += 1
        self.worst_error = max(self.worst_error, error)

    def done(self) -> None:
        """Print the one-line success message."""
        print(
            f"✔ {self.exercise}: all {self.cases_passed} cases passed "
            f"(largest relative error {self.worst_error:.1e})"
        )


class _Context:
    """One case being judged; builds the failure message."""

    def __init__(self, checker: Checker, description: str, args: tuple, kwargs: dict,
                 run: _Run, hint: str | None) -> None:
        self.checker = checker
        self.description = description
        self.args = args
        self.kwargs = kwargs
        self.run = run
        self.hint = hint

    def fail(self, problem: str, *, extra: Sequence[str] = (), try_mistakes: bool = False) -> None:
        c = self.checker
        lines = [f"{c.exercise} failed on case {c.cases_passed + 1}: {self.description}"]
        if NOT_WRITTEN not in problem:  # the inputs of a first case would only distract
            lines += [f"  input {name}: {show(value)}" for name, value in self._named_inputs()]
        lines.append(f"  problem: {problem}")
        lines += [f"  {line}" for line in extra]
        if self.run.warnings:
            lines.append("  your function emitted: " + "; ".join(sorted(set(self.run.warnings))))
        mistake = self._matching_mistake() if try_mistakes else None
        if mistake is not None:
            lines.append(f"  this is a known mistake: {mistake.description}")
            lines.append(f"  hint: {mistake.hint}")
        elif self.hint:
            lines.append(f"  hint: {self.hint}")
        raise CheckFailure("\n".join(lines))

    def _named_inputs(self) -> list[tuple[str, Any]]:
        try:
            import inspect

            names = list(inspect.signature(self.checker.reference_fn).parameters)
        except (TypeError, ValueError):
            names = []
        named = [(names[i] if i < len(names) else f"arg{i + 1}", arg)
                 for i, arg in enumerate(self.args)]
        return named + list(self.kwargs.items())

    def _matching_mistake(self) -> Mistake | None:
        got = self.run.outputs
        for mistake in self.checker.mistakes:
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    wrong = mistake.fn(*_copy(self.args), **_copy(self.kwargs))
            except Exception:
                continue
            wrong = wrong if len(self.checker.outputs) > 1 else (wrong,)
            if _all_close(wrong, got):
                return mistake
        return None

    # -- requirements ------------------------------------------------------------

    def require_clean_run(self) -> None:
        run = self.run
        if not_written(run.error):
            self.hint = None  # no spoilers for an exercise not yet attempted
            self.fail(f"your function {NOT_WRITTEN}")
        if run.error is not None:
            self.fail(f"your function raised {run.error}")
        if run.delegated_to is not None:
            self.fail(
                f"your function called {run.delegated_to}. This exercise is about writing "
                "the computation yourself with NumPy; calling the reference or a framework "
                "earns no credit."
            )
        if run.mutated:
            self.fail(
                f"your function changed its input in place ({', '.join(run.mutated)}). "
                "Work on a copy or build a new array (e.g. np.where, not x[x < 0] = 0)."
            )
        if run.warnings:
            self.fail(
                "your function emitted a warning; under nbgrader any output on stderr "
                "scores the test 0, and a warning here means an overflow or invalid value.",
                try_mistakes=True,
            )

    def require_structure(self, expected: tuple) -> None:
        c, got = self.checker, self.run.outputs
        names = ", ".join(c.outputs)
        if len(c.outputs) > 1:
            got_value = got
            if not isinstance(got_value, (tuple, list)) or len(got_value) != len(c.outputs):
                self.fail(f"expected a tuple ({names}), got {_type_name(got_value)}"
                          + (f" of length {len(got_value)}" if isinstance(got_value, (tuple, list))
                             else ""))
            self.run.outputs = tuple(got_value)
        for name, want, value in zip(c.outputs, expected, self.run.outputs):
            self._require_type(name, want, value)

    def _require_type(self, name: str, want: Any, value: Any) -> None:
        label = f"{name}: " if len(self.checker.outputs) > 1 else ""
        kind = self.checker.kind
        if kind == "array":
            if type(value) is not np.ndarray:
                self.fail(f"{label}expected a np.ndarray, got {_type_name(value)}")
            if value.shape != want.shape:
                self.fail(f"{label}expected shape {want.shape}, got shape {value.shape}",
                          try_mistakes=True)
            if value.dtype != want.dtype:
                self.fail(f"{label}expected dtype {want.dtype} (the input's dtype), "
                          f"got {value.dtype}")
        elif kind == "float":
            # type(...) in, not isinstance: a bool or an object faking __eq__ is no float.
            if type(value) not in (float, np.float64, np.float32):
                self.fail(f"{label}expected a float, got {_type_name(value)}")
        elif type(value) is bool or not isinstance(value, (int, np.integer)):
            self.fail(f"{label}expected an int, got {_type_name(value)}")

    def require_close(self, name: str, want: Any, got: Any, rtol: float | None,
                      atol: float | None) -> None:
        c = self.checker
        default_rtol, default_atol = tolerance_for(getattr(want, "dtype", np.float64))
        rtol = default_rtol if rtol is None else rtol
        atol = default_atol if atol is None else atol
        if c.kind == "int":
            if int(got) != int(want):
                self.fail(f"expected {name} = {want}, got {got}", try_mistakes=True)
            return
        want_arr = np.asarray(want, dtype=np.float64)
        got_arr = np.asarray(got, dtype=np.float64)
        error = rel_error(want_arr, got_arr)
        if not within_tolerance(want_arr, got_arr, rtol, atol):
            where = _worst_index(want_arr, got_arr, rtol, atol)
            at = f" at index {where}" if want_arr.ndim else ""
            self.fail(
                f"{name} differs from the expected values",
                extra=[
                    f"expected {name}: {show(want)}",
                    f"got      {name}: {show(got)}",
                    f"worst element{at}: expected {want_arr[where]:.8g}, got {got_arr[where]:.8g}",
                    f"max relative error {error:.2e}; tolerance rtol={rtol:.0e}, atol={atol:.0e}",
                ],
                try_mistakes=True,
            )
        c.worst_error = max(c.worst_error, _summary_error(want_arr, got_arr, rtol, atol))


def _summary_error(expected: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> float:
    """Relative error for the success line, with values smaller than ``atol / rtol`` counted
    as that size: a right float32 answer of 0 where the reference has 1e-9 is not an error
    of 100%, and the number compares directly with ``rtol``."""
    floor = max(atol / rtol, 1e-8) if rtol > 0 else 1e-8
    same = (expected == got) | (np.isnan(expected) & np.isnan(got))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(expected - got) / np.maximum(floor, np.abs(expected) + np.abs(got))
    err = np.where(same | np.isnan(err), 0.0, err)
    return float(err.max()) if err.size else 0.0


def _all_close(wrong: tuple, got: tuple) -> bool:
    """Does a known mistake's output reproduce the student's (closely)?"""
    try:
        if len(wrong) != len(got):
            return False
        for w, g in zip(wrong, got):
            w_arr = np.asarray(w, dtype=np.float64)
            g_arr = np.asarray(g, dtype=np.float64)
            if w_arr.shape != g_arr.shape:
                return False
            rtol, atol = tolerance_for(getattr(g, "dtype", np.float64))
            if not within_tolerance(w_arr, g_arr, rtol, atol):
                return False
        return True
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------- numerical gradients


def numerical_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    r"""Gradient of :math:`L(x) = \sum f(x) \cdot dout` by central differences.

    .. math::
        \frac{\partial L}{\partial x_i} \approx \frac{L(x + h e_i) - L(x - h e_i)}{2h}

    Args:
        f: the forward function of one array.
        x: the point, float64 (differences in float32 are too coarse).
        dout: upstream gradient, the shape of ``f(x)``.
        h: the step.

    Returns:
        An array shaped like ``x``.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        plus = np.sum(f(x) * dout)
        flat_x[i] = old - h
        minus = np.sum(f(x) * dout)
        flat_x[i] = old
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def gradient_check(
    analytic: np.ndarray, f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
    dout: np.ndarray, h: float = 1e-6,
) -> float:
    """Relative error between an analytic gradient and :func:`numerical_gradient`."""
    return rel_error(numerical_gradient(f, x, dout, h), analytic)
