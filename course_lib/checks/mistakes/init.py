"""Classic wrong Xavier standard deviations (notebook 02), to name in a failed check.

See :mod:`course_lib.checks.mistakes` for what a mistake is and how it is used.
"""

from __future__ import annotations

from course_lib.checks.core import Mistake

# Classic wrong answers, each recognised by reproducing the student's number.
XAVIER_STD_MISTAKES = (
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
        "the 2 is missing: sqrt(1 / (fan_in + fan_out)) is sqrt(2) times too small",
        lambda fan_in, fan_out, gain=1.0: gain * (1.0 / (fan_in + fan_out)) ** 0.5,
        "Xavier's variance is 2 / (fan_in + fan_out), one over the average of fan_in and "
        "fan_out (the compromise between n_in s^2 = 1 and n_out s^2 = 1): put the 2 back.",
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
