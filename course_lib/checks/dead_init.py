"""Check for the born-dead exercise of notebook 03: ``dead_layer_probability``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib import dead_init as reference
from course_lib.checks.core import Checker, Mistake

_LAYER_OFF = "a layer is all zeros when all of its `width` units are off: 2**-width"

# Classic wrong answers, each recognised by reproducing the student's number. The case
# (width=2, depth=3) comes early because there every one of them gives a different value.
_MISTAKES = (
    Mistake(
        "the chance for one layer only, 2**-width: the depth is missing",
        lambda width, depth: 0.5**width,
        "each of the `depth` layers gets its own chance to be all zeros; the network "
        "survives only if every layer does: (1 - 2**-width)**depth",
    ),
    Mistake(
        "width and depth swapped: 1 - (1 - 2**-depth)**width",
        lambda width, depth: 1 - (1 - 0.5**depth) ** width,
        f"{_LAYER_OFF}, and there are `depth` such layers",
    ),
    Mistake(
        "the chance that *every* layer is all zeros, 2**-(width * depth)",
        lambda width, depth: 0.5 ** (width * depth),
        "one all-zero layer is enough to switch the network off: compute the chance that "
        "no layer is all zeros, then take 1 minus it",
    ),
    Mistake(
        "the chance that the network survives, (1 - 2**-width)**depth, not that it dies",
        lambda width, depth: (1 - 0.5**width) ** depth,
        "that is the chance that no layer is all zeros; return 1 minus it",
    ),
    Mistake(
        "the layers' chances added, depth * 2**-width (the union bound, which can exceed 1)",
        lambda width, depth: depth * 0.5**width,
        "the events overlap, so their chances do not add: go through the complement, "
        "1 - (1 - 2**-width)**depth",
    ),
    Mistake(
        "a layer treated as a single unit: 1 - (1/2)**depth",
        lambda width, depth: 1 - 0.5**depth,
        f"{_LAYER_OFF}, not 1/2",
    ),
)

# (description, width, depth), in an order that names mistakes unambiguously.
_FIXED_CASES = (
    ("one layer of one unit: off half of the time", 1, 1),
    ("width 2, depth 3", 2, 3),
    ("width 2, one layer: both units off, 1/4", 2, 1),
    ("no hidden layer (depth 0): nothing can switch off", 8, 0),
    ("a narrow, deep network: width 3, depth 50", 3, 50),
    ("width 1, depth 1000: almost surely switched off", 1, 1000),
    ("a typical MLP layer, width 100, depth 10: about 8e-30", 100, 10),
    ("a very wide layer, width 2000 (2**-2000 underflows to 0 in float64)", 2000, 5),
)


def check_dead_layer_probability(student_fn: Callable[[int, int], float], *, seed: int = 0,
                                 thorough: bool = False) -> None:
    """Check ``dead_layer_probability(width, depth) -> float`` against the reference.

    Args:
        student_fn: the student's function of two ints.
        seed: seed of the random (width, depth) pairs.
        thorough: run more random cases (the hidden test).

    Raises:
        CheckFailure: on the first wrong case, saying which and why.
    """
    checker = Checker("dead_layer_probability", student_fn, reference.dead_layer_probability,
                      kind="float", mistakes=_MISTAKES)
    hint = ("each layer is all zeros with probability 2**-width (given a non-zero input); "
            "compute the chance that none of the `depth` layers is, then take 1 minus it")
    for description, width, depth in _FIXED_CASES:
        checker.case(description, width, depth, hint=hint)
    rng = np.random.default_rng(seed)
    for _ in range(30 if thorough else 6):
        width, depth = int(rng.integers(1, 41)), int(rng.integers(0, 301))
        checker.case(f"random network, width {width}, depth {depth}", width, depth, hint=hint)
    checker.done()
