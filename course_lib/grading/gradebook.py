"""The course's gradebook during a batch: snapshot, merge, zero scores, export.

Only the parent process writes the course's SQLite gradebook. Each worker
autogrades into a private copy (see :mod:`course_lib.grading.worker`); when it
finishes, :func:`merge_submission` copies what nbgrader's autograde wrote there
(the submission's timestamp, every grade's automatic score and whether it needs
manual grading, automatic comments, late penalties) into the course's gradebook
through nbgrader's :class:`~nbgrader.api.Gradebook` API. Manual scores and
comments already in the course's gradebook are kept, as a re-run of
``nbgrader autograde`` keeps them.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from course_lib.grading.course import CourseError, load_config, nbgrader_api


@contextmanager
def _course_gradebook(root: Path) -> Iterator:
    """The course's :class:`~nbgrader.api.Gradebook`, without SQLAlchemy's chatter.

    nbgrader's ``add_submission`` triggers harmless "not in session" SAWarnings.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(db_url(root)) as gb:
            yield gb


def db_url(root: Path) -> str:
    """The SQLAlchemy URL of the course's gradebook."""
    url = load_config(root).CourseDirectory.get("db_url")
    return str(url) if url else f"sqlite:///{root / 'gradebook.db'}"


def db_path(root: Path) -> Path:
    """The course's gradebook file (only SQLite gradebooks are supported)."""
    url = db_url(root)
    if not url.startswith("sqlite:///"):
        raise CourseError(f"course grade needs a SQLite gradebook; this course uses {url}")
    return Path(url.removeprefix("sqlite:///"))


def _known_assignments(root: Path) -> set[str]:
    from nbgrader.api import Gradebook

    if not db_path(root).exists():
        return set()
    with Gradebook(db_url(root)) as gb:
        return {assignment.name for assignment in gb.assignments}


def ensure_assignments(root: Path, slugs: list[str]) -> None:
    """Make sure each assignment is in the gradebook (``generate_assignment`` records it)."""
    from course_lib.grading.release import release

    missing = [slug for slug in slugs if slug not in _known_assignments(root)]
    if missing:
        release(root, missing)


def snapshot(root: Path, destination: Path) -> Path:
    """Copy the gradebook, for workers to start from."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(db_path(root), destination)
    return destination


def merge_submission(root: Path, worker_db: Path, slug: str, student: str) -> bool:
    """Copy one autograded submission from a worker's gradebook into the course's.

    Returns:
        False if the worker's gradebook has no such submission (nothing merged).
    """
    from nbgrader.api import Gradebook, MissingEntry

    if not worker_db.exists():
        return False
    with Gradebook(f"sqlite:///{worker_db}") as source:
        try:
            graded = source.find_submission(slug, student)
        except MissingEntry:
            return False
        timestamp = graded.timestamp
        notebooks = {
            nb.name: (
                {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                {c.name: c.auto_comment for c in nb.comments},
                nb.late_submission_penalty,
            )
            for nb in graded.notebooks
        }
    with _course_gradebook(root) as target:
        target.update_or_create_student(student)
        kwargs = {"timestamp": timestamp} if timestamp is not None else {}
        submission = target.update_or_create_submission(slug, student, **kwargs)
        for nb in submission.notebooks:
            grades, comments, penalty = notebooks.get(nb.name, ({}, {}, None))
            nb.late_submission_penalty = penalty
            for grade in nb.grades:
                grade.auto_score, grade.needs_manual_grade = grades.get(grade.name, (0.0, False))
            for comment in nb.comments:
                comment.auto_comment = comments.get(comment.name)
        target.db.commit()
    return True


def record_zero(root: Path, slug: str, student: str) -> None:
    """Give a submission nbgrader could not run 0 on every graded cell (as nbgrader
    does for a missing notebook)."""
    with _course_gradebook(root) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(slug, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
        gb.db.commit()


def scores(root: Path, slug: str) -> dict[str, dict[str, float]]:
    """``{student: {grade cell: score}}`` of every submission of ``slug``."""
    from nbgrader.api import Gradebook

    found: dict[str, dict[str, float]] = {}
    with Gradebook(db_url(root)) as gb:
        for submission in gb.assignment_submissions(slug):
            cells = found.setdefault(submission.student.id, {})
            for nb in submission.notebooks:
                for grade in nb.grades:
                    cells[grade.name] = float(grade.score)
    return found


def export_csv(root: Path, destination: Path) -> Path:
    """nbgrader's CSV export (``nbgrader export``) of the whole gradebook."""
    from nbgrader.plugins import CsvExportPlugin

    api = nbgrader_api(root)
    plugin = CsvExportPlugin(parent=api)
    plugin.to = str(destination)
    with api.gradebook as gb:
        plugin.export(gb)
    return destination
