"""Gradebooks during a batch: assignment copies, merges, zero scores, export.

Every function takes a gradebook as a SQLAlchemy URL, so the course's gradebook may
be nbgrader's default SQLite file or a database server shared by several graders
(PostgreSQL: ``c.CourseDirectory.db_url = "postgresql+psycopg://..."``).

Workers never write the course's gradebook. Each autogrades into a private SQLite
copy holding only the assignment (:func:`copy_assignments`); when it finishes, the
grading process copies what nbgrader's autograde wrote there (the submission's
timestamp, every grade's automatic score and whether it needs manual grading,
automatic comments, late penalties, the flag) into the target gradebook through
nbgrader's :class:`~nbgrader.api.Gradebook` API (:func:`merge_submission`). Manual
scores and comments already in the target are kept, as a re-run of
``nbgrader autograde`` keeps them. Two graders that create the same row at the same
moment on a shared server make one of them fail a unique constraint; that one rolls
back and tries again, so rows are never duplicated (the schema forbids it) and never
lost.
"""

from __future__ import annotations

import logging
import random
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from course_lib.errors import CourseError
from course_lib.grading.course import load_config, nbgrader_api

T = TypeVar("T")

#: Attempts at a transaction that lost a race on a shared database server.
RETRIES = 8


def db_url(root: Path) -> str:
    """The SQLAlchemy URL of the course's gradebook."""
    url = load_config(root).CourseDirectory.get("db_url")
    return str(url) if url else f"sqlite:///{root / 'gradebook.db'}"


def course_id(root: Path) -> str:
    """The course id nbgrader records with every assignment."""
    return str(load_config(root).CourseDirectory.get("course_id", "default_course"))


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite gradebook file."""
    return f"sqlite:///{Path(path)}"


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite file (not safe to share between machines)."""
    return url.startswith("sqlite:")


def db_path(url: str) -> Path:
    """The file of a SQLite gradebook URL."""
    return Path(url.removeprefix("sqlite:///"))


