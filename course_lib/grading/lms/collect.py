"""Unpack an LMS download into nbgrader's ``submitted/<student>/<slug>/`` layout.

For each student this writes ``<slug>.ipynb``, the other files they handed in, and
``timestamp.txt`` when a submission time is known, in the format nbgrader's own
``submit`` writes and its ``CourseDirectory.get_existing_timestamp`` reads
(``2024-02-01 16:05:00.000000 UTC``; a time without a zone is read as UTC).

Times: Blackboard's file names carry each attempt's time. Canvas's and Moodle's zips
carry none; Canvas only marks late work ``LATE``. A LATE submission is stamped one
second after ``due`` (when given): the least lateness it can have, so a per-day
penalty charges at least one day. Real times can be passed as ``submitted_at``
(e.g. from Canvas's submissions API or Moodle's grading worksheet) and win over both.
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

from course_lib.grading.lms import blackboard, canvas, moodle
from course_lib.grading.lms.archive import members, open_archive, unsafe_name
from course_lib.grading.lms.records import Entry, LmsError, Parsed, Skipped, Student
from course_lib.grading.lms.students import (
    bad_id,
    from_archive,
    matches,
    read_roster,
    write_students_csv,
)

#: The LMS names :func:`collect` and :func:`~.export.export` accept.
LMS_NAMES = ("canvas", "moodle", "blackboard")


@dataclass
class CollectReport:
    """What :func:`collect` did; ``ok`` is False when anything needs a person's look.

    Args:
        lms: the LMS the archive came from.
        slug: the assignment.
        collected: files written per student id, relative to their assignment folder.
        timestamps: the text of each ``timestamp.txt`` written, per student id.
        late: students the LMS marked late (Canvas).
        students: the students found in the archive (also written to ``students.csv``).
        missing: roster students with no submission in the archive.
        no_notebook: students who handed in no ``<slug>.ipynb`` (nothing was written).
        unmatched: files that could not be given to a student or are not the notebook.
        ignored: files not needed: receipts, older versions, OS clutter, text entries.
        notes: things to know, e.g. how times without a zone were written.
        students_csv: where the students were written.
    """

    lms: str
    slug: str
    collected: dict[str, list[str]] = field(default_factory=dict)
    timestamps: dict[str, str] = field(default_factory=dict)
    late: list[str] = field(default_factory=list)
    students: list[Student] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    no_notebook: list[str] = field(default_factory=list)
    unmatched: list[Skipped] = field(default_factory=list)
    ignored: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    students_csv: Path | None = None

    @property
    def ok(self) -> bool:
        """Every file found its student and every student handed in the notebook."""
        return not self.unmatched and not self.no_notebook

    def summary(self) -> str:
        """A few lines for the terminal: counts, then every problem on its own line."""
        lines = [f"{self.lms}: {len(self.collected)} submissions of {self.slug} collected, "
                 f"{len(self.unmatched)} files unmatched, {len(self.ignored)} ignored"]
        lines += [f"  unmatched: {s.member}: {s.reason}" for s in self.unmatched]
        lines += [f"  no {self.slug}.ipynb from {student}" for student in self.no_notebook]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def collect(archive: Path, slug: str, submitted_dir: Path, lms: str,
            roster: Path | Sequence[Student] | None = None, *, due: datetime | None = None,
            timezone: str | None = None, submitted_at: Mapping[str, datetime] | None = None,
            students_csv: Path | None = None) -> CollectReport:
    """Unpack an LMS's submissions zip into ``submitted_dir/<student>/<slug>/``.

    Args:
        archive: the zip as downloaded from the LMS.
        slug: the assignment; its notebook must be ``<slug>.ipynb``.
        submitted_dir: nbgrader's submitted directory (``<course>/submitted``).
        lms: ``"canvas"``, ``"moodle"`` or ``"blackboard"``.
        roster: the course's students (CSV file or list); without one, ids come from
            the archive (Canvas user id, Moodle name, Blackboard username).
        due: the due date, used to stamp Canvas's LATE submissions (see module doc).
        timezone: IANA zone of Blackboard's file-name times when its receipts do not
            name a plain UTC offset.
        submitted_at: known submission times by student id; they win over the archive.
        students_csv: where to add the students; default ``submitted_dir/../students.csv``.

    Returns:
        The report; the students' previous files for ``slug`` are replaced.

    Raises:
        LmsError: ``lms`` is unknown, ``archive`` is not a zip or has unsafe member
            names, or the roster is unusable.
    """
    lms = _check_lms(lms)
    if not slug or bad_id(slug):
        raise LmsError(f"slug: expected an assignment folder name such as "
                       f"'01_why_nonlinearity', got {slug!r}")
    known = read_roster(roster) if roster is not None else None
    report = CollectReport(lms, slug)
    with open_archive(archive) as zf:
        names, clutter = members(zf)
        parsed = _parse(lms, names, slug, zf.read, timezone)
        report.ignored += clutter + parsed.ignored
        report.unmatched += parsed.unmatched
        report.notes += parsed.notes
        files = _by_student(lms, parsed.entries, known, report)
        for student, entries in files.items():
            _write(zf, Path(submitted_dir) / student.id / slug, entries, report, student.id)
    _stamp(Path(submitted_dir), files, due, submitted_at or {}, report)
    if known is not None:
        found = {s.id for s in report.students}
        report.missing = [s.id for s in known if s.id not in found]
    report.students_csv = students_csv or Path(submitted_dir).parent / "students.csv"
    write_students_csv(report.students_csv, report.students)
    return report


def _check_lms(lms: str) -> str:
    name = str(lms).strip().lower()
    if name not in LMS_NAMES:
        raise LmsError(f"lms: expected one of {', '.join(LMS_NAMES)}, got {lms!r}")
    return name


def _parse(lms: str, names: list[str], slug: str, read, tz: str | None) -> Parsed:
    if lms == "canvas":
        return canvas.parse(names, slug)
    if lms == "moodle":
        return moodle.parse(names)
    return blackboard.parse(names, read, tz)


def _by_student(lms: str, entries: list[Entry], known: list[Student] | None,
                report: CollectReport) -> dict[Student, list[Entry]]:
    """Give each entry its student, keeping only those with the assignment's notebook."""
    owners = _owners(lms, entries, known, report)
    files: dict[Student, list[Entry]] = defaultdict(list)
    for entry in entries:
        owner = owners.get(entry.key)
        if owner is None:
            continue
        if unsafe_name(entry.path):
            report.unmatched.append(Skipped(entry.member, f"unsafe file name {entry.path!r}",
                                            owner.id))
        elif entry.path.endswith(".ipynb") and entry.path != f"{report.slug}.ipynb":
            report.unmatched.append(Skipped(entry.member, f"a notebook other than "
                                            f"{report.slug}.ipynb", owner.id))
        else:
            files[owner].append(entry)
    report.students = [o for o in dict.fromkeys(owners.values()) if o is not None]
    for owner in report.students:
        if not any(e.path == f"{report.slug}.ipynb" for e in files.get(owner, [])):
            report.no_notebook.append(owner.id)
            report.ignored += [Skipped(e.member, f"not collected: no {report.slug}.ipynb", owner.id)
                               for e in files.pop(owner, [])]
    return dict(files)


