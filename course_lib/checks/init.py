"""Check for the initialisation exercise of notebook 02: ``xavier_std``."""

from __future__ import annotations

import numpy as np

from course_lib.checks import answers
from course_lib.checks.core import Checker
from course_lib.checks.mistakes.init import XAVIER_STD_MISTAKES

_FIXED_CASES = (
    ("a square layer, 100 -> 100", (100, 100), {}),
    ("fan_in != fan_out, 784 -> 256", (784, 256), {}),
    ("a 1 -> 1 layer", (1, 1), {}),
    ("gain for tanh, 5/3", (64, 64), {"gain": 5 / 3}),
    ("fan_out > fan_in, 10 -> 1000, gain 2", (10, 1000), {"gain": 2.0}),
)

reference = answers.reference("init")  # the right answers (see checks/answers.py)


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
        "xavier_std", xavier_std, reference.xavier_std, kind="float", mistakes=XAVIER_STD_MISTAKES
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
