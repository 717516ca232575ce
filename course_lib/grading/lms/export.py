"""Write one assignment's scores as a file the LMS's gradebook imports.

Canvas: Grades > Import takes its own gradebook CSV. Canvas finds each student by the
"ID" column (its user id), then "SIS User ID" / "SIS Login ID", then the name; it finds
the assignment by the ``(<id>)`` at the end of the column header, else by the exact
title, and makes a new assignment for a title it does not know
(``lib/gradebook_importer.rb``).

Moodle: Grades > Import > CSV file. Under "Identify user by" the user maps the file's
"Email address" column to "Email address" (or, when some students have no email,
"ID number" to "ID number"), and under "Grade item mappings" maps the assignment's
column to the assignment's grade item.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from course_lib.grading.lms import canvas, moodle
from course_lib.grading.lms.records import LmsError, ScoreRow

#: The LMSs :func:`export` writes for.
EXPORT_LMS = ("canvas", "moodle")


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export` wrote and how to import it.

    Args:
        path: the CSV file.
        rows: how many students it holds.
        instructions: the import steps in the LMS, for the terminal.
    """

    path: Path
    rows: int
    instructions: str


def export(scores: Sequence[ScoreRow], lms: str, assignment: str, out: Path, *,
           points_possible: float | None = None) -> ExportReport:
    """Write ``scores`` of one assignment as ``lms``'s gradebook import file.

    Args:
        scores: one row per student (see :class:`~.records.ScoreRow`).
        lms: ``"canvas"`` or ``"moodle"``.
        assignment: the assignment's column header. For Canvas, ``"Lab 3 (81234)"``
            (name and Canvas assignment id, as Canvas exports it) updates that
            assignment; a bare name updates the assignment of that exact title.
        out: the CSV file to write (its folder is made if needed).
        points_possible: the assignment's points in the LMS; scores are scaled from
            each row's ``max_score`` to it. Default: the rows' common ``max_score``.

    Returns:
        The file, its row count and the import steps.

    Raises:
        LmsError: ``lms`` is not supported, ``scores`` is empty, a score or max score
            is not a usable number, max scores differ without ``points_possible``,
            or a student lacks the id the LMS matches on.
    """
    name = str(lms).strip().lower()
    if name not in EXPORT_LMS:
        raise LmsError(f"lms: expected one of {', '.join(EXPORT_LMS)} for grade export, "
                       f"got {lms!r}")
    if not assignment.strip():
        raise LmsError("assignment: expected the assignment's column name, got ''")
    rows, points = _scaled(_checked(scores), points_possible)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if name == "canvas":
        _check_canvas_ids(rows)
        canvas.write_gradebook(rows, assignment, points, out)
        steps = (f"Canvas: Grades > Import, choose {out.name}, check the preview (students "
                 f"are matched by ID, the column by its '(id)' or exact name), then Save")
    else:
        by = moodle.write_grades(rows, assignment, out)
        steps = (f"Moodle: Grades > Import > CSV file, upload {out.name}; Identify user by: "
                 f"map from '{by}' to '{by}'; Grade item mappings: map '{assignment}' to the "
                 f"assignment's grade item (out of {canvas.number(points)})")
    return ExportReport(out, len(rows), steps)


def _checked(scores: Sequence[ScoreRow]) -> list[ScoreRow]:
    rows = list(scores)
    if not rows:
        raise LmsError("scores: expected at least one ScoreRow, got none")
    seen = set()
    for row in rows:
        if row.student_id in seen:
            raise LmsError(f"scores: student {row.student_id!r} appears twice")
        seen.add(row.student_id)
        if not (isinstance(row.max_score, (int, float)) and math.isfinite(row.max_score)
                and row.max_score > 0):
            raise LmsError(f"scores: max_score of {row.student_id!r} must be a positive number, "
                           f"got {row.max_score!r}")
        if row.score is not None and not (isinstance(row.score, (int, float))
                                          and math.isfinite(row.score) and row.score >= 0):
            raise LmsError(f"scores: score of {row.student_id!r} must be a number >= 0 or None, "
                           f"got {row.score!r}")
    return rows


def _scaled(rows: list[ScoreRow], points: float | None) -> tuple[list[ScoreRow], float]:
    """Rows out of ``points``; without it, the max score all rows share."""
    if points is None:
        maxima = {row.max_score for row in rows}
        if len(maxima) > 1:
            raise LmsError(f"scores: max_score differs between students ({sorted(maxima)}); "
                           "pass points_possible= to scale them to one")
        return rows, maxima.pop()
    if not (isinstance(points, (int, float)) and math.isfinite(points) and points > 0):
        raise LmsError(f"points_possible: expected a positive number, got {points!r}")
    return [replace(row, score=None if row.score is None else row.score * points / row.max_score,
                    max_score=points) for row in rows], float(points)


def _check_canvas_ids(rows: list[ScoreRow]) -> None:
    missing = [r.student_id for r in rows if not (r.lms_user_id or r.sis_user_id or r.sis_login_id)]
    if missing:
        raise LmsError(f"scores: Canvas needs each student's Canvas ID, SIS User ID or SIS Login "
                       f"ID; none for {', '.join(missing[:5])}"
                       f"{' and others' if len(missing) > 5 else ''} (collect with a roster)")
