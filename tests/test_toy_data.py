"""The small generated data sets: shapes, balance, seeds, geometry and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.lab import toy_data
from course_lib.lab.toy_data import class_sizes, sine_1d, spiral, two_moons, xor

CLASSIFIERS = {
    "xor": lambda n, noise, seed: xor(n, noise, seed),
    "two_moons": lambda n, noise, seed: two_moons(n, noise, seed),
    "spiral": lambda n, noise, seed: spiral(n, 3, noise, seed),
}


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_shapes_dtypes_and_determinism(name):
    make = CLASSIFIERS[name]
    X, y = make(101, 0.1, 7)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    X2, y2 = make(101, 0.1, 7)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(101, 0.1, 8)
    assert not np.array_equal(X, X3)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(CLASSIFIERS)), n=st.integers(3, 400),
       seed=st.integers(0, 2**32 - 1))
def test_classes_are_balanced(name, n, seed):
    _, y = CLASSIFIERS[name](n, 0.2, seed)
    counts = np.bincount(y)
    assert counts.sum() == n and counts.max() - counts.min() <= 1


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 200), n_classes=st.integers(2, 7))
def test_spiral_class_count(n, n_classes):
    if n < n_classes:
        return
    _, y = spiral(n, n_classes, 0.2, 0)
    assert set(y.tolist()) == set(range(n_classes))
    assert np.bincount(y).max() - np.bincount(y).min() <= 1


def test_class_sizes():
    assert class_sizes(10, 4).tolist() == [3, 3, 2, 2]
    assert class_sizes(8, 4).tolist() == [2, 2, 2, 2]


def test_order_is_shuffled():
    _, y = two_moons(200, 0.1, 0)
    assert np.count_nonzero(np.diff(y)) > 20  # sorted labels would change only once


def test_xor_geometry_without_noise():
    X, y = xor(400, 0.0, 1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    assert np.all(np.abs(X) <= 1)
    # no line separates XOR: least squares on (1, x1, x2) classifies at chance level,
    # while adding the product feature x1 * x2 nearly solves it (points on the axes are hard)
    design = np.column_stack([np.ones(len(X)), X])
    linear = design @ np.linalg.lstsq(design, 2.0 * y - 1, rcond=None)[0]
    assert np.mean((linear > 0) == y) < 0.65
    product = np.column_stack([design, X[:, 0] * X[:, 1]])
    fitted = product @ np.linalg.lstsq(product, 2.0 * y - 1, rcond=None)[0]
    assert np.mean((fitted > 0) == y) > 0.95


def test_two_moons_geometry_without_noise():
    X, y = two_moons(100, 0.0, 0)
    outer, inner = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0, rtol=1e-6)
    assert np.all(outer[:, 1] >= -1e-6) and np.all(inner[:, 1] <= 0.5 + 1e-6)


def test_spiral_matches_cs231n_without_noise():
    X, y = spiral(300, 3, 0.0, 0)
    for k in range(3):
        arm = X[y == k].astype(np.float64)
        radius = np.linspace(0.0, 1.0, 100)
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), 100)
        expected = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
        order = np.argsort(np.hypot(arm[:, 0], arm[:, 1]), kind="stable")
        np.testing.assert_allclose(arm[order], expected, atol=1e-6)


def test_noise_scales_the_spread():
    X0, _ = two_moons(300, 0.0, 0)
    X1, _ = two_moons(300, 0.3, 0)
    spread = np.std(np.sort(X1, axis=0) - np.sort(X0, axis=0))
    assert 0.02 < spread < 0.3


def test_sine_1d():
    x, y = sine_1d(500, 0.0, 3)
    assert x.shape == (500, 1) and x.dtype == np.float32 and y.dtype == np.float32
    assert np.all(np.diff(x[:, 0]) >= 0) and np.all(np.abs(x) <= np.pi)
    np.testing.assert_allclose(y, np.sin(x[:, 0]), atol=1e-6)
    _, noisy = sine_1d(500, 0.1, 3)
    assert 0.08 < np.std(noisy - y) < 0.12


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: xor(0), ValueError, "n: expected an int >= 1, got 0"),
        (lambda: xor(1), ValueError, r"n: expected at least 2 \(one point per class\), got 1"),
        (lambda: two_moons(10.5), TypeError, "n: expected a positive int, got float 10.5"),
        (lambda: xor(10, noise=-0.1), ValueError, r"noise: expected a number >= 0, got -0.1"),
        (lambda: two_moons(10, noise=float("nan")), ValueError, "noise: expected a finite"),
        (lambda: two_moons(10, noise="big"), TypeError, "noise: expected a real number"),
        (lambda: spiral(10, 1), ValueError, "n_classes: expected at least 2, got 1"),
        (lambda: spiral(2, 3), ValueError, r"n: expected at least 3 .*got 2"),
        (lambda: sine_1d(10, seed=-1), ValueError, "seed: expected an int >= 0, got -1"),
        (lambda: sine_1d(10, seed=None), TypeError, "seed: expected an int >= 0, got NoneType"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_public_names():
    assert set(toy_data.__all__) == {"class_sizes", "sine_1d", "spiral", "two_moons", "xor"}
