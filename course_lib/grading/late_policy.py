"""Late penalty: a percentage of the maximum score per started day late, capped.

An nbgrader late-submission plugin. In ``nbgrader_config.py``::

    c.AssignLatePenalties.plugin_class = "course_lib.grading.late_policy.PercentPerDayLate"
    c.PercentPerDayLate.penalty_per_day = 10   # percent of the max score per started day
    c.PercentPerDayLate.max_penalty = 50       # percent, at most

nbgrader's contract (``nbgrader.preprocessors.AssignLatePenalties``): during autograde,
for each notebook of a submission whose ``total_seconds_late`` (already net of any
extension) is above zero, it calls ``late_submission_penalty(student_id, score,
total_seconds_late)`` with the notebook's score, stores the returned points as the
notebook's ``late_submission_penalty`` (clipped to ``[0, score]``; ``None`` means none)
and reports ``score - penalty``. The penalty here is a share of the notebook's maximum
score, read from the gradebook the preprocessor has open, so summed over an
assignment's notebooks it is the same share of the assignment's maximum score. It
never exceeds the score earned, so no score goes below zero.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, TraitError, validate

#: Seconds in one day of lateness.
DAY = 24 * 60 * 60


class LatePolicyError(RuntimeError):
    """The plugin was called where it cannot find the notebook's maximum score."""


class PercentPerDayLate(LateSubmissionPlugin):
    """``penalty_per_day`` percent of the max score per started day late, up to ``max_penalty``.

    Both are percentages of the notebook's maximum score, set from ``nbgrader_config.py``.
    """

    penalty_per_day = Float(
        10.0, help="Percent of the notebook's maximum score taken per started day late."
    ).tag(config=True)

    max_penalty = Float(
        50.0, help="Largest penalty, in percent of the notebook's maximum score."
    ).tag(config=True)

    @validate("penalty_per_day")
    def _check_per_day(self, proposal):
        return _percent("penalty_per_day", proposal["value"])

    @validate("max_penalty")
    def _check_cap(self, proposal):
        return _percent("max_penalty", proposal["value"])

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        """Points to take from one late notebook (nbgrader's plugin method).

        Args:
            student_id: the student whose notebook is being graded.
            score: the notebook's score before the penalty.
            total_seconds_late: how late the submission is, after extensions.

        Returns:
            The penalty in points, between 0 and ``score``.
        """
        if total_seconds_late <= 0:
            return 0.0
        max_score = self._max_score(student_id)
        penalty = self.penalty_for(score, max_score, total_seconds_late)
        self.log.info("%s: %d started day(s) late, penalty %.2f of %.2f points", student_id,
                      days_late(total_seconds_late), penalty, max_score)
        return penalty

    def penalty_for(self, score: float, max_score: float, seconds_late: float) -> float:
        """The penalty in points for ``score`` out of ``max_score``, ``seconds_late`` late.

        Args:
            score: points earned before the penalty.
            max_score: points possible.
            seconds_late: lateness in seconds; zero or less means on time.

        Returns:
            ``min(days * penalty_per_day, max_penalty)`` percent of ``max_score``,
            never more than ``score`` (so the score stays >= 0) and never below 0.
        """
        if seconds_late <= 0 or score <= 0:
            return 0.0
        percent = min(days_late(seconds_late) * self.penalty_per_day, self.max_penalty)
        return min(float(score), percent / 100.0 * float(max_score))

    def _max_score(self, student_id: str) -> float:
        """The notebook's max score, from the gradebook ``AssignLatePenalties`` has open."""
        parent = self.parent
        try:
            notebook = parent.gradebook.find_submission_notebook(
                parent.notebook_id, parent.assignment_id, student_id)
        except AttributeError as error:
            raise LatePolicyError(
                "PercentPerDayLate: expected to run inside nbgrader's AssignLatePenalties "
                f"(which has the gradebook open), got parent {type(parent).__name__}; "
                "call penalty_for(score, max_score, seconds_late) directly instead"
            ) from error
        return float(notebook.max_score)


def days_late(seconds_late: float) -> int:
    """Started days: one second late is one day, exactly 24 hours is still one day."""
    return max(0, math.ceil(seconds_late / DAY))


def _percent(name: str, value: float) -> float:
    if not (math.isfinite(value) and 0 <= value <= 100):
        raise TraitError(f"PercentPerDayLate.{name}: expected a percentage from 0 to 100, "
                         f"got {value!r}")
    return value
