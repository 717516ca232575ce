"""Rosters in, ``students.csv`` out, and which roster student an archive entry belongs to.

A roster is a CSV file or a list of :class:`~.records.Student`. CSV headers are read
by name, so these all work as they come: the ``students.csv`` this package writes,
Canvas's gradebook export ("Student", "ID", "SIS User ID", "SIS Login ID", "Section"),
Moodle's gradebook export ("First name", "Last name", "ID number", "Email address") and
Blackboard's Grade Center export ("Last Name", "First Name", "Username", "Student ID").
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from course_lib.grading.lms import canvas, moodle
from course_lib.grading.lms.records import Entry, LmsError, Student

#: students.csv columns: nbgrader's student table first, then what the LMS exports need.
FIELDS = tuple(f.name for f in dataclasses.fields(Student))

HEADERS = {
    "id": "id", "student_id": "id",
    "first_name": "first_name", "First name": "first_name", "First Name": "first_name",
    "last_name": "last_name", "Last name": "last_name", "Last Name": "last_name",
    "full_name": "full_name", "Full name": "full_name", "Name": "full_name",
    "Student": "full_name",
    "email": "email", "Email": "email", "Email address": "email",
    "lms_user_id": "lms_user_id",
    "sis_user_id": "sis_user_id", "SIS User ID": "sis_user_id", "ID number": "sis_user_id",
    "Student ID": "sis_user_id",
    "sis_login_id": "sis_login_id", "SIS Login ID": "sis_login_id", "Username": "sis_login_id",
    "section": "section", "Section": "section",
}


def read_roster(roster: Path | Sequence[Student]) -> list[Student]:
    """The students of ``roster`` (a CSV file or a list), checked for usable unique ids.

    Raises:
        LmsError: the file is missing, a row has no usable id, or an id repeats.
    """
    students = _read_csv(Path(roster)) if isinstance(roster, (str, Path)) else list(roster)
    seen: dict[str, int] = {}
    for row, student in enumerate(students, start=1):
        problem = bad_id(student.id)
        if problem:
            raise LmsError(f"roster: student {row} ({student.full_name or student.email or '?'}) "
                           f"has {problem}")
        if student.id in seen:
            raise LmsError(f"roster: id {student.id!r} appears twice (students {seen[student.id]} "
                           f"and {row})")
        seen[student.id] = row
    return students


def bad_id(student_id: str) -> str:
    """Why ``student_id`` cannot name a folder under ``submitted/``, or ''."""
    if not student_id:
        return "no id (expected an id, email, login or LMS user id column)"
    if student_id in {".", ".."} or "/" in student_id or "\\" in student_id:
        return f"the id {student_id!r}, which is not a folder name"
    return ""


def _read_csv(path: Path) -> list[Student]:
    if not path.is_file():
        raise LmsError(f"roster: expected a CSV file, got {path}, which does not exist")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        # Canvas exports its own user id as "ID"; elsewhere "ID" is the student's id.
        is_canvas = "SIS Login ID" in header
        rows = [_student(row, is_canvas) for row in reader]
    return [s for s in rows if s is not None]


def _student(row: dict[str, str], is_canvas: bool) -> Student | None:
    values: dict[str, str] = {}
    for header, value in row.items():
        field = "lms_user_id" if is_canvas and header == "ID" else HEADERS.get(header or "")
        field = field or ("id" if header == "ID" else None)
        if field and value and value.strip():
            values.setdefault(field, value.strip())
    name = values.get("full_name", "")
    if "Points Possible" in name or not values:
        return None  # Canvas's second row carries points, not a student
    if is_canvas and "," in name and not (values.get("first_name") or values.get("last_name")):
        # Canvas's "Student" column is the sortable name, "Last, First"
        last, _, first = name.partition(",")
        values.update(last_name=last.strip(), first_name=first.strip())
    email_user = values.get("email", "").partition("@")[0]
    values.setdefault("id", values.get("sis_login_id") or values.get("lms_user_id")
                      or email_user or values.get("sis_user_id", ""))
    return Student(**values)


def matches(lms: str, roster: Iterable[Student]):
    """A function from an archive entry to the roster students it may belong to."""
    index: dict[str, list[Student]] = defaultdict(list)
    for student in roster:
        for key in _keys(lms, student):
            if student not in index[key]:
                index[key].append(student)

    def find(entry: Entry) -> list[Student]:
        if lms == "canvas":
            by_name = index.get(f"name:{canvas.name_key(entry.name)}", [])
            return index.get(f"id:{entry.key}") or by_name
        if lms == "moodle":
            return index.get(f"name:{moodle.name_key(entry.name)}", [])
        return index.get(f"id:{entry.key}", [])

    return find


def _keys(lms: str, s: Student) -> list[str]:
    if lms == "canvas":
        ids = [f"id:{s.lms_user_id}"] if s.lms_user_id else []
        names = [f"{s.last_name}{s.first_name}", s.full_name]
        return ids + [f"name:{canvas.name_key(n)}" for n in names if canvas.name_key(n)]
    if lms == "moodle":
        names = [s.full_name, f"{s.first_name} {s.last_name}", f"{s.last_name} {s.first_name}"]
        return [f"name:{moodle.name_key(n)}" for n in names if moodle.name_key(n)]
    return [f"id:{i}" for i in (s.lms_user_id, s.sis_login_id, s.id) if i]


def from_archive(lms: str, entries: Iterable[Entry]) -> dict[str, Student]:
    """Students made from the archive alone (no roster), by the entries' keys.

    Canvas and Blackboard ids are the LMS's user id and username. Moodle's participant
    ids change from one assignment to the next, so Moodle students are named after
    their full name ("Ada Lovelace" -> ``ada_lovelace``), with the participant id
    appended only where two students share a name.
    """
    names = {entry.key: entry.name for entry in entries}
    if lms != "moodle":
        return {key: Student(id=key, full_name=name, lms_user_id=_lms_user_id(lms, key))
                for key, name in names.items()}
    slugs = {key: slug(name) or key for key, name in names.items()}
    taken = defaultdict(list)
    for key, name_slug in slugs.items():
        taken[name_slug].append(key)
    return {key: Student(id=name_slug if len(taken[name_slug]) == 1 else f"{name_slug}_{key}",
                         full_name=names[key])
            for key, name_slug in slugs.items()}


def _lms_user_id(lms: str, key: str) -> str:
    # Canvas's anonymous-grading ids ("anon_x7k2p") are no user id to import grades by.
    return "" if lms == "canvas" and key.startswith("anon_") else key


def slug(name: str) -> str:
    """A name as a folder-safe id: lower case, words joined by '_', letters kept (ä stays ä)."""
    return re.sub(r"[^\w-]", "", "_".join(name.casefold().split()))


def write_students_csv(path: Path, students: Iterable[Student]) -> None:
    """Add or update ``students`` in the ``students.csv`` at ``path`` (other rows stay)."""
    rows = {s.id: s for s in (_read_csv(path) if path.is_file() else [])}
    for student in students:
        old = rows.get(student.id)
        if old is not None:
            kept = {f: getattr(old, f) for f in FIELDS if getattr(old, f)}
            new = {f: getattr(student, f) for f in FIELDS if getattr(student, f)}
            student = Student(**{**kept, **new})
        rows[student.id] = student
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIELDS)
        for student in sorted(rows.values(), key=lambda s: s.id):
            writer.writerow([getattr(student, f) for f in FIELDS])
