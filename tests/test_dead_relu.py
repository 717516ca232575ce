"""Dead units (course_lib.reference.dead_relu) and their check, saturation (course_lib.lab)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib.checks import CheckFailure
from course_lib.checks.dead_relu import check_dead_unit_fraction
from course_lib.lab import saturation
from course_lib.reference import dead_relu


def torch_dead_fraction(acts: np.ndarray) -> float:
    """PyTorch oracle: share of columns never > 0."""
    units = torch.from_numpy(acts.reshape(acts.shape[0], -1))
    return float((~(units > 0).any(dim=0)).double().mean())


activations = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    elements=st.sampled_from([0.0, -0.0, 1e-30, -1e-30, 0.5, -2.0, 1e4, -1e4, 3.25]),
)


# ------------------------------------------------------------------ dead_unit_fraction


@settings(max_examples=150, deadline=None)
@given(activations)
def test_dead_unit_fraction_matches_torch(acts):
    before = acts.copy()
    got = dead_relu.dead_unit_fraction(acts)
    assert type(got) is float
    assert got == torch_dead_fraction(acts)
    assert 0.0 <= got <= 1.0
    np.testing.assert_array_equal(acts, before)  # the input is not touched


def test_dead_unit_fraction_by_hand():
    acts = np.array([[0.0, 1.0, -1.0, 0.0],
                     [0.0, 0.0, -2.0, 3.0],
                     [-0.0, 0.0, 0.0, 0.0]])
    # columns: dead (zeros), alive, dead (never > 0), alive (once)
    assert dead_relu.dead_unit_fraction(acts) == 0.5


def test_one_sample_and_one_unit():
    assert dead_relu.dead_unit_fraction(np.array([[0.0, 2.0, -1.0, 5.0]])) == 0.5
    assert dead_relu.dead_unit_fraction(np.array([[0.0], [0.0], [1e-30]])) == 0.0
    assert dead_relu.dead_unit_fraction(np.array([[0.0], [-0.0]], dtype=np.float32)) == 1.0


def test_nan_is_not_positive():
    assert dead_relu.dead_unit_fraction(np.array([[np.nan, 1.0], [0.0, np.nan]])) == 0.5


def test_conv_maps_are_units_per_channel_position():
    rng = np.random.default_rng(0)
    maps = np.maximum(rng.normal(size=(5, 3, 4, 4)), 0.0) * (rng.random((5, 3, 4, 4)) < 0.2)
    maps[:, 1] = 0.0  # channel 1 dead everywhere
    one_channel_dead = np.zeros(48, bool)
    one_channel_dead[16:32] = True  # channel 1 at each of its 16 positions
    assert dead_relu.dead_unit_fraction(maps) >= one_channel_dead.mean()
    assert dead_relu.dead_unit_fraction(maps) == dead_relu.dead_unit_fraction(maps.reshape(5, -1))
    assert dead_relu.dead_unit_fraction(maps) == torch_dead_fraction(maps)


@pytest.mark.parametrize(("acts", "error", "match"), [
    ([[0.0, 1.0]], TypeError, r"acts: expected a float32 or float64 np.ndarray, got list"),
    (np.array([[0, 1]]), TypeError, r"acts: expected dtype float32 or float64, got int64"),
    (np.array([0.0, 1.0]), ValueError, r"acts: expected \(N, units\).*got shape \(2,\)"),
    (np.zeros((0, 3)), ValueError, r"acts: expected a non-empty array, got shape \(0, 3\)"),
    (np.zeros((4, 0)), ValueError, r"acts: expected a non-empty array, got shape \(4, 0\)"),
])
def test_dead_unit_fraction_bad_input(acts, error, match):
    with pytest.raises(error, match=match):
        dead_relu.dead_unit_fraction(acts)


# -------------------------------------------------------------------------- saturation


def test_saturated_fraction_tanh_and_sigmoid_by_hand():
    tanh_acts = np.array([[-0.99, -0.96, 0.0], [0.5, 0.971, 1.0]], dtype=np.float32)
    assert saturation.saturated_fraction(tanh_acts, "tanh") == pytest.approx(3 / 6)
    sigmoid_acts = np.array([0.0, 0.02, 0.03, 0.5, 0.97, 0.98])
    assert saturation.saturated_fraction(sigmoid_acts, "sigmoid") == pytest.approx(3 / 6)
    assert saturation.saturated_fraction(sigmoid_acts, "sigmoid",
                                         threshold=0.6) == pytest.approx(5 / 6)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                  elements=st.floats(-1e4, 1e4)))
def test_saturated_fraction_matches_torch(z):
    tanh = torch.tanh(torch.from_numpy(z))
    expected = float((tanh.abs() > 0.97).double().mean())
    assert saturation.saturated_fraction(tanh.numpy(), "tanh") == pytest.approx(expected)
    sig = torch.sigmoid(torch.from_numpy(z))
    expected = float(((sig < 0.03) | (sig > 0.97)).double().mean())
    assert saturation.saturated_fraction(sig.numpy(), "sigmoid") == pytest.approx(expected)


def test_saturated_fraction_bad_input():
    with pytest.raises(ValueError, match=r"activation: expected one of 'tanh', 'sigmoid', got "
                                         r"str 'relu'.*dead_unit_fraction"):
        saturation.saturated_fraction(np.zeros(3), "relu")
    with pytest.raises(ValueError, match=r"threshold: expected a number in \(0.5, 1\), got 1.5"):
        saturation.saturated_fraction(np.zeros(3), "tanh", threshold=1.5)
    with pytest.raises(TypeError, match=r"threshold: expected a number"):
        saturation.saturated_fraction(np.zeros(3), "tanh", threshold="0.9")
    with pytest.raises(ValueError, match=r"acts: expected at least one value"):
        saturation.saturated_fraction(np.zeros(0), "tanh")


# --------------------------------------------------------------------------- the check


def correct(acts):
    return float(np.mean(~np.any(acts > 0, axis=0)))


def correct_float32(acts):
    return np.mean(np.all(acts <= 0, axis=0), dtype=np.float32)


def test_check_accepts_correct_implementations(capsys):
    check_dead_unit_fraction(correct)
    check_dead_unit_fraction(correct_float32, seed=3, thorough=True)
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("✔ dead_unit_fraction") for line in lines)


def test_thorough_runs_more_cases(capsys):
    check_dead_unit_fraction(correct)
    quick = capsys.readouterr().out
    check_dead_unit_fraction(correct, thorough=True)
    thorough = capsys.readouterr().out
    count = [int(text.split("all ")[1].split(" cases")[0]) for text in (quick, thorough)]
    assert count[1] > count[0]


@pytest.mark.parametrize(("wrong", "hint"), [
    (lambda acts: float(np.mean(acts <= 0)), "reduce over the samples first"),
    (lambda acts: float(np.mean(~np.any(acts >= 0, axis=0))), "alive means positive"),
    (lambda acts: float(np.mean(~np.any(acts > 0, axis=1))), "reduce over axis 0"),
    (lambda acts: float(np.sum(~np.any(acts > 0, axis=0))), "divide the count"),
    (lambda acts: np.sum(~np.any(acts > 0, axis=0)), "divide the count"),
])
def test_check_names_the_classic_mistakes(wrong, hint):
    with pytest.raises(CheckFailure, match=hint):
        check_dead_unit_fraction(wrong)


#: Tests right for ReLU outputs (never negative) but not for values that can be negative,
#: and the mistake each must be told: never "you tested acts >= 0".
RIGHT_FOR_RELU_OUTPUTS = [
    (lambda acts: float(np.mean(~acts.any(0))), "every value is exactly 0"),
    (lambda acts: float(np.mean((acts == 0).all(axis=0))), "every value is exactly 0"),
    (lambda acts: float(np.mean(np.count_nonzero(acts, axis=0) == 0)), "every value is exactly 0"),
    (lambda acts: float(np.mean(np.abs(acts).sum(axis=0) == 0)), "every value is exactly 0"),
    (lambda acts: float(np.mean(acts.sum(axis=0) == 0)), "every value is exactly 0"),
    (lambda acts: float(np.mean(acts.max(axis=0) == 0)), "largest value is exactly 0"),
    (lambda acts: float(np.mean(acts.sum(axis=0) <= 0)), "sum \\(or average\\) to <= 0"),
    (lambda acts: float(np.mean(acts.mean(axis=0) <= 0)), "sum \\(or average\\) to <= 0"),
]


@pytest.mark.parametrize(("wrong", "named"), RIGHT_FOR_RELU_OUTPUTS,
                         ids=range(len(RIGHT_FOR_RELU_OUTPUTS)))
def test_tests_right_only_for_relu_outputs_are_named_for_what_they_do(wrong, named):
    relu_like = np.maximum(np.random.default_rng(0).normal(size=(50, 20)), 0.0)
    relu_like[:, :5] = 0.0
    assert wrong(relu_like) == correct(relu_like)  # right on ReLU outputs ...
    with pytest.raises(CheckFailure) as failure:  # ... but not in general, and told why
        check_dead_unit_fraction(wrong)
    message = str(failure.value)
    assert re.search("known mistake: .*" + named, message), message
    assert "acts >= 0" not in message, message


def test_each_dead_unit_mistake_is_named_as_itself(monkeypatch):
    """Each classic mistake, handed in as the student (the delegation guard off: it is
    course_lib's code), fails on a case where it is the first mistake that matches."""
    from course_lib.checks import core
    from course_lib.checks.mistakes.dead_relu import DEAD_UNIT_MISTAKES

    original = core._call_guarded
    monkeypatch.setattr(core, "_call_guarded",
                        lambda fn, args, kwargs, forbidden: original(fn, args, kwargs, ()))
    for mistake in DEAD_UNIT_MISTAKES:
        with pytest.raises(CheckFailure) as failure:
            check_dead_unit_fraction(mistake.fn)
        assert f"known mistake: {mistake.description}" in str(failure.value), (
            mistake.description, str(failure.value))


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = None


@pytest.mark.parametrize(("result", "problem"), [
    (lambda acts: True, r"expected a float, got the bool True"),
    (lambda acts: np.bool_(False), r"expected a float, got the bool"),
    (lambda acts: AlwaysEqual(), r"expected a float, got .*AlwaysEqual"),
    (lambda acts: np.mean(~np.any(acts > 0, axis=0), keepdims=True),
     r"expected one float for the whole layer, got an np.ndarray of shape \(1,\)"),
    (lambda acts: ~np.any(acts > 0, axis=0) * 1.0, r"got an np.ndarray of shape"),
    (lambda acts: "0.5", r"expected a float, got str"),
    (lambda acts: None, r"expected a float, got NoneType"),
])
def test_check_rejects_results_that_are_not_floats(result, problem):
    with pytest.raises(CheckFailure, match=problem):
        check_dead_unit_fraction(result)


def test_check_rejects_an_int_even_when_the_value_is_right():
    def int_when_none_dead(acts):
        dead = ~np.any(acts > 0, axis=0)
        return 0 if not dead.any() else float(dead.mean())

    with pytest.raises(CheckFailure, match=r"(?s)case 2: no unit is dead.*expected a float, "
                                           r"got the integer 0.*hint: return the fraction"):
        check_dead_unit_fraction(int_when_none_dead)


def test_check_reports_errors_mutation_and_delegation():
    def crashes(acts):
        raise IndexError("oops")

    def mutates(acts):
        acts[acts < 0] = 0
        return float(np.mean(~np.any(acts > 0, axis=0)))

    with pytest.raises(CheckFailure, match=r"your function raised IndexError: oops"):
        check_dead_unit_fraction(crashes)
    with pytest.raises(CheckFailure, match=r"changed its input in place"):
        check_dead_unit_fraction(mutates)
    with pytest.raises(CheckFailure, match=r"called course_lib"):
        check_dead_unit_fraction(dead_relu.dead_unit_fraction)
    with pytest.raises(CheckFailure, match=r"Pass the function itself"):
        check_dead_unit_fraction(0.5)


def test_check_failure_shows_input_expected_and_got():
    with pytest.raises(CheckFailure) as info:
        check_dead_unit_fraction(lambda acts: float(np.mean(acts <= 0)))
    message = str(info.value)
    assert "input acts:" in message
    assert "expected output: 0" in message
    assert "got      output: 0.666667" in message


def test_numpy_only_modules_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, course_lib, course_lib.reference.dead_relu, course_lib.lab.saturation, "
            "course_lib.lab.plots, course_lib.checks.dead_relu; sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
