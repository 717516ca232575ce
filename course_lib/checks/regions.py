"""Checks for notebook 01's ReLU-network exercises: ``xor_relu_weights`` and
``count_linear_pieces``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from course_lib.checks import answers
from course_lib.checks.core import Checker
from course_lib.checks.mistakes.regions import (
    COUNT_LINEAR_PIECES_MISTAKES,
    PIECES_HINT,
    ZERO_HINT,
)
from course_lib.lab.regions import XOR_INPUTS, XOR_LABELS

reference = answers.reference("regions")  # the right answers (see checks/answers.py)

# ------------------------------------------------------------ count_linear_pieces


def _case(checker: Checker, description: str, *args: object, hint: str | None = None) -> None:
    """One case; a warning (dividing by w1 = 0) gets its own advice before values are compared."""
    run = checker.run_student(args)
    if run.error is None and run.delegated_to is None and run.warnings:
        checker.fail(description, "your function emitted " + "; ".join(sorted(set(run.warnings)))
                     + " (under nbgrader any output on stderr scores the test 0)",
                     args=args, hint=ZERO_HINT)
    checker.case(description, *args, hint=hint)


def _random_net(rng: np.random.Generator, units: int, dtype: type):
    w1 = rng.normal(size=units)
    b1 = rng.normal(size=units) * 2.0
    w2 = rng.normal(size=units)
    return w1.astype(dtype), b1.astype(dtype), w2.astype(dtype)


def _grid_net(rng: np.random.Generator, units: int):
    """A net whose switching points fall on a coarse grid, so many coincide exactly."""
    w1 = rng.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 4.0], size=units)
    t = rng.integers(-6, 7, size=units) * 0.5  # exact in binary floating point
    b1 = -w1 * t
    w2 = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0], size=units)
    return w1, b1, w2


def check_count_linear_pieces(student_fn: Callable, *, seed: int = 0,
                              thorough: bool = False) -> None:
    """Check ``count_linear_pieces(w1, b1, w2, x_min, x_max) -> int`` against the reference.

    Args:
        student_fn: the student's function.
        seed: seed of the random cases.
        thorough: add larger nets and more coincident kinks (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and
            the received count and a hint for the classic mistakes.
    """
    checker = Checker("count_linear_pieces", student_fn, reference.count_linear_pieces,
                      kind="int", mistakes=COUNT_LINEAR_PIECES_MISTAKES)
    a = np.array
    case = partial(_case, checker)
    case("one unit, relu(x), kink at 0 inside (-1, 1): two pieces",
         a([1.0]), a([0.0]), a([1.0]), -1.0, 1.0, hint=PIECES_HINT)
    case("one unit, relu(2x - 6), kink at 3 outside (-1, 1): one piece",
         a([2.0]), a([-6.0]), a([1.0]), -1.0, 1.0, hint=PIECES_HINT)
    case("three units with kinks at 0.25, 0.5 and 3 (one with a negative w1), range (0, 2)",
         a([1.0, -2.0, 0.5]), a([-0.25, 1.0, -1.5]), a([1.0, 1.0, -3.0]), 0.0, 2.0,
         hint=PIECES_HINT)
    case("a unit with w1 = 0 is constant: it never switches (and must not be divided by)",
         a([0.0, 1.0]), a([0.5, -1.5]), a([1.0, 1.0]), -1.0, 2.0, hint=ZERO_HINT)
    case("a unit with output weight w2 = 0 adds no kink",
         a([1.0, 1.0]), a([0.0, -1.0]), a([0.0, 1.0]), -2.0, 2.0)
    case("two units switch at the same x = 0.5: one kink",
         a([1.0, 2.0]), a([-0.5, -1.0]), a([1.0, 1.0]), -2.0, 2.0)
    case("a kink exactly at x_min does not cut the range",
         a([1.0, 1.0]), a([1.0, 0.0]), a([1.0, 1.0]), -1.0, 1.0)
    case("relu(x) - relu(-x) = x: the slope changes cancel, no kink",
         a([1.0, -1.0]), a([0.0, 0.0]), a([1.0, -1.0]), -1.0, 1.0)
    case("float32 weights, 6 units", *_random_net(np.random.default_rng(seed), 6, np.float32),
         -3.0, 3.0)

    rng = np.random.default_rng(seed)
    sizes = [(10, 3.0), (50, 1.0), (8, 10.0)]
    if thorough:
        sizes += [(1000, 3.0), (1, 0.5), (200, 100.0), (64, 0.1)]
    for units, half_width in sizes:
        case(f"random net with {units} hidden units on (-{half_width}, {half_width})",
                     *_random_net(rng, units, np.float64), -half_width, half_width,
                     hint=PIECES_HINT)
    for units in [12, 40] + ([7, 100, 300] if thorough else []):
        case(f"{units} units whose kinks often coincide (on a grid of step 0.5)",
                     *_grid_net(rng, units), -2.5, 2.5)
    checker.done()


# --------------------------------------------------------------- xor_relu_weights

_SHAPES = {"W1": (2, 2), "b1": (2,), "W2": (1, 2), "b2": (1,)}


def _as_weights(checker: Checker, outputs: tuple) -> list[np.ndarray]:
    """The four returned values as float64 arrays, or a failure saying what is wrong."""
    description = "the returned weights have the shapes of nn.Linear(2, 2) and nn.Linear(2, 1)"
    result = outputs[0]
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        got = f"{type(result).__name__}" + (f" of length {len(result)}"
                                            if isinstance(result, (tuple, list)) else "")
        checker.fail(description, f"expected a tuple (W1, b1, W2, b2), got {got}",
                     hint="end your function with: return W1, b1, W2, b2")
    arrays = []
    for (name, shape), value in zip(_SHAPES.items(), result):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            checker.fail(description, f"{name}: expected numbers, got {type(value).__name__}")
        if array.shape != shape:
            checker.fail(description, f"{name}: expected shape {shape}, got {array.shape}",
                         hint="W1 is (hidden, inputs) = (2, 2), b1 is (2,), W2 is (outputs, "
                         "hidden) = (1, 2), b2 is (1,), as nn.Linear stores them")
        if not np.all(np.isfinite(array)):
            checker.fail(description, f"{name}: expected finite numbers, got {array}")
        arrays.append(array)
    checker.passed()
    return arrays


def _torch_outputs(weights: list[np.ndarray]) -> np.ndarray:
    """The network's outputs on the XOR inputs, computed by torch.nn layers."""
    import torch
    from torch import nn

    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).double()
    with torch.no_grad():
        for param, value in zip(net.parameters(), weights):
            param.copy_(torch.from_numpy(value))
        return net(torch.from_numpy(XOR_INPUTS)).numpy()[:, 0]


