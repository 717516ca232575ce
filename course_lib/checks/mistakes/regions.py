"""Classic wrong linear-piece counts (notebook 01), so that a failed check can name the mistake.

See :mod:`course_lib.checks.mistakes` for what a mistake is and how it is used.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import Mistake


def _positions(w1, b1, w2, x_min, x_max, *, skip_dead_outputs=True, strict=True, sign=-1.0):
    """Switching points of the units, with a few of the classic slips as options."""
    w1, b1, w2 = (np.asarray(v, dtype=np.float64) for v in (w1, b1, w2))
    keep = (w1 != 0) & ((w2 != 0) if skip_dead_outputs else True)
    t = sign * b1[keep] / w1[keep]
    inside = (t > x_min) & (t < x_max) if strict else (t >= x_min) & (t <= x_max)
    return t[inside], (w2[keep] * np.abs(w1[keep]))[inside]


def _pieces(t: np.ndarray, change: np.ndarray) -> int:
    """Pieces from switching points and slope changes: merge equal points, drop cancelled."""
    return 1 + sum(1 for p in np.unique(t) if change[t == p].sum() != 0)


def _kinks_not_pieces(w1, b1, w2, x_min, x_max):
    return _pieces(*_positions(w1, b1, w2, x_min, x_max)) - 1


def _no_merging(w1, b1, w2, x_min, x_max):
    return int(_positions(w1, b1, w2, x_min, x_max)[0].size) + 1


def _no_cancelling(w1, b1, w2, x_min, x_max):
    return int(np.unique(_positions(w1, b1, w2, x_min, x_max)[0]).size) + 1


def _dead_outputs_counted(w1, b1, w2, x_min, x_max):
    t, change = _positions(w1, b1, w2, x_min, x_max, skip_dead_outputs=False)
    return int(np.unique(t).size) + 1 if np.any(change == 0) else -1


def _range_ignored(w1, b1, w2, x_min, x_max):
    return _pieces(*_positions(w1, b1, w2, -np.inf, np.inf))


def _ends_included(w1, b1, w2, x_min, x_max):
    return _pieces(*_positions(w1, b1, w2, x_min, x_max, strict=False))


def _sign_flipped(w1, b1, w2, x_min, x_max):
    return _pieces(*_positions(w1, b1, w2, x_min, x_max, sign=1.0))


ZERO_HINT = ("a unit with w1[i] == 0 never switches: leave it out before dividing by w1[i] "
              "(select with a mask such as w1 != 0)")
PIECES_HINT = ("unit i switches at x = -b1[i] / w1[i]; keep the points strictly inside "
                "(x_min, x_max), merge equal points, and pieces = kinks + 1")

COUNT_LINEAR_PIECES_MISTAKES = (
    Mistake("returning the number of kinks instead of the number of pieces",
            _kinks_not_pieces, "k kinks cut the range into k + 1 pieces"),
    Mistake("counting a kink that sits exactly on x_min or x_max", _ends_included,
            "a point on the edge of the range does not cut it: use strict < on both sides"),
    Mistake("counting kinks outside the range (x_min, x_max)", _range_ignored,
            "keep only the points with x_min < x < x_max"),
    Mistake("counting units that switch at the same x as separate kinks", _no_merging,
            "merge equal switching points, e.g. with np.unique"),
    Mistake("counting a unit whose output weight w2[i] is 0", _dead_outputs_counted,
            "a unit with w2[i] == 0 does not reach the output, so it adds no kink"),
    Mistake("counting a point where the slope changes of several units add up to 0",
            _no_cancelling, "at each point add up w2[i] * abs(w1[i]) of the units that "
            "switch there; if the sum is 0 the slope does not change: no kink"),
    Mistake("using x = +b1[i] / w1[i] as the switching point", _sign_flipped,
            "unit i switches where w1[i] * x + b1[i] = 0, that is at x = -b1[i] / w1[i]"),
)
