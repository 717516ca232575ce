"""xavier_std against torch.nn.init, and check_xavier_std against right and wrong answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.checks import CheckFailure, check_xavier_std
from course_lib.reference.init import xavier_std

fans = st.integers(min_value=1, max_value=4096)
gains = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)


def _empirical_std(tensor: torch.Tensor) -> float:
    return float(tensor.std())


# ------------------------------------------------------------- against torch.nn.init


@settings(max_examples=50, deadline=None)
@given(fan_in=fans, fan_out=fans, gain=gains)
def test_xavier_std_matches_torch_formula(fan_in, fan_out, gain):
    # torch.nn.init.xavier_normal_ computes std inline; reproduce it from its own fan helper.
    w = torch.empty(fan_out, fan_in)
    t_in, t_out = torch.nn.init._calculate_fan_in_and_fan_out(w)
    assert (t_in, t_out) == (fan_in, fan_out)
    assert xavier_std(fan_in, fan_out, gain) == pytest.approx(
        gain * math.sqrt(2.0 / float(t_in + t_out)), rel=1e-12
    )


def test_xavier_std_matches_torch_samples():
    gen = torch.Generator().manual_seed(0)
    w = torch.empty(400, 600, dtype=torch.float64)
    torch.nn.init.xavier_normal_(w, gain=5 / 3, generator=gen)
    assert _empirical_std(w) == pytest.approx(xavier_std(600, 400, 5 / 3), rel=0.01)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: xavier_std(0, 5), ValueError, r"fan_in: expected an int >= 1, got 0"),
        (lambda: xavier_std(5, -1), ValueError, r"fan_out: expected an int >= 1, got -1"),
        (lambda: xavier_std(5.0, 5), TypeError, r"fan_in: expected a positive int, got float"),
        (lambda: xavier_std(5, 5, gain=-1.0), ValueError, r"gain: expected a number >= 0"),
        (lambda: xavier_std(5, 5, gain="1"), TypeError, r"gain: expected a real number, got str"),
        (lambda: xavier_std(True, 5), TypeError, r"fan_in: expected a positive int"),
        (lambda: xavier_std(4, 4, float("nan")), ValueError, r"gain: expected a finite"),
        (lambda: xavier_std(None, 5), TypeError, r"fan_in: expected a positive int, got"),
    ],
)
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----------------------------------------------------------------------- the check


def _right(fan_in, fan_out, gain=1.0):
    return gain * (2.0 / (fan_in + fan_out)) ** 0.5


def test_check_passes_a_right_answer(capsys):
    check_xavier_std(_right)
    check_xavier_std(_right, seed=7, thorough=True)
    out = capsys.readouterr()
    assert out.out.count("✔ xavier_std") == 2
    assert out.err == ""


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda fi, fo, gain=1.0: gain * (1.0 / fi) ** 0.5, r"LeCun"),
        (lambda fi, fo, gain=1.0: gain * (2.0 / fi) ** 0.5, r"He"),
        (lambda fi, fo, gain=1.0: gain * 2.0 / (fi + fo), r"variance"),
        (lambda fi, fo, gain=1.0: gain * (6.0 / (fi + fo)) ** 0.5, r"uniform"),
        (lambda fi, fo, gain=1.0: (gain * 2.0 / (fi + fo)) ** 0.5, r"gain"),
        (lambda fi, fo, gain=1.0: (2.0 / (fi + fo)) ** 0.5, r"gain"),
        (lambda fi, fo, gain=1.0: gain * (2 // (fi + fo)) ** 0.5, r"integer division"),
        (lambda fi, fo, gain=1.0: gain * (1.0 / (fi + fo)) ** 0.5,
         r"the 2 is missing(.|\n)*hint: Xavier's variance is 2 / \(fan_in \+ fan_out\)"),
    ],
)
def test_check_names_classic_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_xavier_std(wrong, thorough=True)


def test_check_rejects_torch_and_wrong_types():
    def via_torch(fan_in, fan_out, gain=1.0):
        w = torch.empty(fan_out, fan_in)
        return float(gain * torch.nn.init.calculate_gain("linear") * (2 / sum(w.shape)) ** 0.5)

    with pytest.raises(CheckFailure, match=r"called torch"):
        check_xavier_std(via_torch)
    with pytest.raises(CheckFailure, match=r"expected a float"):
        check_xavier_std(lambda fi, fo, gain=1.0: [_right(fi, fo, gain)])
    with pytest.raises(CheckFailure, match=r"expected a float, got np.ndarray"):
        check_xavier_std(lambda fi, fo, gain=1.0: np.array([_right(fi, fo, gain)]))
    with pytest.raises(CheckFailure, match=r"without calling it"):
        check_xavier_std(_right(3, 4))


def test_check_reports_an_unfinished_exercise():
    def unfinished(fan_in, fan_out, gain=1.0):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match=r"NotImplementedError"):
        check_xavier_std(unfinished)


@pytest.mark.parametrize("wrong", [
    lambda fi, fo, gain=1.0: gain * (2.0 / (fi + fo)) ** 0.5 * 1.001,  # near, not the mistake
    lambda fi, fo, gain=1.0: gain * (2.0 / (fi * fo)) ** 0.5,  # a product, not a sum
    lambda fi, fo, gain=1.0: gain * (1.0 / (2 * (fi + fo))) ** 0.5,  # 2 on the wrong side
])
def test_the_missing_2_is_named_only_for_that_mistake(wrong):
    with pytest.raises(CheckFailure) as failure:
        check_xavier_std(wrong)
    assert "the 2 is missing" not in str(failure.value)
