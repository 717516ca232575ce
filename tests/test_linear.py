"""collapse_linear (course_lib.reference.linear) and check_collapse_linear.

PyTorch is the oracle: a stack of torch.nn.Linear layers run in sequence.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.checks import CheckFailure, check_collapse_linear
from course_lib.reference.linear import collapse_linear


def linear_forward(x, weights, biases):
    """The stack run layer by layer, as torch.nn.Linear computes: x @ W.T + b."""
    for w, b in zip(weights, biases):
        x = x @ w.T + b
    return x


def random_stack(seed: int, sizes: list[int], dtype=np.float64):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(o, i)).astype(dtype) for i, o in pairwise(sizes)]
    biases = [rng.normal(size=o).astype(dtype) for o in sizes[1:]]
    return weights, biases


def torch_stack(weights, biases, x: np.ndarray) -> np.ndarray:
    layers = []
    for w, b in zip(weights, biases):
        layer = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w.astype(np.float64)))
            layer.bias.copy_(torch.from_numpy(b.astype(np.float64)))
        layers.append(layer)
    with torch.no_grad():
        return torch.nn.Sequential(*layers)(torch.from_numpy(x)).numpy()


sizes_strategy = st.lists(st.integers(1, 6), min_size=2, max_size=6)


# ------------------------------------------------------------------ the reference


@settings(max_examples=40, deadline=None)
@given(sizes=sizes_strategy, seed=st.integers(0, 2**31 - 1))
def test_collapsed_layer_gives_the_stacks_output(sizes, seed):
    weights, biases = random_stack(seed, sizes)
    W, b = collapse_linear(weights, biases)
    x = np.random.default_rng(seed + 1).normal(size=(5, sizes[0]))
    assert W.shape == (sizes[-1], sizes[0]) and b.shape == (sizes[-1],)
    np.testing.assert_allclose(x @ W.T + b, torch_stack(weights, biases, x), rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(linear_forward(x, weights, biases),
                               torch_stack(weights, biases, x), rtol=1e-10, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
def test_collapsing_one_layer_returns_it_unchanged(rows, cols, seed):
    weights, biases = random_stack(seed, [cols, rows])
    W, b = collapse_linear(weights, biases)
    np.testing.assert_array_equal(W, weights[0])
    np.testing.assert_array_equal(b, biases[0])
    assert W is not weights[0] and b is not biases[0]  # new arrays


@settings(max_examples=25, deadline=None)
@given(sizes=sizes_strategy, split=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
def test_collapsing_is_associative(sizes, split, seed):
    """Collapsing the two halves of a stack, then the pair, equals collapsing it all."""
    weights, biases = random_stack(seed, sizes)
    split = min(split, len(weights) - 1)
    if split == 0:
        return
    first = collapse_linear(weights[:split], biases[:split])
    second = collapse_linear(weights[split:], biases[split:])
    W, b = collapse_linear([first[0], second[0]], [first[1], second[1]])
    want_W, want_b = collapse_linear(weights, biases)
    np.testing.assert_allclose(W, want_W, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(b, want_b, rtol=1e-10, atol=1e-10)


def test_identity_layers_change_nothing():
    weights, biases = random_stack(0, [3, 4])
    W, b = collapse_linear([np.eye(3), weights[0], np.eye(4)],
                           [np.zeros(3), biases[0], np.zeros(4)])
    np.testing.assert_allclose(W, weights[0])
    np.testing.assert_allclose(b, biases[0])


def test_float32_stays_float32_and_inputs_are_not_modified():
    weights, biases = random_stack(1, [2, 3, 4], np.float32)
    copies = [w.copy() for w in weights], [b.copy() for b in biases]
    W, b = collapse_linear(weights, biases)
    assert W.dtype == np.float32 and b.dtype == np.float32
    for before, after in zip(copies[0] + copies[1], weights + biases):
        np.testing.assert_array_equal(before, after)
    assert linear_forward(np.ones((2, 2), np.float32), weights, biases).dtype == np.float32


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("weights", "biases", "error", "match"),
    [
        ([np.ones((3, 2)), np.ones((4, 5))], [np.ones(3), np.ones(4)], ValueError,
         r"weights\[1\]: layer 1 receives the 3 outputs of layer 0 .*expected shape \(4, 3\), "
         r"got \(4, 5\)"),
        ([np.ones((3, 2))], [np.ones(2)], ValueError,
         r"biases\[0\]: expected shape \(3,\), one bias per output of weights\[0\]"),
        ([np.ones((3, 2)), np.ones((1, 3))], [np.ones(3)], ValueError,
         r"biases: expected one bias per layer \(2 layers, as in weights\), got 1"),
        ([], [], ValueError, r"weights: expected at least one layer"),
        ([np.ones(3)], [np.ones(3)], ValueError, r"weights\[0\]: expected a 2-D"),
        (np.ones((2, 2)), [np.ones(2)], TypeError, r"weights: expected a list of np.ndarray"),
        ([np.ones((2, 2), dtype=int)], [np.ones(2)], TypeError,
         r"weights\[0\]: expected dtype float32 or float64, got int64"),
        ([np.ones((2, 2)), np.ones((2, 2), np.float32)], [np.ones(2), np.ones(2)], TypeError,
         r"weights\[1\]: expected dtype float64 like weights\[0\], got float32"),
        ([np.ones((2, 2))], [[1.0, 2.0]], TypeError, r"biases\[0\]: expected a float32"),
    ],
)
def test_bad_stacks_are_named(weights, biases, error, match):
    with pytest.raises(error, match=match):
        collapse_linear(weights, biases)


# -------------------------------------------------------------------- the check


def student_collapse(weights, biases):
    W, b = weights[0], biases[0]
    for w_i, b_i in zip(weights[1:], biases[1:]):
        W = w_i @ W
        b = w_i @ b + b_i
    return W, b


def wrong_order(weights, biases):
    W, b = weights[0], biases[0]
    for w_i, b_i in zip(weights[1:], biases[1:]):
        W = W @ w_i
        b = w_i @ b + b_i
    return W, b


def summed_biases(weights, biases):
    W = weights[0]
    for w_i in weights[1:]:
        W = w_i @ W
    return W, np.sum(biases, axis=0)


def last_bias_only(weights, biases):
    W = weights[0]
    for w_i in weights[1:]:
        W = w_i @ W
    return W, biases[-1]


def bias_dropped(weights, biases):
    W, b = weights[0], biases[0]
    for w_i in weights[1:]:
        W = w_i @ W
        b = w_i @ b
    return W, b


def transposed(weights, biases):
    W, b = student_collapse(weights, biases)
    return W.T, b


def float64_always(weights, biases):
    W, b = student_collapse(weights, biases)
    return W.astype(np.float64), b.astype(np.float64)


def test_check_passes_a_correct_function(capsys):
    check_collapse_linear(student_collapse)
    check_collapse_linear(student_collapse, seed=7, thorough=True)
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("✔ collapse_linear: all") == 2


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (wrong_order, r"known mistake: multiplying the matrices in the wrong order"),
        (summed_biases, r"known mistake: summing the biases"),
        (last_bias_only, r"known mistake: keeping only the last layer's bias"),
        (bias_dropped, r"known mistake: dropping the biases of later layers"),
        (transposed, r"known mistake: returning W transposed"),
        (float64_always, r"W: expected dtype float32 \(the input's dtype\), got float64"),
    ],
)
def test_check_names_the_classic_mistakes(fn, match):
    with pytest.raises(CheckFailure, match=match):
        check_collapse_linear(fn)


def test_check_refuses_the_reference_and_an_unanswered_cell():
    with pytest.raises(CheckFailure,
                       match=r"called course_lib\.reference\.linear\.collapse_linear"):
        check_collapse_linear(collapse_linear)

    def unanswered(weights, biases):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match=r"not written yet \(it raises NotImplementedError\)"):
        check_collapse_linear(unanswered)