@contextmanager
def opened(url: str, course: str = "default_course") -> Iterator:
    """nbgrader's :class:`~nbgrader.api.Gradebook` at ``url``, without SQLAlchemy's chatter.

    nbgrader's ``add_submission`` triggers harmless "not in session" SAWarnings. Opening
    a new gradebook creates its tables; two graders doing that at once on a server may
    collide, so opening is retried like any transaction.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings(), _quiet_rollbacks():
        warnings.simplefilter("ignore", SAWarning)
        gb = _retry(lambda: Gradebook(url, course_id=course), None)
        try:
            yield gb
        finally:
            gb.close()


class _RollbackFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Rolling back session due to database error")


@contextmanager
def _quiet_rollbacks() -> Iterator[None]:
    """nbgrader logs a traceback for every rolled-back transaction; a lost race that we
    retry is not an error (one that is still failing after the retries is raised)."""
    logger = logging.getLogger("tornado.application")
    quiet = _RollbackFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _retry(attempt: Callable[[], T], gb) -> T:
    """Run ``attempt``; after a lost race (unique constraint, deadlock) roll back and retry."""
    from nbgrader.api import InvalidEntry
    from sqlalchemy.exc import DBAPIError

    for number in range(RETRIES):
        try:
            return attempt()
        except (DBAPIError, InvalidEntry) as error:
            if gb is not None:
                gb.db.rollback()
            if number == RETRIES - 1 or not _is_race(error):
                raise
            time.sleep(random.uniform(0.05, 0.3) * (number + 1))
    raise AssertionError("unreachable")


def _is_race(error: Exception) -> bool:
    """A failure another grader's concurrent transaction (or a dropped connection to the
    server) can cause: worth a retry.

    nbgrader turns a unique-constraint violation into ``InvalidEntry`` with the driver's
    message; creating tables at the same time fails on PostgreSQL's catalog.
    """
    from sqlalchemy.exc import IntegrityError

    text = str(error).lower()
    return isinstance(error, IntegrityError) or any(word in text for word in (
        "unique", "duplicate", "already exists", "deadlock", "could not serialize",
        "database is locked", "server closed the connection", "connection reset",
        "terminating connection", "could not connect", "connection refused"))


def assignment_names(url: str, course: str) -> set[str]:
    """Assignments recorded in the gradebook at ``url`` (a missing SQLite file has none)."""
    if is_sqlite(url) and not db_path(url).exists():
        return set()
    with opened(url, course) as gb:
        return {assignment.name for assignment in gb.assignments}


def ensure_assignments(root: Path, slugs: Sequence[str]) -> None:
    """Make sure each assignment is in the course's gradebook (``generate_assignment``
    records it)."""
    from course_lib.grading.release import release

    missing = [slug for slug in slugs if slug not in assignment_names(db_url(root),
                                                                      course_id(root))]
    if missing:
        _retry(lambda: release(root, missing), None)


def copy_assignments(source: str, target: str, slugs: Sequence[str], course: str) -> None:
    """Copy the definition of each assignment (notebooks, graded, solution, task and
    source cells with their checksums) from one gradebook into another.

    Raises:
        CourseError: an assignment is not in ``source``.
    """
    with opened(source, course) as src:
        definitions = [_definition(src, slug) for slug in slugs]
    with opened(target, course) as dst:
        for slug, duedate, notebooks in definitions:
            dst.update_or_create_assignment(slug, duedate=duedate)
            for name, cells in notebooks:
                dst.update_or_create_notebook(name, slug)
                for method, cell_name, fields in cells:
                    getattr(dst, method)(cell_name, name, slug, **fields)


def _definition(gb, slug: str) -> tuple:
    from nbgrader.api import MissingEntry

    try:
        assignment = gb.find_assignment(slug)
    except MissingEntry:
        raise CourseError(f"assignment {slug} is not in the gradebook; run course release "
                          f"{slug}") from None
    notebooks = []
    for nb in assignment.notebooks:
        cells = [("update_or_create_grade_cell", c.name,
                  {"max_score": c.max_score, "cell_type": c.cell_type}) for c in nb.grade_cells]
        cells += [("update_or_create_solution_cell", c.name, {}) for c in nb.solution_cells]
        cells += [("update_or_create_task_cell", c.name,
                   {"max_score": c.max_score, "cell_type": c.cell_type}) for c in nb.task_cells]
        cells += [("update_or_create_source_cell", c.name,
                   {"cell_type": c.cell_type, "locked": c.locked, "source": c.source,
                    "checksum": c.checksum}) for c in nb.source_cells]
        notebooks.append((nb.name, sorted(cells, key=lambda cell: cell[:2])))
    return slug, assignment.duedate, sorted(notebooks)


def definitions(url: str, slugs: Sequence[str], course: str) -> dict[str, str]:
    """``{slug: text}``: each assignment as the gradebook defines it (due date, cells,
    points, checksums), for fingerprints: autograde restores test cells from it."""
    with opened(url, course) as gb:
        return {slug: repr(_definition(gb, slug)) for slug in slugs}


def read_submission(url: str, slug: str, student: str, course: str) -> dict | None:
    """What autograde recorded for one submission, as plain data (None if absent)."""
    from nbgrader.api import MissingEntry

    with opened(url, course) as gb:
        try:
            graded = gb.find_submission(slug, student)
        except MissingEntry:
            return None
        return {
            "timestamp": graded.timestamp,
            "notebooks": {nb.name: {
                "grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
                "penalty": nb.late_submission_penalty,
                "flagged": bool(nb.flagged),
            } for nb in graded.notebooks},
        }


def write_submission(url: str, slug: str, student: str, course: str,
                     recorded: dict | None) -> None:
    """Store one submission's automatic results in the gradebook at ``url``.

    ``recorded`` comes from :func:`read_submission`; None gives 0 on every graded cell,
    as nbgrader does for a missing notebook. Manual scores and comments are kept.
    """
    recorded = recorded or {"timestamp": None, "notebooks": {}}
    with opened(url, course) as gb:
        def store() -> None:
            gb.update_or_create_student(student)
            kwargs = {"timestamp": recorded["timestamp"]} if recorded["timestamp"] else {}
            submission = gb.update_or_create_submission(slug, student, **kwargs)
            for nb in submission.notebooks:
                saved = recorded["notebooks"].get(nb.name, {})
                nb.late_submission_penalty = saved.get("penalty")
                nb.flagged = bool(nb.flagged) or saved.get("flagged", False)  # keep manual flags
                grades = saved.get("grades", {})
                for grade in nb.grades:
                    grade.auto_score, grade.needs_manual_grade = grades.get(grade.name,
                                                                            (0.0, False))
                for comment in nb.comments:
                    comment.auto_comment = saved.get("comments", {}).get(comment.name)
            gb.db.commit()

        _retry(store, gb)


def merge_submission(source: str, target: str, slug: str, student: str, course: str) -> bool:
    """Copy one autograded submission from one gradebook into another.

    Returns:
        False if ``source`` has no such submission (nothing merged).
    """
    if is_sqlite(source) and not db_path(source).exists():
        return False
    recorded = read_submission(source, slug, student, course)
    if recorded is None:
        return False
    write_submission(target, slug, student, course, recorded)
    return True


def flag(url: str, slug: str, student: str, course: str) -> None:
    """Mark the submission's notebooks as flagged in nbgrader (shown in formgrader)."""
    with opened(url, course) as gb:
        def mark() -> None:
            for nb in gb.find_submission(slug, student).notebooks:
                nb.flagged = True
            gb.db.commit()

        _retry(mark, gb)


