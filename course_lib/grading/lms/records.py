"""The records the LMS modules pass around: students, score rows, archive entries.

Plain dataclasses, so callers need no database: build :class:`ScoreRow` rows from
nbgrader's gradebook, a CSV file or by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class LmsError(ValueError):
    """A problem with an LMS archive, roster or score list; its message is one line."""


@dataclass(frozen=True)
class Student:
    """A student as the course and the LMS know them; one row of ``students.csv``.

    The field names follow nbgrader's student table (``id``, ``first_name``,
    ``last_name``, ``email``, ``lms_user_id``), so ``nbgrader db student import
    students.csv`` reads the file as it is (it skips the other columns).

    Args:
        id: the nbgrader student id, the folder name under ``submitted/``.
        first_name: given name, when known.
        last_name: family name, when known.
        full_name: the name as the archive or roster spells it (Canvas zips squash
            "Last, First" to ``lastfirst``; Moodle and Blackboard give "First Last").
        email: e-mail address, when known.
        lms_user_id: the LMS's own stable id: the Canvas user id, the Blackboard
            username. Moodle's participant ids are per assignment, so they are not kept.
        sis_user_id: the institution's student number (Canvas "SIS User ID", Moodle
            "ID number", Blackboard "Student ID").
        sis_login_id: the institution's login (Canvas "SIS Login ID", Moodle username).
        section: the course section (Canvas "Section").
    """

    id: str
    first_name: str = ""
    last_name: str = ""
    full_name: str = ""
    email: str = ""
    lms_user_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


@dataclass(frozen=True)
class ScoreRow:
    """One student's score on one assignment, as :func:`~.export.export` writes it.

    Args:
        student_id: the nbgrader student id.
        score: points earned (after late penalties), or ``None`` for no grade (the
            cell is left blank, which both Canvas and Moodle read as "no grade").
        max_score: points possible in nbgrader.
        first_name: given name (Moodle's "First name"; Canvas's "Student" column).
        last_name: family name.
        full_name: used for Canvas's "Student" column when first/last are unknown.
        email: Moodle's "Email address", the usual identifier for Moodle's import.
        lms_user_id: the Canvas user id (Canvas's "ID" column, what Canvas matches first).
        sis_user_id: Canvas "SIS User ID"; Moodle "ID number".
        sis_login_id: Canvas "SIS Login ID".
        section: Canvas "Section".
    """

    student_id: str
    score: float | None
    max_score: float
    first_name: str = ""
    last_name: str = ""
    full_name: str = ""
    email: str = ""
    lms_user_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""

    @classmethod
    def for_student(cls, student: Student, score: float | None, max_score: float) -> ScoreRow:
        """A row for ``student`` (e.g. from ``students.csv``) with its score."""
        return cls(student.id, score, max_score, student.first_name, student.last_name,
                   student.full_name, student.email, student.lms_user_id, student.sis_user_id,
                   student.sis_login_id, student.section)


@dataclass(frozen=True)
class Entry:
    """One file a student handed in, as an LMS parser found it in the archive.

    Args:
        member: the file's name inside the zip.
        key: the student's id in this archive: Canvas user id, Moodle participant id,
            Blackboard username.
        name: the student's name as the archive spells it.
        path: where the file goes inside the student's assignment folder (POSIX, relative).
        submitted_at: when it was handed in, if the archive says (Blackboard only).
        late: the LMS marked the submission late (Canvas only).
    """

    member: str
    key: str
    name: str
    path: str
    submitted_at: datetime | None = None
    late: bool = False


@dataclass(frozen=True)
class Skipped:
    """A file of the archive that was not collected, and why.

    Args:
        member: the file's name inside the zip.
        reason: one line: what is wrong with it, or why it is not needed.
        student: the nbgrader student id (or the archive's key) when known.
    """

    member: str
    reason: str
    student: str = ""


@dataclass
class Parsed:
    """What an LMS parser makes of an archive's file names.

    Args:
        entries: the newest version of every file each student handed in.
        unmatched: files that fit no student: the collection is incomplete.
        ignored: files that are not needed (receipts, older attempts, OS clutter).
        notes: things the user should know (e.g. names that were ambiguous).
    """

    entries: list[Entry]
    unmatched: list[Skipped]
    ignored: list[Skipped]
    notes: list[str]
