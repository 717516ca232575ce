"""Due dates, extensions and late work: ``course deadline`` and ``course extend``.

nbgrader keeps an assignment's due date on its gradebook row and a student's extension
on the submission row; autograde compares the submission's ``timestamp.txt`` with them
and hands the lateness to the late-submission plugin (nbgrader's own, or
:class:`course_lib.grading.late_policy.PercentPerDayLate`). This module sets both
without formgrader and reads them back for ``course grade``'s summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.grading import gradebook

#: Units ``course extend`` accepts in a duration, in seconds.
UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


def parse_datetime(text: str, timezone: str | None = None) -> datetime:
    """An aware datetime from ISO 8601 text (``2026-12-01 17:00``, ``...T17:00+01:00``).

    Args:
        text: the date and time; a date alone means its end (23:59:59).
        timezone: IANA zone for a time without an offset (default: this machine's).

    Raises:
        CourseError: the text is not a date and time, or the zone is unknown.
    """
    value = str(text).strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise CourseError(f"DATETIME: expected ISO 8601 such as '2026-12-01 17:00' or "
                          f"'2026-12-01T17:00+01:00', got {text!r}") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        when = when.replace(hour=23, minute=59, second=59)
    if when.tzinfo is None:
        if timezone:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                when = when.replace(tzinfo=ZoneInfo(timezone))
            except (ZoneInfoNotFoundError, ValueError):
                raise CourseError(f"--timezone: expected an IANA zone such as "
                                  f"'Europe/Berlin', got {timezone!r}") from None
        else:
            when = when.astimezone()  # this machine's zone
    return when


def parse_duration(text: str) -> timedelta:
    """A duration like ``2d``, ``36h``, ``1d12h``, ``90m`` or ``1w``.

    Raises:
        CourseError: anything else, or a duration of zero.
    """
    value = str(text).strip().lower().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)([wdhm])", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise CourseError(f"DURATION: expected a number and a unit (w, d, h, m), e.g. '2d' "
                          f"or '1d12h', got {text!r}")
    seconds = sum(float(number) * UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise CourseError(f"DURATION: expected more than nothing, got {text!r}")
    return timedelta(seconds=seconds)


def set_deadline(root: Path, slug: str, when: datetime) -> datetime:
    """Store ``when`` as ``slug``'s due date (nbgrader keeps naive UTC); return it in UTC.

    Raises:
        CourseError: the gradebook does not know ``slug`` (release it first).
    """
    utc = when.astimezone(UTC).replace(tzinfo=None)
    with gradebook.opened(gradebook.db_url(root), gradebook.course_id(root)) as gb:
        if slug not in {a.name for a in gb.assignments}:
            raise CourseError(f"the gradebook has no assignment {slug!r}; run `course "
                              f"release {slug}` first")
        gb.update_or_create_assignment(slug, duedate=utc)
    return utc.replace(tzinfo=UTC)


def deadline_of(root: Path, slug: str) -> datetime | None:
    """``slug``'s due date (aware, UTC), or None if it has none."""
    with gradebook.opened(gradebook.db_url(root), gradebook.course_id(root)) as gb:
        for assignment in gb.assignments:
            if assignment.name == slug and assignment.duedate is not None:
                return assignment.duedate.replace(tzinfo=UTC)
    return None


def extend(root: Path, student: str, slug: str, duration: timedelta) -> None:
    """Give ``student`` ``duration`` more for ``slug`` (replacing an earlier extension).

    Raises:
        CourseError: the gradebook does not know ``slug``.
    """
    url, course = gradebook.db_url(root), gradebook.course_id(root)
    if slug not in gradebook.assignment_names(url, course):
        raise CourseError(f"the gradebook has no assignment {slug!r}; run `course release "
                          f"{slug}` first")
    gradebook.grant_extension(url, slug, student, course, duration.total_seconds())


@dataclass(frozen=True)
class Lateness:
    """How late one graded submission was, after its extension, and what it cost."""

    seconds_late: float
    extension: float
    penalty: float

    def note(self) -> str:
        """``"late 1 d 2 h (-2 points)"``, ``"extended 2 d"``, or ``""``."""
        parts = []
        if self.seconds_late > 0:
            parts.append(f"late {_span(self.seconds_late)}"
                         + (f" (-{self.penalty:g} points)" if self.penalty else ""))
        if self.extension:
            parts.append(f"extended {_span(self.extension)}")
        return ", ".join(parts)


def _span(seconds: float) -> str:
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    shown = [f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
    return " ".join(shown[:2]) or "under a minute"


def lateness(url: str, course: str, slug: str, student: str) -> Lateness:
    """The :class:`Lateness` of one submission as the gradebook records it."""
    with gradebook.opened(url, course) as gb:
        try:
            submission = gb.find_submission(slug, student)
        except Exception:  # nbgrader's MissingEntry: nothing graded
            return Lateness(0.0, 0.0, 0.0)
        extension = submission.extension.total_seconds() if submission.extension else 0.0
        return Lateness(float(submission.total_seconds_late), extension,
                        float(submission.late_submission_penalty or 0.0))
