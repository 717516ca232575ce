"""Check for the ``collapse_linear`` exercise (notebook 01)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np

from course_lib.checks import answers
from course_lib.checks.core import Checker
from course_lib.checks.mistakes.linear import BIAS_HINT, COLLAPSE_LINEAR_MISTAKES, ORDER_HINT

reference = answers.reference("linear")  # the right answers (see checks/answers.py)


def _random_stack(rng: np.random.Generator, sizes: list[int], dtype: type, scale: float = 1.0):
    """Weights and biases of a stack mapping sizes[0] features to sizes[-1]."""
    weights = [(rng.normal(size=(n_out, n_in)) * scale / np.sqrt(n_in)).astype(dtype)
               for n_in, n_out in pairwise(sizes)]
    biases = [rng.normal(size=n_out).astype(dtype) for n_out in sizes[1:]]
    return weights, biases


def _torch_stack_output(weights, biases, x: np.ndarray) -> np.ndarray:
    """The stack's outputs on ``x`` (N, in_1), computed by composing ``torch.nn.Linear``."""
    import torch

    layers = []
    for w, b in zip(weights, biases):
        layer = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.asarray(w, dtype=np.float64)))
            layer.bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float64)))
        layers.append(layer)
    with torch.no_grad():
        return torch.nn.Sequential(*layers)(torch.from_numpy(x)).numpy()


def _same_function_case(checker: Checker, description: str, weights, biases,
                        rng: np.random.Generator) -> None:
    """The student's (W, b) must give the stack's outputs on random inputs (torch as oracle)."""
    got = checker.case(description, weights, biases, hint=BIAS_HINT)
    W, b = (np.asarray(v, dtype=np.float64) for v in got)
    x = rng.normal(size=(8, weights[0].shape[1]))
    want = _torch_stack_output(weights, biases, x)
    error = float(np.max(np.abs(x @ W.T + b - want)) / max(1.0, float(np.max(np.abs(want)))))
    if error > 1e-4:
        checker.fail(description, f"x @ W.T + b differs from the stack's output by {error:.2e}",
                     args=(weights, biases), hint=BIAS_HINT)
    checker.passed(error)


def check_collapse_linear(student_fn: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``collapse_linear(weights, biases) -> (W, b)`` against the reference.

    Args:
        student_fn: the student's function.
        seed: seed of the random cases.
        thorough: add more, deeper and larger random stacks (the hidden tests).

    Raises:
        CheckFailure: on the first wrong case, with the input, the expected and
            the received value and a hint for the classic mistakes.
    """
    checker = Checker("collapse_linear", student_fn, reference.collapse_linear,
                      outputs=("W", "b"), mistakes=COLLAPSE_LINEAR_MISTAKES)
    one = np.array([[2.0, -1.0], [0.5, 3.0]])
    checker.case("a single layer: nothing to collapse, return it as it is",
                 [one], [np.array([1.0, -2.0])])
    checker.case("two 2x2 layers with small integers",
                 [np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])],
                 [np.array([1.0, 0.0]), np.array([0.0, 3.0])], hint=ORDER_HINT)
    checker.case("two layers, zero biases: only the order of the product matters",
                 [np.array([[1.0, 1.0], [0.0, 2.0]]), np.array([[3.0, 0.0], [1.0, 1.0]])],
                 [np.zeros(2), np.zeros(2)], hint=ORDER_HINT)
    checker.case("three layers of different widths, 3 -> 4 -> 2 -> 5",
                 *_random_stack(np.random.default_rng(seed), [3, 4, 2, 5], np.float64),
                 hint=ORDER_HINT)
    checker.case("float32 weights: keep float32",
                 *_random_stack(np.random.default_rng(seed + 1), [2, 3, 1], np.float32))
    checker.case("a 1-D input and a 1-D output (1 -> 1 -> 1)",
                 [np.array([[2.0]]), np.array([[-3.0]])], [np.array([1.0]), np.array([0.5])])

    rng = np.random.default_rng(seed)
    stacks = [[2, 8, 8, 1], [5, 5, 5, 5, 5], [4, 16, 3]]
    if thorough:
        stacks += [[3] * 11, [1, 32, 32, 32, 2], [10, 2, 10], [6, 7, 8, 9, 10, 11, 12]]
    for sizes in stacks:
        for dtype in (np.float64, np.float32):
            weights, biases = _random_stack(rng, sizes, dtype)
            name = " -> ".join(map(str, sizes))
            _same_function_case(checker, f"random stack {name} ({np.dtype(dtype).name}); "
                                "its (W, b) must reproduce torch.nn.Linear layers in sequence",
                                weights, biases, rng)
    if thorough:
        checker.case("weights given as a tuple rather than a list",
                     *(tuple(v) for v in _random_stack(rng, [3, 3, 3], np.float64)))
    checker.done()
