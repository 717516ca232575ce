"""Classic wrong dead-unit shares and born-dead chances (notebook 03), to name in a failure.

See :mod:`course_lib.checks.mistakes` for what a mistake is and how it is used.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import Mistake

_POSITIVE_HINT = ("dead means never *positive*: test acts > 0 (np.any(acts > 0, axis=0) is "
                  "True for the units that are alive)")

DEAD_UNIT_MISTAKES = (
    Mistake(
        "counting dead values instead of dead units (the share of activations <= 0)",
        lambda acts: float(np.mean(acts <= 0)),
        "a unit is dead only if it is <= 0 on *every* sample: reduce over the samples "
        "first (np.any(acts > 0, axis=0)), then average over the units",
    ),
    Mistake(
        "a unit counted dead only when every value is exactly 0 (a test for nonzero, such as "
        "~acts.any(axis=0) or (acts == 0).all(axis=0), not for positive). That is right for "
        "ReLU outputs, which are never negative, but not for values that can be negative",
        lambda acts: float(np.mean(~np.any(acts, axis=0))),
        "a unit whose values are negative (or negative and zero) is dead too, e.g. in a leaky "
        "layer or before the activation; " + _POSITIVE_HINT,
    ),
    Mistake(
        "a unit counted dead only when its largest value is exactly 0 (acts.max(axis=0) == 0). "
        "That is right for ReLU outputs, but a unit whose values are all negative is dead too",
        lambda acts: float(np.mean(np.max(acts, axis=0) == 0)),
        "compare with <= 0, not == 0: acts.max(axis=0) <= 0, or " + _POSITIVE_HINT,
    ),
    Mistake(
        "treating an output of exactly 0 as alive (testing acts >= 0 instead of acts > 0)",
        lambda acts: float(np.mean(~np.any(acts >= 0, axis=0))),
        "a ReLU unit that always outputs 0 is dead: alive means positive (acts > 0) at least "
        "once",
    ),
    Mistake(
        "a unit counted dead when its values sum (or average) to <= 0 "
        "(acts.sum(axis=0) <= 0). That is right for ReLU outputs, but with negative values a "
        "unit that is positive once can still sum to <= 0",
        lambda acts: float(np.mean(np.sum(acts, axis=0) <= 0)),
        "one positive value keeps a unit alive, whatever the others are: " + _POSITIVE_HINT,
    ),
    Mistake(
        "reducing over the wrong axis (the share of samples on which every unit is <= 0)",
        lambda acts: float(np.mean(~np.any(acts > 0, axis=1))),
        "rows are samples and columns are units: reduce over axis 0 (the samples)",
    ),
    Mistake(
        "returning the number of dead units instead of their fraction",
        lambda acts: float(np.sum(~np.any(acts > 0, axis=0))),
        "divide the count by the number of units (acts.shape[1]), or take the mean",
    ),
)

_LAYER_OFF = "a layer is all zeros when all of its `width` units are off: 2**-width"

# Classic wrong answers, each recognised by reproducing the student's number. The case
# (width=2, depth=3) comes early because there every one of them gives a different value.
DEAD_LAYER_MISTAKES = (
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