def _owners(lms: str, entries: list[Entry], known: list[Student] | None,
            report: CollectReport) -> dict[str, Student | None]:
    """The student each archive key belongs to (None: its files are unmatched)."""
    if known is None:
        return dict(from_archive(lms, entries))
    find = matches(lms, known)
    first = {}
    for entry in entries:
        first.setdefault(entry.key, entry)
    candidates = {key: find(entry) for key, entry in first.items()}
    # Two archive students with one roster name (Moodle matches by name): neither is sure.
    claims = Counter(c[0].id for c in candidates.values() if len(c) == 1)
    owners: dict[str, Student | None] = {}
    for key, found in candidates.items():
        if len(found) == 1 and claims[found[0].id] == 1:
            owners[key] = found[0]
            continue
        owners[key] = None
        why = ("is not in the roster" if not found else
               f"matches roster student {found[0].id}, as another student of the archive does"
               if len(found) == 1 else
               "matches several roster students: " + ", ".join(s.id for s in found))
        report.unmatched += [Skipped(e.member, f"student {e.name or '?'} ({key}) {why}")
                             for e in entries if e.key == key]
    return owners


def _write(zf, folder: Path, entries: list[Entry], report: CollectReport, sid: str) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    for entry in entries:
        target = folder / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(entry.member) as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
    report.collected[sid] = sorted(entry.path for entry in entries)


def _stamp(submitted: Path, files: dict[Student, list[Entry]], due: datetime | None,
           known: Mapping[str, datetime], report: CollectReport) -> None:
    """Write each submission's ``timestamp.txt`` from the best time there is."""
    late = sorted(s.id for s, entries in files.items() if any(e.late for e in entries))
    report.late = late
    for student, entries in files.items():
        times = [e.submitted_at for e in entries if e.submitted_at is not None]
        when = known.get(student.id) or (max(times) if times else None)
        if when is None and student.id in late and due is not None:
            when = due + timedelta(seconds=1)
        if when is not None:
            text = timestamp_text(when)
            (submitted / student.id / report.slug / "timestamp.txt").write_text(text + "\n")
            report.timestamps[student.id] = text
    unstamped = [s for s in late if s not in report.timestamps]
    if unstamped:
        report.notes.append(f"{report.lms} marks {', '.join(unstamped)} late but gives no time: "
                            "no timestamp.txt, so nbgrader charges no penalty; pass due= or "
                            "submitted_at=")
    elif late and report.lms == "canvas" and any(s not in known for s in late):
        report.notes.append(f"canvas gives no times: LATE work ({', '.join(late)}) is stamped "
                            "one second after the due date, the least it can be late")


def timestamp_text(when: datetime) -> str:
    """``when`` as nbgrader writes ``timestamp.txt``; a zone-less time stays zone-less."""
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M:%S.%f")
    return when.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
