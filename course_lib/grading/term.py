"""The instructor's term around ``course grade``: collect from the LMS, the students'
names into the gradebook, scores back out to the LMS.

- :func:`collect_submissions`: an LMS export into ``submitted/`` (:mod:`.lms`), the due date
  from the gradebook stamping late work, and the students' names and e-mail addresses into
  nbgrader's student table, so ``grades.csv`` and exports carry them;
- :func:`score_rows` and :func:`export_scores`: one assignment's final scores (after late
  penalties) as Canvas's or Moodle's gradebook import file.
"""

from __future__ import annotations

from pathlib import Path

from course_lib.errors import CourseError
from course_lib.grading import deadlines, gradebook, lms
from course_lib.grading.course import load_config


def submitted_dir(root: Path) -> Path:
    """The course's ``submitted/`` folder (nbgrader's ``submitted_directory``)."""
    return root / str(load_config(root).CourseDirectory.get("submitted_directory", "submitted"))


def students_csv(root: Path) -> Path:
    return root / "students.csv"


def collect_submissions(root: Path, slug: str, archive: Path, lms_name: str, *,
                        roster: Path | None = None, timezone: str | None = None
                        ) -> lms.CollectReport:
    """Unpack ``archive`` into the course and record its students in the gradebook.

    Raises:
        CourseError: an unusable archive or roster (one line), or an unknown assignment.
    """
    if not Path(archive).is_file():
        raise CourseError(f"ARCHIVE: no such file {archive}")
    if slug not in gradebook.assignment_names(gradebook.db_url(root), gradebook.course_id(root)):
        raise CourseError(f"the gradebook has no assignment {slug!r}; run `course release "
                          f"{slug}` first")
    try:
        report = lms.collect(Path(archive), slug, submitted_dir(root), lms_name, roster,
                             due=deadlines.deadline_of(root, slug), timezone=timezone,
                             students_csv=students_csv(root))
    except lms.LmsError as error:
        raise CourseError(str(error)) from None
    record_students(root, report.students)
    return report


def record_students(root: Path, students: list[lms.Student]) -> None:
    """Names, e-mail and LMS id of ``students`` into nbgrader's student table."""
    with gradebook.opened(gradebook.db_url(root), gradebook.course_id(root)) as gb:
        for student in students:
            fields = {"first_name": student.first_name or None,
                      "last_name": student.last_name or None,
                      "email": student.email or None,
                      "lms_user_id": student.lms_user_id or None}
            gb.update_or_create_student(student.id, **{k: v for k, v in fields.items() if v})


def score_rows(root: Path, slug: str) -> list[lms.ScoreRow]:
    """Every graded submission of ``slug`` as a row for the LMS, names and ids from
    ``students.csv`` (written by ``course collect``) or else the gradebook.

    Raises:
        CourseError: nothing of ``slug`` is graded yet.
    """
    known = {s.id: s for s in (lms.read_roster(students_csv(root))
                               if students_csv(root).is_file() else [])}
    rows = []
    with gradebook.opened(gradebook.db_url(root), gradebook.course_id(root)) as gb:
        if slug not in {a.name for a in gb.assignments}:
            raise CourseError(f"the gradebook has no assignment {slug!r}")
        for submission in gb.assignment_submissions(slug):
            person = submission.student
            student = known.get(person.id) or lms.Student(
                person.id, person.first_name or "", person.last_name or "",
                email=person.email or "", lms_user_id=person.lms_user_id or "")
            rows.append(lms.ScoreRow.for_student(student, gradebook.final_score(submission),
                                                 float(submission.max_score)))
    if not rows:
        raise CourseError(f"no graded submission of {slug}; run `course grade {slug}` first")
    return sorted(rows, key=lambda row: row.student_id)


def export_scores(root: Path, slug: str, lms_name: str, out: Path, *,
                  column: str | None = None, points: float | None = None) -> lms.ExportReport:
    """Write ``slug``'s scores as ``lms_name``'s import file ``out``.

    Raises:
        CourseError: unknown LMS, nothing graded, or a student without the id the LMS
            matches on (one line each).
    """
    try:
        return lms.export(score_rows(root, slug), lms_name, column or slug, Path(out),
                          points_possible=points)
    except lms.LmsError as error:
        raise CourseError(str(error)) from None
