"""Check for the initialisation exercise of notebook 02: ``xavier_std``."""

from __future__ import annotations

import numpy as np

from course_lib import init as reference
from course_lib.checks.core import Checker, Mistake

# Classic wrong answers, each recognised by reproducing the student's number.
_MISTAKES = (
    Mistake(
        "LeCun's std sqrt(1 / fan_in): it ignores fan_out",
        lambda fan_in, fan_out, gain=1.0: gain * (1.0 / fan_in) ** 0.5,
        "Xavier averages the forward and backward conditions: use fan_in + fan_out.",
    ),
    Mistake(
        "He's std sqrt(2 / fan_in), made for ReLU",
        lambda fan_in, fan_out, gain=1.0: gain * (2.0 / fan_in) ** 0.5,
        "Xavier divides by fan_in + fan_out, not by fan_in alone.",
    ),
    Mistake(
        "you returned the variance 2 / (fan_in + fan_out), not the standard deviation",
        lambda fan_in, fan_out, gain=1.0: gain * 2.0 / (fan_in + fan_out),
        "take the square root of the variance.",
    ),
    Mistake(
        "the uniform bound sqrt(6 / (fan_in + fan_out)), sqrt(3) times too big",
        lambda fan_in, fan_out, gain=1.0: gain * (6.0 / (fan_in + fan_out)) ** 0.5,
        "the normal distribution's std has a 2 in the numerator, not a 6.",
    ),
    Mistake(
        "the gain is inside the square root",
        lambda fan_in, fan_out, gain=1.0: (gain * 2.0 / (fan_in + fan_out)) ** 0.5,
        "multiply the square root by gain: gain * sqrt(2 / (fan_in + fan_out)).",
    ),
    Mistake(
        "the gain is ignored",
        lambda fan_in, fan_out, gain=1.0: (2.0 / (fan_in + fan_out)) ** 0.5,
        "multiply the result by the gain argument.",
    ),
    Mistake(
        "integer division: 2 // (fan_in + fan_out) is 0 for any real layer",
        lambda fan_in, fan_out, gain=1.0: gain * float(2 // (fan_in + fan_out)) ** 0.5,
        "use / (true division), not //.",
    ),
)

_FIXED_CASES = (
    ("a square layer, 100 -> 100", (100, 100), {}),
    ("fan_in != fan_out, 784 -> 256", (784, 256), {}),
    ("a 1 -> 1 layer", (1, 1), {}),
    ("gain for tanh, 5/3", (64, 64), {"gain": 5 / 3}),
    ("fan_out > fan_in, 10 -> 1000, gain 2", (10, 1000), {"gain": 2.0}),
)


def check_xavier_std(xavier_std, *, seed: int = 0, thorough: bool = False) -> None:
    """Check a student's ``xavier_std(fan_in, fan_out, gain=1.0) -> float``.

    Args:
        xavier_std: the student's function.
        seed: seed of the random layer sizes.
        thorough: run more random cases (the hidden test).

    Raises:
        CheckFailure: on the first wrong case, saying which and why.
    """
    checker = Checker(
        "xavier_std", xavier_std, reference.xavier_std, kind="float", mistakes=_MISTAKES
    )
    for description, args, kwargs in _FIXED_CASES:
        checker.case(description, *args, **kwargs)
    rng = np.random.default_rng(seed)
    for _ in range(20 if thorough else 5):
        fan_in, fan_out = (int(v) for v in rng.integers(1, 5000, size=2))
        gain = float(rng.uniform(0.1, 3.0))
        checker.case(f"random layer {fan_in} -> {fan_out}, gain {gain:.3f}",
                     fan_in, fan_out, gain=gain)
    checker.done()