def final_score(submission) -> float:
    """A submission's score after its late penalty, as nbgrader's CSV export has it."""
    return max(0.0, float(submission.score) - float(submission.late_submission_penalty or 0))


def score_of(url: str, slug: str, student: str, course: str) -> tuple[float, float] | None:
    """(score after any late penalty, max score) of one submission, or None if absent."""
    from nbgrader.api import MissingEntry

    with opened(url, course) as gb:
        try:
            submission = gb.find_submission(slug, student)
        except MissingEntry:
            return None
        return final_score(submission), float(submission.max_score)


def awaiting_ta(url: str, slug: str, student: str, course: str) -> float:
    """Points of the submission's answers that need a TA and have no manual score yet."""
    from nbgrader.api import MissingEntry

    with opened(url, course) as gb:
        try:
            submission = gb.find_submission(slug, student)
        except MissingEntry:
            return 0.0
        return float(sum(grade.max_score for nb in submission.notebooks for grade in nb.grades
                         if grade.needs_manual_grade and grade.manual_score is None))


def stored_scores(url: str, course: str, slugs: Sequence[str]
                  ) -> dict[tuple[str, str], tuple[float, float]]:
    """``{(slug, student): (score, max score)}`` of every submission of ``slugs`` in one
    pass (a missing SQLite file has none)."""
    if is_sqlite(url) and not db_path(url).exists():
        return {}
    found = {}
    with opened(url, course) as gb:
        names = {assignment.name for assignment in gb.assignments}
        for slug in set(slugs) & names:
            for submission in gb.assignment_submissions(slug):
                found[slug, submission.student.id] = (final_score(submission),
                                                      float(submission.max_score))
    return found


def extensions(url: str, course: str, slugs: Sequence[str]) -> dict[tuple[str, str], float]:
    """``{(slug, student): seconds}`` of every deadline extension granted in the gradebook
    (nbgrader keeps them on the submission row, where late penalties look for them)."""
    found = {}
    if is_sqlite(url) and not db_path(url).exists():
        return found
    with opened(url, course) as gb:
        names = {assignment.name for assignment in gb.assignments}
        for slug in set(slugs) & names:
            for submission in gb.assignment_submissions(slug):
                if submission.extension:
                    found[slug, submission.student.id] = submission.extension.total_seconds()
    return found


def grant_extension(url: str, slug: str, student: str, course: str, seconds: float) -> None:
    """Record a deadline extension for one student (as formgrader's extension field does)."""
    from datetime import timedelta

    with opened(url, course) as gb:
        def store() -> None:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(slug, student, extension=timedelta(seconds=seconds))

        _retry(store, gb)


def scores(where: Path | str, slug: str) -> dict[str, dict[str, float]]:
    """``{student: {grade cell: score}}`` of every submission of ``slug``.

    Args:
        where: a course directory (its gradebook) or a gradebook's URL.
    """
    if isinstance(where, Path):
        url, course = db_url(where), course_id(where)
    else:
        url, course = where, "default_course"
    found: dict[str, dict[str, float]] = {}
    with opened(url, course) as gb:
        for submission in gb.assignment_submissions(slug):
            cells = found.setdefault(submission.student.id, {})
            for nb in submission.notebooks:
                for grade in nb.grades:
                    cells[grade.name] = float(grade.score)
    return found


def export_csv(root: Path, destination: Path) -> Path:
    """nbgrader's CSV export (``nbgrader export``) of the course's gradebook, keeping only
    the assignments that have graded submissions (nbgrader lists every released one,
    with a zero row per student for each not yet graded)."""
    import csv

    from nbgrader.plugins import CsvExportPlugin

    api = nbgrader_api(root)
    plugin = CsvExportPlugin(parent=api)
    plugin.to = str(destination)
    with api.gradebook as gb:
        plugin.export(gb)
        graded = {a.name for a in gb.assignments if gb.assignment_submissions(a.name)}
    with open(destination, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        header = rows[0].keys() if rows else []
    with open(destination, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(header) or ["assignment"])
        writer.writeheader()
        writer.writerows(row for row in rows if row.get("assignment") in graded)
    return destination
