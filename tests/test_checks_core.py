"""The check engine: comparisons, numerical gradients, and how a Checker judges a student."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib.checks.core import (
    TOLERANCES,
    Checker,
    CheckFailure,
    Mistake,
    gradient_check,
    numerical_gradient,
    rel_error,
    within_tolerance,
)


def square(x):
    return x * x


def run_cases(student, reference=square, **kwargs):
    checker = Checker("square", student, reference, **kwargs)
    checker.case("small values", np.array([0.0, 1.5, -2.0]))
    checker.case("float32", np.array([[1.0, -3.0]], dtype=np.float32))
    checker.done()


# ----------------------------------------------------------------------- comparisons


def test_rel_error_matches_cs231n_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.array([np.inf]), np.array([np.inf])) == 0.0
    assert rel_error(np.array([np.nan]), np.array([np.nan])) == 0.0
    assert rel_error(np.array([1.0]), np.array([np.nan])) == np.inf


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4),
                  elements=st.floats(-1e6, 1e6)))
def test_an_array_is_within_tolerance_of_itself(x):
    assert within_tolerance(x, x.copy(), 0.0, 0.0)
    assert rel_error(x, x.copy()) == 0.0


def test_within_tolerance_rejects_nan_where_a_number_is_expected():
    assert not within_tolerance(np.array([1.0]), np.array([np.nan]), 1e-3, 1e-3)


def test_numerical_gradient_of_a_known_function():
    rng = np.random.default_rng(0)
    x, dout = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    grad = numerical_gradient(np.sin, x, dout)
    assert rel_error(np.cos(x) * dout, grad) < 1e-8
    assert gradient_check(np.cos(x) * dout, np.sin, x, dout) < 1e-8
    assert gradient_check(2 * np.cos(x) * dout, np.sin, x, dout) > 0.1


# ------------------------------------------------------------------------- checker


def test_correct_function_passes_and_prints_one_line(capfd):
    run_cases(lambda x: x**2)
    out, err = capfd.readouterr()
    assert out.startswith("✔ square: all 2 cases passed")
    assert out.count("\n") == 1
    assert err == ""


def test_wrong_values_report_case_input_expected_got_and_error(capfd):
    with pytest.raises(CheckFailure) as failure:
        run_with_hint(lambda x: x * 2)
    message = str(failure.value)
    assert "square failed on case 1: small values" in message
    assert "input x: [ 0.   1.5 -2. ]" in message
    assert "expected output" in message and "got      output" in message
    assert "worst element at index (2,): expected 4, got -4" in message
    assert "max relative error" in message and "tolerance rtol=1e-07" in message
    assert "hint: square each element" in message
    assert capfd.readouterr().err == ""


def run_with_hint(student, hint="square each element", **kwargs):
    checker = Checker("square", student, square, **kwargs)
    checker.case("small values", np.array([0.0, 1.5, -2.0]), hint=hint)


def test_known_mistake_is_named():
    doubling = Mistake("doubling instead of squaring", lambda x: 2 * x, "use x * x")
    with pytest.raises(CheckFailure, match="known mistake: doubling instead of squaring"):
        run_with_hint(lambda x: x + x, mistakes=[doubling])


def test_fake_eq_object_is_rejected():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(CheckFailure, match="expected a np.ndarray, got .*AlwaysEqual"):
        run_with_hint(lambda x: AlwaysEqual())


def test_ndarray_subclass_and_list_are_rejected():
    with pytest.raises(CheckFailure, match="expected a np.ndarray, got list"):
        run_with_hint(lambda x: list(x * x))
    with pytest.raises(CheckFailure, match="expected a np.ndarray"):
        run_with_hint(lambda x: np.ma.masked_array(x * x))


def test_wrong_shape_and_dtype_are_rejected():
    with pytest.raises(CheckFailure, match=r"expected shape \(3,\), got shape \(1, 3\)"):
        run_with_hint(lambda x: (x * x)[None])
    with pytest.raises(CheckFailure, match="expected dtype float64 .* got float32"):
        run_with_hint(lambda x: (x * x).astype(np.float32))


def test_exception_in_student_code_is_reported_not_raised():
    def broken(x):
        return x @ np.ones((7, 7))

    with pytest.raises(CheckFailure, match=r"your function raised ValueError: .*\(in broken, line"):
        run_with_hint(broken)


def test_warning_is_a_failure_and_never_reaches_stderr(capfd):
    def noisy(x):
        np.exp(np.array([1000.0]))
        return x * x

    with pytest.raises(CheckFailure, match="overflow encountered in exp"):
        run_with_hint(noisy)
    assert capfd.readouterr().err == ""


def test_warning_detected_even_if_the_notebook_silenced_numpy():
    def noisy(x):
        np.exp(np.array([1000.0]))
        return x * x

    with np.errstate(all="ignore"), pytest.raises(CheckFailure, match="overflow"):
        run_with_hint(noisy)


def test_input_mutation_is_rejected():
    def in_place(x):
        x *= x
        return x

    with pytest.raises(CheckFailure, match="changed its input in place"):
        run_with_hint(in_place)


def test_delegation_to_torch_or_the_reference_is_detected():
    import torch

    from course_lib import checks

    with pytest.raises(CheckFailure, match="called torch"):
        run_with_hint(lambda x: torch.from_numpy(x).square().numpy())
    with pytest.raises(CheckFailure, match=r"called course_lib\.checks\.core\.rel_error"):
        run_with_hint(lambda x: x * x + 0 * checks.rel_error(x, x))


def test_delegation_allowed_when_nothing_is_forbidden():
    import torch

    run_cases(lambda x: torch.from_numpy(x).square().numpy(), forbidden=())


def test_profiler_is_restored_after_a_check():
    import sys

    run_cases(lambda x: x**2)
    assert sys.getprofile() is None


def test_tuple_outputs_are_checked_by_name():
    def ref(x):
        return x * x, 2 * x

    checker = Checker("pair", lambda x: (x * x,), ref, outputs=("value", "grad"))
    with pytest.raises(CheckFailure, match=r"expected a tuple \(value, grad\), got tuple"):
        checker.case("pair", np.ones(2))
    checker = Checker("pair", lambda x: (x * x, 3 * x), ref, outputs=("value", "grad"))
    with pytest.raises(CheckFailure, match="grad differs"):
        checker.case("pair", np.ones(2))


def test_not_a_function_gives_a_usable_message():
    with pytest.raises(CheckFailure, match=r"Pass the function itself: check_square\(square\)"):
        Checker("square", np.ones(3), square)


def test_int_results_must_be_ints_and_floats_floats():
    Checker("size", lambda n: n + 0, lambda n: n + 0, kind="int").case("int", 3)
    with pytest.raises(CheckFailure, match="expected an int, got float"):
        Checker("size", lambda n: float(n), lambda n: n + 0, kind="int").case("int", 3)
    with pytest.raises(CheckFailure, match="expected an int, got bool"):
        Checker("size", lambda n: True, lambda n: 1, kind="int").case("bool", 1)
    with pytest.raises(CheckFailure, match=r"expected output = 4, got 5"):
        Checker("size", lambda n: n + 2, lambda n: n + 1, kind="int").case("off by one", 3)
    Checker("share", lambda a: np.float32(0.5), lambda a: 0.5, kind="float").case("f", 1)
    with pytest.raises(CheckFailure, match="expected a float, got bool"):
        Checker("share", lambda a: False, lambda a: 0.0, kind="float").case("f", 1)
    with pytest.raises(CheckFailure, match="expected a float, got np.ndarray"):
        Checker("share", lambda a: np.array(0.5), lambda a: 0.5, kind="float").case("f", 1)


def test_expected_values_override_the_reference():
    checker = Checker("square", lambda x: x * x, square)
    checker.case("given", np.array([3.0]), expected=np.array([9.0]))
    with pytest.raises(CheckFailure):
        checker.case("given wrong", np.array([3.0]), expected=np.array([10.0]))


def test_unanswered_exercise_gets_a_plain_message_and_no_spoiler():
    def unanswered(x):
        raise NotImplementedError()

    with pytest.raises(CheckFailure) as failure:
        run_with_hint(unanswered, hint="the answer is x * x")
    message = str(failure.value)
    assert "not written yet" in message
    assert "the answer is" not in message


def test_switching_off_the_call_monitor_counts_as_delegation():
    import sys

    def sneaky(x):
        sys.setprofile(None)
        return x * x

    with pytest.raises(CheckFailure, match="switched off the check's call monitor"):
        run_with_hint(sneaky)
    assert sys.getprofile() is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_answer_just_outside_the_tolerance_fails_and_just_inside_passes(dtype, capsys):
    """The tolerances themselves, not only their text: a float64 answer off by 1.5x the
    allowed error fails, one off by 0.5x passes (likewise float32 with its own)."""
    rtol, atol = TOLERANCES[dtype]
    x = np.linspace(1.0, 2.0, 5).astype(dtype)

    def off_by(factor):
        return lambda v: (v + factor * (atol + rtol * np.abs(v))).astype(v.dtype)

    Checker("identity", off_by(0.5), lambda v: v.copy(), forbidden=()).case("x", x)
    with pytest.raises(CheckFailure, match=r"max relative error .*tolerance rtol="):
        Checker("identity", off_by(1.5), lambda v: v.copy(), forbidden=()).case("x", x)