def check_xor_relu_weights(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check that ``xor_relu_weights()`` returns weights of a ReLU net that computes XOR.

    The network is ``f(x) = W2 @ relu(W1 @ x + b1) + b2``; it must be positive on
    (0, 1) and (1, 0) and negative on (0, 0) and (1, 1). Any such weights pass.

    Args:
        student_fn: the student's function of no arguments.
        seed: unused (the four XOR points are the whole test); kept so every
            check has the same signature.
        thorough: also compute the outputs with ``torch.nn`` layers and call the
            function twice (the hidden tests).

    Raises:
        CheckFailure: naming the first problem: the structure of the result, or
            which XOR inputs are on the wrong side, with the hidden values.
    """
    del seed
    checker = Checker("xor_relu_weights", student_fn, reference.xor_relu_weights,
                      outputs=("weights",), kind="float")
    run = checker.run_student(())
    description = "calling xor_relu_weights()"
    checker.fail_unless_written(description, run.error)
    if run.error is not None:
        checker.fail(description, f"your function raised {run.error}")
    if run.delegated_to is not None:
        checker.fail(description, f"your function called {run.delegated_to}; set the eight "
                     "weights and the three biases yourself")
    if run.warnings:
        checker.fail(description, "your function emitted: " + "; ".join(run.warnings))
    weights = _as_weights(checker, run.outputs)
    W1, b1, W2, b2 = weights

    hidden = np.maximum(XOR_INPUTS @ W1.T + b1, 0.0)
    outputs = (hidden @ W2.T + b2)[:, 0]
    if thorough:
        oracle = _torch_outputs(weights)
        if not np.allclose(outputs, oracle, rtol=1e-9, atol=1e-12):
            checker.fail("the outputs agree with torch.nn layers",
                         f"NumPy gives {outputs}, torch gives {oracle}")
    wrong = [i for i, (f, y) in enumerate(zip(outputs, XOR_LABELS))
             if not (f > 0 if y == 1 else f < 0)]
    if wrong:
        table = [f"x = {tuple(int(v) for v in XOR_INPUTS[i])}: hidden relu(W1 x + b1) "
                 f"= {hidden[i]}, output f = {outputs[i]:.4g}, XOR = {XOR_LABELS[i]}"
                 f"{'   <-- wrong side' if i in wrong else ''}" for i in range(4)]
        checker.fail("the network's output is > 0 exactly where XOR is 1",
                     f"{len(wrong)} of the 4 inputs are on the wrong side (an output of exactly "
                     "0 counts as wrong)\n    " + "\n    ".join(table),
                     hint="one hidden unit can measure x1 + x2 and another can fire only when "
                     "x1 + x2 > 1; combine them in the output so that x1 + x2 = 1 gives a "
                     "positive output and x1 + x2 = 0 or 2 a negative one")
    checker.passed()
    if thorough:
        again = _as_weights(checker, checker.run_student(()).outputs)
        if not all(np.array_equal(x, y) for x, y in zip(weights, again)):
            checker.fail("calling xor_relu_weights() twice gives the same weights",
                         "the second call returned different weights; set them by hand, "
                         "without randomness")
    checker.done()
