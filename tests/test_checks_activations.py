"""The activation checks: what every one of them accepts and rejects, and the known
mistakes of notebooks 02 and 03 (sigmoid, tanh, ReLU).

Notebook 04's mistakes are in test_checks_relu_variants.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from activation_students import ALTERNATIVES, EXERCISES, reference_as_student

import course_lib.checks as checks
from course_lib.checks import CheckFailure
from course_lib.reference import activations, relu_variants


def check(name: str):
    return getattr(checks, f"check_{name}")


def reference(name: str):
    return getattr(reference_as_student(), name)


# ------------------------------------------------------------ correct solutions pass


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("thorough", [False, True])
def test_reference_passes_with_one_line_and_nothing_on_stderr(name, thorough, capfd):
    check(name)(reference(name), thorough=thorough)
    out, err = capfd.readouterr()
    assert out.startswith(f"✔ {name}: all ") and "cases passed" in out
    assert out.count("\n") == 1
    assert err == ""


@pytest.mark.parametrize("name", EXERCISES)
def test_a_differently_written_correct_solution_passes(name, capfd):
    check(name)(ALTERNATIVES[name], thorough=True)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("name", ["sigmoid", "relu_grad", "prelu_backward", "rrelu", "elu"])
@pytest.mark.parametrize("seed", [1, 12345])
def test_other_seeds_pass_too(name, seed, capfd):
    check(name)(ALTERNATIVES[name], seed=seed)
    assert "cases passed" in capfd.readouterr().out


def test_checks_resolve_lazily_from_course_lib_checks():
    from course_lib.checks import activations, relu_variants

    for name in EXERCISES:
        module = activations if hasattr(activations, f"check_{name}") else relu_variants
        assert check(name) is getattr(module, f"check_{name}")


def test_reported_error_of_a_correct_float32_solution_is_small(capsys):
    # The tanh-based sigmoid rounds tiny float32 values to 0; that is within tolerance and
    # must not be summarized as a 100% error.
    checks.check_sigmoid(ALTERNATIVES["sigmoid"], thorough=True)
    reported = float(capsys.readouterr().out.split("largest relative error ")[1].rstrip(")\n"))
    assert reported < 1e-4


# ----------------------------------------------- what every check rejects, the same way


class AlwaysEqual:
    """Equal to everything: passes a naive ``assert out == expected``."""

    def __eq__(self, other):
        return True

    __hash__ = None


def _outputs(name, result, transform):
    """Apply ``transform`` to each array the exercise returns."""
    if name == "prelu_backward":
        return tuple(transform(r) for r in result)
    return transform(result)


def _defective(name: str, transform):
    good = reference(name)

    def student(*args, **kwargs):
        return _outputs(name, good(*args, **kwargs), transform)

    return student


def _delegates_to_torch(name):
    import torch

    return _defective(name, lambda r: torch.from_numpy(np.array(r)).numpy())


def _delegates_to_reference(name):
    return getattr(activations, name, None) or getattr(relu_variants, name)


def _mutates_input(name):
    good = reference(name)

    def student(*args, **kwargs):
        result = good(*args, **kwargs)
        args[1 if name == "prelu_backward" else 0][...] = 1.0
        return result

    return student


def _raises(name):
    def student(*args, **kwargs):
        raise ValueError("something broke inside")

    return student


REJECTIONS = {
    "an object whose == is always True": (
        lambda n: _defective(n, lambda r: AlwaysEqual()),
        "expected a np.ndarray, got .*AlwaysEqual"),
    "a list instead of an ndarray": (
        lambda n: _defective(n, lambda r: r.tolist()), "expected a np.ndarray, got list"),
    "an extra axis": (
        lambda n: _defective(n, lambda r: r[None]), "expected shape .* got shape"),
    "float64 out for float32 in": (
        lambda n: _defective(n, lambda r: r.astype(np.float64)),
        "expected dtype float32 \\(the input's dtype\\), got float64"),
    "a call to torch": (_delegates_to_torch, "your function called torch"),
    "the course_lib reference itself": (_delegates_to_reference, "called course_lib"),
    "a change to its input": (_mutates_input, "changed its input in place"),
    "an exception": (_raises, "raised ValueError: something broke inside \\(in student, line"),
}


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("defect", list(REJECTIONS))
def test_every_check_rejects_a_defective_function(name, defect, capfd):
    make, message = REJECTIONS[defect]
    with pytest.raises(CheckFailure, match=message) as failure:
        check(name)(make(name))
    assert f"{name} failed on case" in str(failure.value)
    assert "hint: " in str(failure.value)
    out, err = capfd.readouterr()
    assert err == "" and "cases passed" not in out


@pytest.mark.parametrize("name", EXERCISES)
def test_passing_the_result_instead_of_the_function_is_explained(name):
    with pytest.raises(CheckFailure, match=rf"Pass the function itself: check_{name}\({name}\)"):
        check(name)(np.zeros(3))


@pytest.mark.parametrize("name", ["sigmoid", "relu", "elu"])
def test_a_numerically_wrong_answer_shows_input_expected_got_and_tolerance(name):
    with pytest.raises(CheckFailure) as failure:
        check(name)(_defective(name, lambda r: r + 0.5))
    message = str(failure.value)
    for part in ("input x: [", "expected output: [", "got      output: [", "worst element",
                 "max relative error", "tolerance rtol=", "hint: "):
        assert part in message


# ----------------------------------------------------- notebook 02 and 03 mistakes


def naive_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_with_where(x):  # np.where computes both branches: still overflows
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def sigmoid_from_positive_exp(x):
    return np.exp(x) / (1.0 + np.exp(x))


def stable_sigmoid(x):
    return ALTERNATIVES["sigmoid"](x)


MISTAKES = [
    ("sigmoid", naive_sigmoid, "the naive sigmoid 1 / \\(1 \\+ np.exp\\(-x\\)\\) overflows",
     "exponentiate numbers <= 0"),
    ("sigmoid", sigmoid_with_where, "the naive sigmoid", "np.where computes both branches"),
    ("sigmoid", sigmoid_from_positive_exp, "inf / inf = nan", "exponentiate numbers <= 0"),
    ("sigmoid", lambda x: stable_sigmoid(-x), "wrong sign in the exponent", "sigmoid\\(0\\) = 0.5"),
    ("sigmoid_grad", lambda x: stable_sigmoid(x) * (1 + stable_sigmoid(x)),
     "sigmoid_grad written as s \\* \\(1 \\+ s\\)", "the derivative is s \\* \\(1 - s\\)"),
    ("sigmoid_grad", lambda x: x * (1 - x), "uses x instead of s = sigmoid\\(x\\)",
     "compute s = sigmoid\\(x\\) first"),
    ("sigmoid_grad", stable_sigmoid, "returns sigmoid\\(x\\) itself", "not s"),
    ("sigmoid_grad", lambda x: naive_sigmoid(x) * (1 - naive_sigmoid(x)),
     "sigmoid computed with the naive", "exponentiate numbers <= 0"),
    ("tanh_grad", lambda x: 1 - np.tanh(x), "the square is missing", "1 - tanh\\(x\\)\\*\\*2"),
    ("tanh_grad", lambda x: 1 - x**2, "uses x instead of tanh\\(x\\)", "t = np.tanh\\(x\\)"),
    ("tanh_grad", lambda x: 1 + np.tanh(x) ** 2, "wrong sign", "at most 1"),
    ("tanh_grad", lambda x: 1 - ((np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))) ** 2,
     "overflows to inf / inf", "use np.tanh"),
    ("tanh_grad", lambda x: 1 / np.cosh(x) ** 2, "right values through 1 / np.cosh",
     "your values are right.*1 - np.tanh\\(x\\)\\*\\*2"),
    ("tanh_grad", lambda x: (1 / np.cosh(x)) ** 2, "right values through 1 / np.cosh",
     "np.errstate\\(over='ignore'\\)"),
    ("relu", lambda x: (x > 0).astype(x.dtype), "returns the mask x > 0", "max\\(0, x\\)"),
    ("relu", lambda x: np.minimum(x, 0), "np.minimum instead of np.maximum", "larger of x and 0"),
    ("relu", np.abs, "np.abs instead of relu", "not -x"),
    ("relu_grad", lambda x: (x >= 0).astype(x.dtype), "relu_grad is 1 at x == 0",
     "use x > 0, not x >= 0"),
    ("relu_grad", lambda x: np.maximum(x, 0), "returns relu\\(x\\) instead of its derivative",
     "1 where x > 0"),
    ("relu_grad", lambda x: (x <= 0).astype(x.dtype), "relu_grad is inverted", "1 where x > 0"),
]


@pytest.mark.parametrize(("name", "student", "mistake", "hint"), MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_known_mistake_is_named_with_its_hint(name, student, mistake, hint, capfd):
    with pytest.raises(CheckFailure) as failure:
        check(name)(student)
    message = str(failure.value)
    assert "this is a known mistake: " in message
    assert_matches(mistake, message)
    assert_matches("hint: .*" + hint, message)
    assert capfd.readouterr().err == ""


def assert_matches(pattern: str, message: str) -> None:
    import re

    assert re.search(pattern, message), f"{pattern!r} not in:\n{message}"


def test_an_overflow_warning_is_reported_in_the_message_not_on_stderr(capfd):
    with pytest.raises(CheckFailure, match="RuntimeWarning: overflow encountered in exp"):
        checks.check_sigmoid(naive_sigmoid)
    assert capfd.readouterr().err == ""


def test_float64_out_for_float32_in_gets_the_dtype_hint():
    def relu_grad(x):
        return np.where(x > 0, 1.0, 0.0)

    with pytest.raises(CheckFailure, match=r"hint: .*\.astype\(x\.dtype\)"):
        checks.check_relu_grad(relu_grad)


def test_gradient_is_checked_against_central_differences():
    # Wrong only on the shape that only the numerical gradient case uses.
    def sigmoid_grad(x):
        s = stable_sigmoid(x)
        return s * (1 - s) * (1.01 if x.shape == (12,) else 1.0)

    with pytest.raises(CheckFailure, match="numerical gradient check") as failure:
        checks.check_sigmoid_grad(sigmoid_grad)
    assert "disagrees with the slope" in str(failure.value)


def test_thorough_mode_catches_what_the_visible_cases_miss():
    def sigmoid(x):  # wrong only for arrays larger than any visible case
        out = stable_sigmoid(x)
        return out if out.size < 1000 else out * 0.5

    checks.check_sigmoid(sigmoid)
    with pytest.raises(CheckFailure, match="dense grid|200,000 heavy-tailed values"):
        checks.check_sigmoid(sigmoid, thorough=True)


# ------------------------------------------- tanh_grad through cosh: right values, a warning


def _tanh_grad_checker(student):
    from course_lib.checks.core import Checker
    from course_lib.checks.mistakes.activations import TANH_GRAD_MISTAKES

    return Checker("tanh_grad", student, activations.tanh_grad, mistakes=TANH_GRAD_MISTAKES)


def cosh_tanh_grad(x):
    return 1 / np.cosh(x) ** 2


@pytest.mark.parametrize(("x", "warning"), [
    (np.array([46.0, -50.0], np.float32), "overflow encountered in (square|(scalar )?power)"),
    (np.array([100.0], np.float32), "overflow encountered in cosh"),
    (np.array([356.0, -400.0]), "overflow encountered in (square|(scalar )?power)"),
    (np.array([1e4]), "overflow encountered in cosh"),
])
def test_cosh_tanh_grad_gets_its_own_hint_exactly_where_it_overflows(x, warning):
    """1 / cosh(x)**2 gives the right values; only where cosh(x) or its square overflows
    does it warn, and the hint then says so instead of the np.exp overflow hint."""
    from course_lib.checks.elementwise import STABLE_HINT

    with pytest.raises(CheckFailure) as failure:
        _tanh_grad_checker(cosh_tanh_grad).case("large |x|", x, hint=STABLE_HINT)
    message = str(failure.value)
    assert_matches("RuntimeWarning: " + warning, message)
    assert "hint: your values are right" in message
    assert "np.exp of a large positive number" not in message


@pytest.mark.parametrize("x", [np.array([-45.0, -20.0, 0.0, 3.0, 44.0], np.float32),
                               np.linspace(-355.0, 355.0, 1001)])
def test_cosh_tanh_grad_passes_where_nothing_overflows(x):
    checker = _tanh_grad_checker(cosh_tanh_grad)
    checker.case("no overflow", x)
    assert checker.cases_passed == 1


def test_cosh_tanh_grad_with_the_overflow_silenced_passes_every_check(capfd):
    def tanh_grad(x):
        with np.errstate(over="ignore"):
            return 1 / np.cosh(x) ** 2

    checks.check_tanh_grad(tanh_grad)
    checks.check_tanh_grad(tanh_grad, seed=5, thorough=True)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("student", [
    lambda x: 1 - ((np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))) ** 2,  # nan: wrong
    lambda x: 1 / np.cosh(x),  # the square is missing: wrong values
    lambda x: 2 / np.cosh(x) ** 2,  # wrong values
])
def test_wrong_values_never_get_the_right_values_hint(student):
    with pytest.raises(CheckFailure) as failure:
        checks.check_tanh_grad(student)
    assert "your values are right" not in str(failure.value)
