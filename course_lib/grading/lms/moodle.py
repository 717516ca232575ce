"""Moodle: the assignment's "Download all submissions" zip and the grade import CSV.

Zip member names (Moodle ``mod/assign/locallib.php``, ``download_submissions``)::

    <Full Name>_<participant id>_assignsubmission_file_/<path>/<file>    (folders, default)
    <Full Name>_<participant id>_assignsubmission_file_<file>            (flat, older setting)

Underscores in the name become spaces; team submissions prefix ``<Group>-``; blind
marking writes "Participant" for the name. The participant id comes from the
``assign_user_mapping`` table, so it differs between assignments: it identifies a
student within one zip only. Online-text submissions use the ``onlinetext`` plugin
instead of ``file``. The zip carries no submission times.

For grades, Moodle's gradebook "Import > CSV file" matches rows by the column the user
picks under "Identify user by" (``grade/import/csv``: user id, username, ID number or
email address) and maps one file column to the assignment's grade item.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from course_lib.grading.lms.canvas import number
from course_lib.grading.lms.records import Entry, LmsError, Parsed, ScoreRow, Skipped

SUBMISSION = re.compile(
    r"^(?P<name>[^_/]+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)$"
)

#: The columns :func:`write_grades` writes before the grade (named as Moodle exports them).
GRADE_COLUMNS = ("First name", "Last name", "ID number", "Email address")


def parse(names: list[str]) -> Parsed:
    """Moodle zip member names to entries (Moodle keeps one version of each file)."""
    entries, unmatched, ignored = [], [], []
    for member in names:
        match = SUBMISSION.match(member)
        path = match["rest"].lstrip("/") if match else ""
        if not match or not path:
            unmatched.append(Skipped(member, "name is not Moodle's <Full Name>_<participant id>"
                                     "_assignsubmission_file_<file>"))
        elif match["plugin"] != "file":
            ignored.append(Skipped(member, f"a {match['plugin']} submission, not a file upload"))
        else:
            entries.append(Entry(member=member, key=match["pid"], name=match["name"], path=path))
    return Parsed(entries, unmatched, ignored, [])


def name_key(name: str) -> str:
    """A name compared the way Moodle writes it: underscores as spaces, case folded."""
    return " ".join(name.replace("_", " ").casefold().split())


def identifier(rows: list[ScoreRow]) -> str:
    """The column every row can be identified by: "Email address", else "ID number".

    Raises:
        LmsError: some students have neither an email address nor an ID number.
    """
    if all(row.email for row in rows):
        return "Email address"
    if all(row.sis_user_id for row in rows):
        return "ID number"
    neither = [row.student_id for row in rows if not (row.email or row.sis_user_id)]
    no_email = [row.student_id for row in rows if not row.email]
    who = neither or no_email
    raise LmsError(f"scores: Moodle's import identifies every student by one column, email "
                   f"address or ID number; {'neither' if neither else 'no email'} for "
                   f"{', '.join(who[:5])}{' and others' if len(who) > 5 else ''}")


def write_grades(rows: list[ScoreRow], column: str, out: Path) -> str:
    """Write a CSV for Moodle's "Import > CSV file"; return the column to identify users by.

    Args:
        rows: one per student; every row needs an email (or every row an ID number).
        column: the grade column's header; the user maps it to the assignment's grade item.
        out: the CSV file to write.
    """
    by = identifier(rows)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*GRADE_COLUMNS, column])
        for row in rows:
            writer.writerow([row.first_name, row.last_name, row.sis_user_id, row.email,
                             number(row.score)])
    return by
