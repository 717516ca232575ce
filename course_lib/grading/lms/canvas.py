"""Canvas: the "Download Submissions" zip and the gradebook CSV for "Import".

Zip member names (Canvas ``lib/content_zipper.rb``, ``get_filename`` and
``add_upload_submission``)::

    <lastfirst>_[LATE_]<user id>_<attachment id>_<display name>

``lastfirst`` is the student's sortable name ("Last, First") lower-cased with every
non-word character removed; ``LATE`` appears when Canvas counts the submission late;
anonymous grading replaces name and user id by ``anon_<anonymous id>``. The second
number is the uploaded file's attachment id (not the submission id), and it grows with
every upload. A student who uploads a file whose name they used before gets it renamed
``name-1.ipynb``, ``name-2.ipynb`` (``Attachment.make_unique_filename``). Text and URL
submissions arrive as ``<lastfirst>_<user id>_text.html`` / ``_link.html``.

The zip carries no submission times, only the LATE mark.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

from course_lib.grading.lms.records import Entry, Parsed, ScoreRow, Skipped

UPLOAD = re.compile(
    r"^(?:(?P<name>.*?)_)??(?P<late>LATE_)?(?:(?P<anon>anon_[A-Za-z0-9]+)|(?P<uid>\d+))"
    r"_(?P<attachment>\d+)_(?P<filename>[^/]+)$"
)
ONLINE_ENTRY = re.compile(r"^[^/]*_(?:LATE_)?(?:anon_[A-Za-z0-9]+|\d+)_(?:text|link)\.html$")
RENAMED = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.[^.]+)$")

#: The student columns of Canvas's gradebook CSV (``lib/gradebook_exporter.rb``).
GRADEBOOK_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
#: First cell of the row Canvas reads the points possible from (exported with 4 spaces).
POINTS_POSSIBLE = "    Points Possible"


def parse(names: list[str], slug: str) -> Parsed:
    """Canvas zip member names to entries, keeping the newest of renamed re-uploads."""
    found, unmatched, ignored = [], [], []
    for member in names:
        match = UPLOAD.match(member)
        if match:
            found.append((int(match["attachment"]), match))
        elif ONLINE_ENTRY.match(member):
            ignored.append(Skipped(member, "a text or URL entry, not a file upload"))
        else:
            unmatched.append(Skipped(member, "name is not Canvas's "
                                     "<lastfirst>_[LATE_]<user id>_<file id>_<file name>"))
    by_student = defaultdict(list)
    for attachment, match in found:
        by_student[match["anon"] or match["uid"]].append((attachment, match))
    entries = []
    for key, uploads in by_student.items():
        kept, superseded = _newest_uploads(uploads, slug)
        entries += [_entry(key, match, path) for path, match in kept.items()]
        ignored += superseded
    return Parsed(entries, unmatched, ignored, [])


def _newest_uploads(uploads, slug: str):
    """One upload per file name: a re-upload renamed ``name-N.ext`` replaces ``name.ext``.

    The ``-N`` is stripped where it names the assignment's notebook or where the
    student has several versions of one name; an unrelated ``results-2.csv`` keeps
    its name. Newest means the highest attachment id (ids grow with every upload).
    """
    groups = defaultdict(list)
    for attachment, match in uploads:
        groups[_unrenamed(match["filename"])].append((attachment, match))
    kept, superseded = {}, []
    for base, versions in groups.items():
        versions.sort(key=lambda version: (version[0], _rename_number(version[1]["filename"])))
        attachment, newest = versions[-1]
        strip = len(versions) > 1 or base == f"{slug}.ipynb"
        kept[base if strip else newest["filename"]] = newest
        superseded += [Skipped(m.string, f"older upload, replaced by {newest.string}")
                       for _, m in versions[:-1]]
    return kept, superseded


def _unrenamed(filename: str) -> str:
    match = RENAMED.match(filename)
    return f"{match['stem']}{match['ext']}" if match else filename


def _rename_number(filename: str) -> int:
    match = RENAMED.match(filename)
    return int(match["n"]) if match else 0


def _entry(key: str, match: re.Match, path: str) -> Entry:
    return Entry(member=match.string, key=key, name=match["name"] or "", path=path,
                 late=bool(match["late"]))


def name_key(name: str) -> str:
    """How Canvas squashes a sortable name ("Lovelace, Ada") into a zip name (lovelaceada)."""
    return re.sub(r"\W", "", name.lower())


def write_gradebook(rows: list[ScoreRow], column: str, points: float, out: Path) -> None:
    """Write Canvas's gradebook CSV: student columns, the points row, one assignment.

    Args:
        rows: one per student; each needs its Canvas ID, SIS User ID or SIS Login ID.
        column: the assignment's column header, ``"<name> (<assignment id>)"`` as Canvas
            exports it, or just the name.
        points: points possible, written in the "Points Possible" row.
        out: the CSV file to write.
    """
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*GRADEBOOK_COLUMNS, column])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", number(points)])
        for row in rows:
            writer.writerow([_sortable_name(row), row.lms_user_id, row.sis_user_id,
                             row.sis_login_id, row.section, number(row.score)])


def _sortable_name(row: ScoreRow) -> str:
    name = f"{row.last_name}, {row.first_name}" if row.last_name else row.full_name
    # Canvas quotes names starting with "=" the same way, so no spreadsheet runs them.
    return f'="{name}"' if name.lstrip().startswith("=") else name


def number(value: float | None) -> str:
    """A score as Canvas and Moodle print it: at most two decimals, no trailing zeros."""
    if value is None:
        return ""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
