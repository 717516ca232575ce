"""dead_layer_probability against a PyTorch Monte Carlo, and check_dead_layer_probability."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.checks import CheckFailure, check_dead_layer_probability
from course_lib.reference.dead_relu import dead_layer_probability

widths = st.integers(min_value=1, max_value=3000)
depths = st.integers(min_value=0, max_value=10_000)


# ------------------------------------------------------------------ the reference


def _switched_off_share(width: int, depth: int, nets: int, seed: int) -> float:
    """Share of random zero-bias ReLU nets (He init) whose hidden layers reach all zeros
    on one fixed input, simulated with PyTorch (batched over nets)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(nets, 5, 1, generator=gen, dtype=torch.float64)  # one input per net
    h, fan_in = x, 5
    for _ in range(depth):
        weight = torch.randn(nets, width, fan_in, generator=gen, dtype=torch.float64)
        h = torch.relu(weight @ h * math.sqrt(2.0 / fan_in))
        fan_in = width
    return float((h.abs().sum(dim=(1, 2)) == 0).double().mean())


@pytest.mark.parametrize(("width", "depth"), [(1, 1), (2, 3), (3, 8), (4, 20), (6, 5)])
def test_matches_a_monte_carlo_of_relu_networks(width, depth):
    nets = 20_000
    p = dead_layer_probability(width, depth)
    share = _switched_off_share(width, depth, nets, seed=width * 100 + depth)
    # 5 standard errors of a binomial share: fails by chance about once in 3 million runs
    assert abs(share - p) <= 5 * math.sqrt(p * (1 - p) / nets) + 1e-12


def test_known_values():
    assert dead_layer_probability(1, 1) == pytest.approx(0.5, rel=1e-15)
    assert dead_layer_probability(2, 1) == pytest.approx(0.25, rel=1e-15)
    assert dead_layer_probability(1, 3) == pytest.approx(0.875, rel=1e-15)
    assert dead_layer_probability(2, 3) == pytest.approx(1 - 0.75**3, rel=1e-15)
    assert dead_layer_probability(8, 0) == 0.0
    assert type(dead_layer_probability(3, 4)) is float


def test_keeps_relative_precision_when_tiny():
    # the textbook 1 - (1 - 2**-w)**d is 0.0 here; the series gives depth * 2**-width
    assert dead_layer_probability(100, 10) == pytest.approx(10 * 2.0**-100, rel=1e-12)
    assert dead_layer_probability(2000, 5) == 0.0  # 2**-2000 underflows; no warning, no nan


@settings(max_examples=200, deadline=None)
@given(width=widths, depth=depths)
def test_is_a_probability_and_monotone(width, depth):
    p = dead_layer_probability(width, depth)
    assert 0.0 <= p <= 1.0
    assert dead_layer_probability(width, depth + 1) >= p  # deeper: more chances to die
    assert dead_layer_probability(width + 1, depth) <= p  # wider: each layer dies less
    # the textbook form rounds 1 - 2**-width to ~1e-16 and raises that error to `depth`
    textbook = 1 - (1 - 2.0**-width) ** depth
    assert p == pytest.approx(textbook, rel=1e-9, abs=2.3e-16 * (depth + 1))


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 3), ValueError, r"width: expected an int >= 1, got 0"),
        ((3, -1), ValueError, r"depth: expected an int >= 0, got -1"),
        ((2.0, 3), TypeError, r"width: expected a positive int, got float 2.0"),
        ((2, True), TypeError, r"depth: expected an int >= 0, got bool True"),
        (("4", 3), TypeError, r"width: expected a positive int, got str '4'"),
    ],
)
def test_bad_input_names_the_argument(args, error, match):
    with pytest.raises(error, match=match):
        dead_layer_probability(*args)


# ----------------------------------------------------------------------- the check


def _right(width, depth):
    return 1 - (1 - 0.5**width) ** depth


def _right_numpy(width, depth):
    import numpy as np

    return float(-np.expm1(depth * np.log1p(-np.exp2(-width))))


def test_check_passes_right_answers(capsys):
    check_dead_layer_probability(_right)
    check_dead_layer_probability(_right, seed=7, thorough=True)
    check_dead_layer_probability(_right_numpy, seed=3, thorough=True)
    out = capsys.readouterr()
    assert out.out.count("✔ dead_layer_probability") == 3
    assert out.err == ""


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda w, d: 0.5**w, r"the depth is missing"),
        (lambda w, d: 1 - (1 - 0.5**d) ** w, r"width and depth swapped"),
        (lambda w, d: 0.5 ** (w * d), r"\*every\* layer"),
        (lambda w, d: (1 - 0.5**w) ** d, r"survives"),
        (lambda w, d: d * 0.5**w, r"union bound"),
        (lambda w, d: 1 - 0.5**d, r"single unit"),
    ],
)
def test_check_names_classic_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_dead_layer_probability(wrong)


def test_check_rejects_torch_wrong_types_and_errors():
    def via_torch(width, depth):
        return float(1 - (1 - torch.tensor(0.5) ** width) ** depth)

    with pytest.raises(CheckFailure, match=r"called torch"):
        check_dead_layer_probability(via_torch)
    with pytest.raises(CheckFailure, match=r"expected a float, got int"):
        check_dead_layer_probability(lambda w, d: 0 if d == 0 else _right(w, d))
    with pytest.raises(CheckFailure, match=r"not written yet \(it raises NotImplementedError\)"):
        check_dead_layer_probability(lambda w, d: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(CheckFailure, match=r"expected your function"):
        check_dead_layer_probability(_right(2, 3))


def test_check_catches_an_answer_wrong_only_on_random_cases():
    def wrong_for_large_depth(width, depth):
        return _right(width, depth) if depth < 60 else _right(width, depth - 1)

    with pytest.raises(CheckFailure, match=r"random network"):
        check_dead_layer_probability(wrong_for_large_depth, thorough=True)
