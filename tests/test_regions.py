"""Linear pieces of ReLU networks, decision grids and the XOR network (course_lib.regions),
and the checks check_count_linear_pieces / check_xor_relu_weights.

PyTorch is the oracle: nn.Linear -> nn.ReLU -> nn.Linear networks in float64.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib.checks import CheckFailure, check_count_linear_pieces, check_xor_relu_weights
from course_lib.lab.regions import (
    XOR_INPUTS,
    XOR_LABELS,
    count_pieces_numerically,
    count_pieces_of_function,
    decision_grid,
    kinks_numerically,
    relu_net_forward,
    shallow_relu_parameters,
)
from course_lib.reference.regions import count_linear_pieces, kink_positions, xor_relu_weights


def shallow_net(w1, b1, w2, b2=0.0) -> nn.Sequential:
    """Linear(1, H) -> ReLU -> Linear(H, 1) in float64 with the given weights."""
    net = nn.Sequential(nn.Linear(1, len(w1)), nn.ReLU(), nn.Linear(len(w1), 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(w1, dtype=torch.float64)[:, None])
        net[0].bias.copy_(torch.tensor(b1, dtype=torch.float64))
        net[2].weight.copy_(torch.tensor(w2, dtype=torch.float64)[None, :])
        net[2].bias.fill_(b2)
    return net


def torch_slope(net: nn.Module, x: float) -> float:
    """df/dx by autograd at x (away from kinks)."""
    point = torch.tensor([[x]], dtype=torch.float64, requires_grad=True)
    net(point).sum().backward()
    return float(point.grad)


def random_weights(seed: int, units: int):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=units)
    b1 = rng.normal(size=units) * 2
    w2 = rng.choice([-1.0, 1.0], size=units) * rng.uniform(0.5, 2.0, size=units)
    return w1, b1, w2


# -------------------------------------------------------------------- exact kinks


@settings(max_examples=20, deadline=None)
@given(units=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_kinks_are_where_torchs_slope_changes(units, seed):
    w1, b1, w2 = random_weights(seed, units)
    net = shallow_net(w1, b1, w2)
    kinks = kink_positions(w1, b1, w2, -4.0, 4.0)
    assert np.all(np.diff(kinks) > 0)
    edges = np.concatenate([[-4.0], kinks, [4.0]])
    for left, right in pairwise(edges):
        # one slope on each piece: at 1/4 and 3/4 of the way across
        a, b = left + 0.25 * (right - left), left + 0.75 * (right - left)
        assert torch_slope(net, a) == pytest.approx(torch_slope(net, b), abs=1e-9)
    for t in kinks:
        gap = 1e-6 * max(1.0, abs(t))
        assert abs(torch_slope(net, t + gap) - torch_slope(net, t - gap)) > 1e-3


@settings(max_examples=15, deadline=None)
@given(units=st.integers(1, 30), seed=st.integers(0, 2**31 - 1))
def test_exact_count_matches_a_numerical_count_of_the_torch_net(units, seed):
    w1, b1, w2 = random_weights(seed, units)
    kinks = kink_positions(w1, b1, w2, -3.0, 3.0)
    gaps = np.diff(np.concatenate([[-3.0], kinks, [3.0]]))
    if gaps.size and gaps.min() < 1e-9:  # too close for a numerical count to separate
        return
    exact = count_linear_pieces(w1, b1, w2, -3.0, 3.0)
    assert exact == count_pieces_numerically(shallow_net(w1, b1, w2), -3.0, 3.0, steps=2001)


@settings(max_examples=15, deadline=None)
@given(units=st.integers(1, 30), seed=st.integers(0, 2**31 - 1))
def test_numerical_kinks_are_the_exact_ones_to_within_the_grid(units, seed):
    w1, b1, w2 = random_weights(seed, units)
    exact = kink_positions(w1, b1, w2, -3.0, 3.0)
    gaps = np.diff(np.concatenate([[-3.0], exact, [3.0]]))
    if gaps.size and gaps.min() < 1e-2:  # close pairs are found by zooming, tested below
        return
    found = kinks_numerically(shallow_net(w1, b1, w2), -3.0, 3.0, steps=2001)
    assert found.shape == exact.shape
    np.testing.assert_allclose(found, exact, atol=2 * 6.0 / 2000)


def test_numerical_count_separates_clustered_kinks():
    """Training often piles kinks within 1e-5 of each other; the zooming count sees them all."""
    rng = np.random.default_rng(5)
    w1 = rng.choice([-1.0, 1.0], size=30) * rng.uniform(0.5, 2.0, size=30)
    gaps = rng.uniform(1e-7, 1e-5, size=30)  # well below the first grid's spacing, 3e-4
    t = np.concatenate([1.0 + np.cumsum(gaps[:15]), -0.5 + np.cumsum(gaps[15:])])
    w2 = rng.uniform(0.05, 1.0, size=30)
    exact = count_linear_pieces(w1, -w1 * t, w2, -3.0, 3.0)
    assert exact == 31
    assert count_pieces_numerically(shallow_net(w1, -w1 * t, w2), -3.0, 3.0) == exact


@pytest.mark.parametrize(
    ("w1", "b1", "w2", "x_min", "x_max", "pieces"),
    [
        ([1.0], [0.0], [1.0], -1.0, 1.0, 2),  # relu(x)
        ([2.0], [-6.0], [1.0], -1.0, 1.0, 1),  # kink at 3, outside
        ([0.0, 1.0], [0.5, -1.0], [1.0, 1.0], -2.0, 2.0, 2),  # constant unit
        ([1.0, 1.0], [0.0, -1.0], [0.0, 1.0], -2.0, 2.0, 2),  # w2 = 0: unseen unit
        ([1.0, 2.0], [-0.5, -1.0], [1.0, 1.0], -2.0, 2.0, 2),  # same x: merged
        ([1.0, 1.0], [1.0, 0.0], [1.0, 1.0], -1.0, 1.0, 2),  # kink on x_min
        ([1.0, -1.0], [0.0, 0.0], [1.0, -1.0], -1.0, 1.0, 1),  # relu(x) - relu(-x) = x
        ([1.0, -1.0], [0.0, 0.0], [1.0, 1.0], -1.0, 1.0, 2),  # relu(x) + relu(-x) = |x|
        ([3.0, 1.0], [-0.3, -0.1], [1.0, 1.0], -1.0, 1.0, 2),  # 0.1 twice, up to rounding
        ([1.0, 1.0, 1.0], [0.0, 1.0, -1.0], [1.0, -2.0, 1.0], -3.0, 3.0, 4),  # a hat
    ],
)
def test_count_on_hand_made_nets(w1, b1, w2, x_min, x_max, pieces):
    args = [np.array(v, dtype=np.float64) for v in (w1, b1, w2)]
    assert count_linear_pieces(*args, x_min, x_max) == pieces
    net = shallow_net(w1, b1, w2)
    assert count_pieces_numerically(net, x_min, x_max, steps=2001) == pieces


def test_count_keeps_inputs_and_accepts_float32():
    w1, b1, w2 = (v.astype(np.float32) for v in random_weights(0, 8))
    before = [v.copy() for v in (w1, b1, w2)]
    result = count_linear_pieces(w1, b1, w2, -3.0, 3.0)
    assert isinstance(result, int)
    assert result == count_linear_pieces(*(v.astype(np.float64) for v in (w1, b1, w2)), -3, 3)
    for old, new in zip(before, (w1, b1, w2)):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.ones((3, 1)), np.ones(3), np.ones(3), -1, 1), ValueError,
         r"w1: expected a 1-D array \(H,\).*weight\[:, 0\]"),
        ((np.ones(3), np.ones(2), np.ones(3), -1, 1), ValueError,
         r"b1: expected shape \(3,\) .*got \(2,\)"),
        ((np.ones(3), np.ones(3), np.ones(4), -1, 1), ValueError, r"w2: expected shape \(3,\)"),
        ((np.ones(3), np.ones(3), np.ones(3), 1, 1), ValueError,
         r"x_max: expected a number greater than x_min = 1"),
        ((np.ones(3), np.ones(3), np.ones(3), -np.inf, 1), ValueError,
         r"x_min: expected a finite number"),
        (([1.0], np.ones(1), np.ones(1), -1, 1), TypeError, r"w1: expected a float32"),
    ],
)
def test_bad_arguments_are_named(args, error, match):
    with pytest.raises(error, match=match):
        count_linear_pieces(*args)


def test_shallow_relu_parameters_reads_a_torch_net():
    w1, b1, w2 = random_weights(3, 5)
    got = shallow_relu_parameters(shallow_net(w1, b1, w2, b2=0.25))
    for want, have in zip((w1, b1, w2), got[:3]):
        np.testing.assert_allclose(have, want)
    assert got[3] == 0.25
    with pytest.raises(ValueError, match=r"model: expected Linear\(1, H\)"):
        shallow_relu_parameters(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))


# ---------------------------------------------------------------- numerical count


def test_numerical_count_of_known_functions():
    assert count_pieces_of_function(lambda x: 3 * x + 1, -2, 2) == 1
    assert count_pieces_of_function(np.abs, -2, 2, steps=4001) == 2  # kink on a grid point
    assert count_pieces_of_function(lambda x: np.abs(x - 0.00037), -2, 2) == 2  # inside a cell
    zigzag = lambda x: np.abs(((x + 2) % 1.0) - 0.5)  # noqa: E731  kinks at -1.5, -1, ..., 1.5
    assert count_pieces_of_function(zigzag, -2, 2) == 8
    # kinks closer than the grid spacing (2e-4): in one cell, in neighbouring cells, 2 apart
    for gap in (1e-5, 2.5e-4, 4.5e-4, 1e-7):
        two = lambda x, g=gap: np.maximum(x - 0.1, 0) - 3 * np.maximum(x - 0.1 - g, 0)  # noqa: E731
        assert count_pieces_of_function(two, -2, 2) == 3, gap
    cancel = lambda x: np.maximum(x, 0) - np.maximum(-x, 0)  # noqa: E731  = x
    assert count_pieces_of_function(cancel, -1, 1) == 1


def deep_net_breakpoints(net: nn.Sequential, lo: float, hi: float) -> np.ndarray:
    """Where some unit of Linear(1,H) -> ReLU -> Linear(H,H) -> ReLU -> Linear(H,1) switches.

    Layer-1 units switch at -b/w. Between those points layer 2's pre-activations are
    linear in x, so each one's zero there is found exactly from its values at the ends.
    """
    w, b = net[0].weight[:, 0].detach().double().numpy(), net[0].bias.detach().double().numpy()
    first = np.sort((-b / w)[(w != 0) & (-b / w > lo) & (-b / w < hi)])
    edges = np.concatenate([[lo], first, [hi]])
    with torch.no_grad():
        pre2 = net[:3](torch.from_numpy(edges[:, None])).numpy()  # (edges, H) at each edge
    points = list(first)
    for k in range(len(edges) - 1):
        za, zb = pre2[k], pre2[k + 1]
        cross = (za * zb < 0)
        points += list(edges[k] + (edges[k + 1] - edges[k]) * za[cross] / (za[cross] - zb[cross]))
    return np.unique(points)


def test_numerical_count_of_a_deep_net_matches_its_switching_points():
    for seed in range(3):
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                            nn.Linear(8, 1)).double()
        points = deep_net_breakpoints(net, -3.0, 3.0)
        edges = np.concatenate([[-3.0], points, [3.0]])
        slopes = [torch_slope(net, (a + b) / 2) for a, b in pairwise(edges)]
        exact = 1 + sum(abs(s - t) > 1e-9 for s, t in pairwise(slopes))  # real kinks only
        assert exact >= 3
        assert count_pieces_numerically(net, -3.0, 3.0) == exact
        assert net[0].weight.dtype == torch.float64


def test_numerical_count_leaves_the_model_alone():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1))
    before = [p.clone() for p in net.parameters()]
    net.train()
    count_pieces_numerically(net, -1.0, 1.0)
    assert net.training and net[0].weight.dtype == torch.float32
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_numerical_count_rejects_bad_ranges():
    with pytest.raises(ValueError, match="x_max: expected a number greater than x_min = 1"):
        count_pieces_of_function(np.abs, 1, 0)
    with pytest.raises(ValueError, match="steps: expected at least 3 grid points, got 2"):
        count_pieces_of_function(np.abs, 0, 1, steps=2)


# ---------------------------------------------------------------- decision grid


def test_decision_grid_with_a_function_and_a_module():
    X = np.array([[-1.0, -1.0], [1.0, 2.0]], dtype=np.float32)
    xx, yy, labels = decision_grid(lambda p: (p[:, 0] > 0).astype(int), X, steps=11)
    assert xx.shape == yy.shape == labels.shape == (11, 11)
    assert xx.min() == pytest.approx(-1.5) and yy.max() == pytest.approx(2.75)
    np.testing.assert_array_equal(labels, (xx > 0).astype(np.int64))

    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.0, 1.0], [0.0, -1.0]]))
        net.bias.zero_()
    net.train()
    _, yy, labels = decision_grid(net, X, steps=9)
    np.testing.assert_array_equal(labels, (yy < 0).astype(np.int64))
    assert net.training  # mode restored

    one_logit = nn.Linear(2, 1)
    with torch.no_grad():
        one_logit.weight.copy_(torch.tensor([[1.0, 0.0]]))
        one_logit.bias.zero_()
    xx, _, labels = decision_grid(one_logit, X, steps=9)
    np.testing.assert_array_equal(labels, (xx > 0).astype(np.int64))


def test_decision_grid_rejects_bad_input():
    with pytest.raises(ValueError, match=r"X: expected \(N, 2\) points"):
        decision_grid(lambda p: p[:, 0], np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"predict: expected \(4,\) labels"):
        decision_grid(lambda p: p, np.zeros((2, 2)), steps=2)
    with pytest.raises(TypeError, match="predict: expected an nn.Module or a function"):
        decision_grid(3, np.zeros((2, 2)))


# ------------------------------------------------------------------------ XOR


def test_xor_weights_solve_xor_in_torch():
    W1, b1, W2, b2 = xor_relu_weights()
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        for param, value in zip(net.parameters(), (W1, b1, W2, b2)):
            param.copy_(torch.from_numpy(value))
        out = net(torch.from_numpy(XOR_INPUTS)).numpy()[:, 0]
    np.testing.assert_array_equal(out > 0, XOR_LABELS == 1)
    np.testing.assert_allclose(relu_net_forward(XOR_INPUTS, W1, b1, W2, b2)[:, 0], out)


def test_without_the_relu_the_same_weights_fail():
    W1, b1, W2, b2 = xor_relu_weights()
    linear_out = (XOR_INPUTS @ W1.T + b1) @ W2.T + b2
    assert not np.array_equal(linear_out[:, 0] > 0, XOR_LABELS == 1)


# ------------------------------------------------------------------- the checks


def student_count(w1, b1, w2, x_min, x_max):
    keep = (w1 != 0) & (w2 != 0)
    t = -b1[keep] / w1[keep]
    change = w2[keep] * np.abs(w1[keep])
    inside = (t > x_min) & (t < x_max)
    t, change = t[inside], change[inside]
    return 1 + sum(1 for p in np.unique(t) if change[t == p].sum() != 0)


def kinks_only(w1, b1, w2, x_min, x_max):
    return student_count(w1, b1, w2, x_min, x_max) - 1


def no_merging(w1, b1, w2, x_min, x_max):
    keep = (w1 != 0) & (w2 != 0)
    t = -b1[keep] / w1[keep]
    return int(np.sum((t > x_min) & (t < x_max))) + 1


def divides_by_zero(w1, b1, w2, x_min, x_max):
    t = -b1 / w1
    keep = (w2 != 0) & np.isfinite(t)
    return int(np.unique(t[keep & (t > x_min) & (t < x_max)]).size) + 1


def no_cancelling(w1, b1, w2, x_min, x_max):
    keep = (w1 != 0) & (w2 != 0)
    t = -b1[keep] / w1[keep]
    return int(np.unique(t[(t > x_min) & (t < x_max)]).size) + 1


def ends_included(w1, b1, w2, x_min, x_max):
    keep = (w1 != 0) & (w2 != 0)
    t = -b1[keep] / w1[keep]
    return int(np.unique(t[(t >= x_min) & (t <= x_max)]).size) + 1


def returns_float(w1, b1, w2, x_min, x_max):
    return float(student_count(w1, b1, w2, x_min, x_max))


def test_count_check_passes_a_correct_function(capsys):
    check_count_linear_pieces(student_count)
    check_count_linear_pieces(student_count, seed=11, thorough=True)
    out, err = capsys.readouterr()
    assert err == "" and out.count("✔ count_linear_pieces: all") == 2


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (kinks_only, "known mistake: returning the number of kinks instead"),
        (no_merging, "known mistake: counting units that switch at the same x"),
        (divides_by_zero, "(?s)emitted RuntimeWarning: divide by zero.*w1 != 0"),
        (no_cancelling, "known mistake: counting a point where the slope changes"),
        (ends_included, "known mistake: counting a kink that sits exactly on x_min"),
        (returns_float, "expected an int, got float"),
    ],
)
def test_count_check_names_the_classic_mistakes(fn, match):
    with pytest.raises(CheckFailure, match=match):
        check_count_linear_pieces(fn)


def test_count_check_refuses_the_reference():
    with pytest.raises(CheckFailure, match=r"called course_lib\.reference\.regions"):
        check_count_linear_pieces(count_linear_pieces)


def student_xor():
    W1 = np.array([[1.0, -1.0], [-1.0, 1.0]])  # relu(x1 - x2), relu(x2 - x1)
    b1 = np.zeros(2)
    W2 = np.array([[1.0, 1.0]])
    b2 = np.array([-0.5])
    return W1, b1, W2, b2


def test_xor_check_passes_any_weights_that_solve_xor(capsys):
    check_xor_relu_weights(student_xor)
    check_xor_relu_weights(student_xor, thorough=True)
    check_xor_relu_weights(lambda: ([[1, 1], [1, 1]], [0, -1], [[2, -4]], [-1]))  # lists, ints
    out, err = capsys.readouterr()
    assert err == "" and out.count("✔ xor_relu_weights") == 3


def test_xor_check_explains_what_is_wrong():
    def on_the_line():  # f(1, 1) == 0 exactly
        W1, b1, W2, _ = student_xor()
        return W1, b1, W2, np.array([0.0])

    with pytest.raises(CheckFailure, match=r"(?s)2 of the 4 inputs.*x = \(0, 0\).*wrong side"):
        check_xor_relu_weights(on_the_line)
    with pytest.raises(CheckFailure, match=r"W2: expected shape \(1, 2\), got \(2,\)"):
        check_xor_relu_weights(lambda: (np.eye(2), np.zeros(2), np.ones(2), np.zeros(1)))
    with pytest.raises(CheckFailure, match=r"expected a tuple \(W1, b1, W2, b2\), got tuple "
                       r"of length 2"):
        check_xor_relu_weights(lambda: (np.eye(2), np.zeros(2)))
    with pytest.raises(CheckFailure, match="called course_lib.reference.regions.xor_relu_weights"):
        check_xor_relu_weights(xor_relu_weights)

    calls = []

    def changes_every_call():
        calls.append(1)
        W1, b1, W2, b2 = student_xor()
        return W1 * len(calls), b1, W2, b2

    check_xor_relu_weights(changes_every_call)
    with pytest.raises(CheckFailure, match="calling xor_relu_weights\\(\\) twice"):
        check_xor_relu_weights(changes_every_call, thorough=True)
