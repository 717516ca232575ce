"""LMS downloads into nbgrader's layout, and gradebook CSVs for the LMS: archives are
built in each LMS's real file-name format (see course_lib.grading.lms for the sources)."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nbgrader.coursedir import CourseDirectory

from course_lib.grading.lms import (
    LmsError,
    ScoreRow,
    Student,
    collect,
    export,
    read_roster,
    timestamp_text,
)
from course_lib.grading.lms.canvas import name_key

SLUG = "01_why_nonlinearity"
NB = f"{SLUG}.ipynb"
DUE = datetime(2024, 2, 1, 17, 0, tzinfo=timezone.utc)

# (sis login, last, first, canvas id, email, student number): eight students, unicode names.
PEOPLE = [
    ("ada", "Lovelace", "Ada", "1001", "ada@uni.example", "S1"),
    ("alan", "Turing", "Alan", "1002", "alan@uni.example", "S2"),
    ("grace", "Hopper", "Grace", "1003", "grace@uni.example", "S3"),
    ("zoe", "Çelik", "Zoë", "1004", "zoe@uni.example", "S4"),
    ("jose", "Núñez", "José", "1005", "jose@uni.example", "S5"),
    ("lukasz", "Żółw", "Łukasz", "1006", "lukasz@uni.example", "S6"),
    ("soren", "Kierkegaard", "Søren", "1007", "soren@uni.example", "S7"),
    ("mei", "李", "美", "1008", "mei@uni.example", "S8"),
]
ROSTER = [Student(id=login, first_name=first, last_name=last, full_name=f"{first} {last}",
                  email=email, lms_user_id=cid, sis_user_id=number, sis_login_id=login)
          for login, last, first, cid, email, number in PEOPLE]


def notebook(marker: str) -> bytes:
    """A minimal notebook whose only cell says which upload it is."""
    return json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                  "execution_count": None, "source": f"# {marker}"}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def marker(path: Path) -> str:
    return json.loads(path.read_text())["cells"][0]["source"]


def read_dicts(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def nbgrader_time(folder: Path) -> datetime | None:
    """The submission time exactly as nbgrader's autograde reads timestamp.txt."""
    return CourseDirectory().get_existing_timestamp(str(folder))


# -- Canvas -------------------------------------------------------------------------------


def canvas_name(login: str, filename: str, attachment: int, late: bool = False) -> str:
    _, last, first, cid, *_ = next(p for p in PEOPLE if p[0] == login)
    return f"{name_key(f'{last}, {first}')}_{'LATE_' if late else ''}{cid}_{attachment}_{filename}"


@pytest.fixture
def canvas_zip(tmp_path):
    files = {
        canvas_name("ada", NB, 501): notebook("ada"),
        canvas_name("alan", NB, 502, late=True): notebook("alan late"),
        # Grace uploaded three times; Canvas renamed the later uploads -1 and -2.
        canvas_name("grace", NB, 503): notebook("grace v0"),
        canvas_name("grace", f"{SLUG}-1.ipynb", 540): notebook("grace v1"),
        canvas_name("grace", f"{SLUG}-2.ipynb", 577): notebook("grace v2"),
        canvas_name("zoe", NB, 504): notebook("zoë"),
        canvas_name("zoe", "helpers.py", 505): b"def helper():\n    return 1\n",
        canvas_name("jose", "02_sigmoid_saturation.ipynb", 506): notebook("wrong assignment"),
        canvas_name("lukasz", NB, 507): notebook("łukasz"),
        canvas_name("soren", NB, 508): notebook("søren"),
        canvas_name("mei", NB, 509): notebook("美"),
        "smithbob_2001_510_" + NB: notebook("not enrolled"),
        "grading notes.txt": b"not from Canvas",
        "__MACOSX/._x": b"",
    }
    return make_zip(tmp_path / "submissions.zip", files)


def canvas_roster(path: Path) -> Path:
    """Canvas's own gradebook export, used as the roster as it comes."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 1 (77)"])
        writer.writerow(["    Points Possible", "", "", "", "", "10"])
        for login, last, first, cid, _, number in PEOPLE:
            writer.writerow([f"{last}, {first}", cid, number, login, "A", ""])
    return path


def test_canvas_collect_lays_out_nbgrader_submissions(tmp_path, canvas_zip):
    submitted = tmp_path / "course" / "submitted"
    report = collect(canvas_zip, SLUG, submitted, "canvas", canvas_roster(tmp_path / "r.csv"),
                     due=DUE)
    expected = {"ada", "alan", "grace", "zoe", "lukasz", "soren", "mei"}
    assert set(report.collected) == expected
    for sid in expected:
        assert (submitted / sid / SLUG / NB).is_file()
    assert report.collected["zoe"] == [NB, "helpers.py"]
    assert (submitted / "zoe" / SLUG / "helpers.py").read_bytes().startswith(b"def helper")
    assert marker(submitted / "zoe" / SLUG / NB) == "# zoë"
    assert marker(submitted / "mei" / SLUG / NB) == "# 美"


def test_canvas_takes_the_newest_renamed_resubmission(tmp_path, canvas_zip):
    submitted = tmp_path / "submitted"
    report = collect(canvas_zip, SLUG, submitted, "canvas", ROSTER)
    assert marker(submitted / "grace" / SLUG / NB) == "# grace v2"
    assert sorted(p.name for p in (submitted / "grace" / SLUG).iterdir()) == [NB]
    older = [s.member for s in report.ignored if s.reason.startswith("older upload")]
    assert len(older) == 2 and all("hopper" in m for m in older)


def test_canvas_late_mark_becomes_a_timestamp_one_second_after_due(tmp_path, canvas_zip):
    submitted = tmp_path / "submitted"
    report = collect(canvas_zip, SLUG, submitted, "canvas", ROSTER, due=DUE)
    assert report.late == ["alan"]
    assert nbgrader_time(submitted / "alan" / SLUG) == datetime(2024, 2, 1, 17, 0, 1)
    assert nbgrader_time(submitted / "ada" / SLUG) is None  # on time: Canvas gives no time
    assert set(report.timestamps) == {"alan"}
    assert any("one second after the due date" in note for note in report.notes)


def test_canvas_late_without_due_date_is_reported_not_stamped(tmp_path, canvas_zip):
    submitted = tmp_path / "submitted"
    report = collect(canvas_zip, SLUG, submitted, "canvas", ROSTER)
    assert not (submitted / "alan" / SLUG / "timestamp.txt").exists()
    assert any("alan late but gives no time" in note for note in report.notes)


def test_known_submission_times_win_over_the_late_mark(tmp_path, canvas_zip):
    submitted = tmp_path / "submitted"
    real = DUE + timedelta(days=2, hours=3)
    collect(canvas_zip, SLUG, submitted, "canvas", ROSTER, due=DUE, submitted_at={"alan": real})
    assert nbgrader_time(submitted / "alan" / SLUG) == real.replace(tzinfo=None)


def test_canvas_unmatched_files_are_listed(tmp_path, canvas_zip):
    report = collect(canvas_zip, SLUG, tmp_path / "submitted", "canvas", ROSTER)
    unmatched = {s.member: s.reason for s in report.unmatched}
    assert unmatched["grading notes.txt"].startswith("name is not Canvas's")
    assert "is not in the roster" in unmatched[f"smithbob_2001_510_{NB}"]
    wrong = canvas_name("jose", "02_sigmoid_saturation.ipynb", 506)
    assert unmatched[wrong] == f"a notebook other than {NB}"
    assert report.no_notebook == ["jose"]
    assert not (tmp_path / "submitted" / "jose").exists()
    assert "__MACOSX/._x" in {s.member for s in report.ignored}
    assert not report.ok
    assert f"unmatched: {wrong}" in report.summary()


def test_canvas_without_roster_uses_canvas_user_ids(tmp_path, canvas_zip):
    submitted = tmp_path / "submitted"
    report = collect(canvas_zip, SLUG, submitted, "canvas")
    assert "2001" in report.collected and "1001" in report.collected  # smithbob is accepted
    rows = read_dicts(tmp_path / "students.csv")
    assert {r["id"]: r["full_name"] for r in rows}["1004"] == "çelikzoë"
    assert {r["id"]: r["lms_user_id"] for r in rows}["1001"] == "1001"


def test_students_csv_keeps_names_and_ids_for_grades_later(tmp_path, canvas_zip):
    collect(canvas_zip, SLUG, tmp_path / "submitted", "canvas", canvas_roster(tmp_path / "r.csv"))
    with open(tmp_path / "students.csv", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = {row["id"]: row for row in reader}
    assert reader.fieldnames == ["id", "first_name", "last_name", "full_name", "email",
                                 "lms_user_id", "sis_user_id", "sis_login_id", "section"]
    assert rows["zoe"]["full_name"] == "Çelik, Zoë"
    assert rows["zoe"]["lms_user_id"] == "1004" and rows["zoe"]["sis_user_id"] == "S4"
    assert "jose" in rows  # enrolled, matched, but handed in the wrong notebook


def test_students_csv_is_merged_across_assignments(tmp_path, canvas_zip):
    out = tmp_path / "students.csv"
    collect(canvas_zip, SLUG, tmp_path / "submitted", "canvas", ROSTER[:3])
    collect(canvas_zip, SLUG, tmp_path / "submitted", "canvas", ROSTER[3:])
    ids = [row["id"] for row in read_dicts(out)]
    assert ids == sorted(s.id for s in ROSTER)  # both runs' students, one row each


# -- Moodle -------------------------------------------------------------------------------


def moodle_name(first: str, last: str, pid: int, path: str, folders: bool = True) -> str:
    sep = "/" if folders else ""
    return f"{first} {last}_{pid}_assignsubmission_file_{sep}{path}"


@pytest.fixture
def moodle_zip(tmp_path):
    files = {}
    for number, (_, last, first, *_) in enumerate(PEOPLE):
        if first == "José":
            files[moodle_name(first, last, 9100 + number, "homework.ipynb")] = notebook("wrong")
            continue
        files[moodle_name(first, last, 9100 + number, NB, folders=first != "Ada")] = \
            notebook(first)
    files[moodle_name("Zoë", "Çelik", 9103, "data/points.csv")] = b"x,y\n1,2\n"
    files["Alan Turing_9101_assignsubmission_onlinetext_/onlinetext.html"] = b"<p>hi</p>"
    files["Mallory Intruder_9200_assignsubmission_file_/" + NB] = notebook("mallory")
    files["feedback.xlsx"] = b"PK"
    return make_zip(tmp_path / "moodle.zip", files)


def moodle_gradebook(path: Path) -> Path:
    """Moodle's gradebook export ("Export > Plain text file"), used as the roster."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First name", "Last name", "ID number", "Institution", "Department",
                         "Email address", "Assignment: Lab 1 (Real)"])
        for _, last, first, _, email, number in PEOPLE:
            writer.writerow([first, last, number, "Uni", "CS", email, "-"])
    return path


def test_moodle_collect_matches_roster_by_name(tmp_path, moodle_zip):
    submitted = tmp_path / "submitted"
    roster = read_roster(moodle_gradebook(tmp_path / "grades.csv"))
    assert [s.id for s in roster][:2] == ["ada", "alan"]  # from the email address
    report = collect(moodle_zip, SLUG, submitted, "moodle", roster)
    assert set(report.collected) == {"ada", "alan", "grace", "zoe", "lukasz", "soren", "mei"}
    assert marker(submitted / "ada" / SLUG / NB) == "# Ada"  # flat (pre-3.1) layout
    assert (submitted / "zoe" / SLUG / "data" / "points.csv").read_text() == "x,y\n1,2\n"
    assert report.no_notebook == ["jose"]
    reasons = {s.member: s.reason for s in report.unmatched}
    assert "is not in the roster" in reasons[f"Mallory Intruder_9200_assignsubmission_file_/{NB}"]
    assert reasons["feedback.xlsx"].startswith("name is not Moodle's")
    assert any("onlinetext" in s.reason for s in report.ignored)
    assert report.timestamps == {}  # Moodle's zip has no times


def test_moodle_without_roster_names_students_after_their_names(tmp_path, moodle_zip):
    report = collect(moodle_zip, SLUG, tmp_path / "submitted", "moodle")
    assert {"ada_lovelace", "zoë_çelik", "美_李", "mallory_intruder"} <= set(report.collected)


def test_moodle_same_name_twice_keeps_both_apart(tmp_path):
    archive = make_zip(tmp_path / "m.zip", {
        moodle_name("Sam", "Lee", 11, NB): notebook("one"),
        moodle_name("Sam", "Lee", 12, NB): notebook("two"),
    })
    report = collect(archive, SLUG, tmp_path / "submitted", "moodle")
    assert set(report.collected) == {"sam_lee_11", "sam_lee_12"}


def test_moodle_submission_times_from_the_caller(tmp_path, moodle_zip):
    when = datetime(2024, 2, 3, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    submitted = tmp_path / "submitted"
    collect(moodle_zip, SLUG, submitted, "moodle", ROSTER, submitted_at={"grace": when})
    assert nbgrader_time(submitted / "grace" / SLUG) == datetime(2024, 2, 3, 8, 30)


# -- Blackboard ---------------------------------------------------------------------------


def receipt(name: str, user: str, when: str, files: list[tuple[str, str]]) -> bytes:
    listing = "".join(f"\tOriginal filename: {o}\n\tFilename: {z}\n" for o, z in files)
    return (f"Name: {name} ({user})\nAssignment: Lab 1\nDate Submitted: {when}\n"
            "Current Grade: Needs Grading\n\nSubmission Field:\nThere is no student submission "
            "text data for this assignment.\n\nComments:\nThere are no student comments for "
            f"this assignment.\n\nFiles:\n{listing}\n").encode()


def bb_attempt(user: str, name: str, stamp: str, files: dict[str, bytes],
               zone: str = "GMT") -> dict[str, bytes]:
    head = f"Lab 1_{user}_attempt_{stamp}"
    members = {f"{head}_{original}": data for original, data in files.items()}
    listing = [(original, f"{head}_{original}") for original in files]
    members[f"{head}.txt"] = receipt(name, user, f"Thursday, 1 February 2024 {zone}", listing)
    return members


@pytest.fixture
def blackboard_zip(tmp_path):
    files = {}
    for login, last, first, *_ in PEOPLE:
        stamp = "2024-02-02-09-15-00" if login == "alan" else "2024-02-01-16-05-00"
        upload = "homework.ipynb" if login == "jose" else NB
        files |= bb_attempt(login, f"{first} {last}", stamp, {upload: notebook(login)})
    files |= bb_attempt("grace", "Grace Hopper", "2024-01-30-10-00-00", {NB: notebook("old")})
    files |= bb_attempt("zoe", "Zoë Çelik", "2024-02-01-16-05-00",
                        {NB: notebook("zoe"), "figure.png": b"\x89PNG"})
    files["Lab 1_eve.txt"] = b"stray"
    return make_zip(tmp_path / "gradebook_Lab1.zip", files)


def test_blackboard_collect_uses_attempt_times_and_newest_attempt(tmp_path, blackboard_zip):
    submitted = tmp_path / "submitted"
    report = collect(blackboard_zip, SLUG, submitted, "blackboard", ROSTER)
    assert set(report.collected) == {"ada", "alan", "grace", "zoe", "lukasz", "soren", "mei"}
    assert marker(submitted / "grace" / SLUG / NB) == "# grace"
    assert any(s.reason == "another attempt of grace; the newest with files is "
               "2024-02-01-16-05-00" for s in report.ignored)
    assert nbgrader_time(submitted / "alan" / SLUG) == datetime(2024, 2, 2, 9, 15)
    assert report.timestamps["ada"] == "2024-02-01 16:05:00.000000 UTC"
    assert report.collected["zoe"] == [NB, "figure.png"]
    assert report.no_notebook == ["jose"]
    assert [s.member for s in report.unmatched if "not Blackboard's" in s.reason] == \
        ["Lab 1_eve.txt"]


def test_blackboard_local_times_take_the_given_zone(tmp_path):
    archive = make_zip(tmp_path / "bb.zip", bb_attempt(
        "ada", "Ada Lovelace", "2024-02-01-16-05-00", {NB: notebook("ada")}, zone="EST"))
    submitted = tmp_path / "submitted"
    report = collect(archive, SLUG, submitted, "blackboard", timezone="America/New_York")
    assert nbgrader_time(submitted / "ada" / SLUG) == datetime(2024, 2, 1, 21, 5)
    assert report.notes == []
    report = collect(archive, SLUG, tmp_path / "s2", "blackboard")
    assert report.timestamps["ada"] == "2024-02-01 16:05:00.000000"  # zone-less, noted
    assert any("EST" in note for note in report.notes)


# -- refusals ------------------------------------------------------------------------------


def test_not_a_zip_is_refused_in_one_line(tmp_path):
    fake = tmp_path / "submissions.zip"
    fake.write_text("<html>login expired</html>")
    with pytest.raises(LmsError, match=r"^archive: expected a zip file, got .* not a zip") as err:
        collect(fake, SLUG, tmp_path / "submitted", "canvas")
    assert "\n" not in str(err.value)


def test_zip_with_path_traversal_is_refused_before_writing(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {
        canvas_name("ada", NB, 1): notebook("ada"),
        f"../../{canvas_name('alan', NB, 2)}": notebook("escape"),
    })
    with pytest.raises(LmsError, match=r"climbs out of the archive with '\.\.'"):
        collect(archive, SLUG, tmp_path / "submitted", "canvas")
    assert not (tmp_path / "submitted").exists()


def test_unknown_lms_is_refused(tmp_path, canvas_zip):
    with pytest.raises(LmsError, match=r"^lms: expected one of canvas, moodle, blackboard, "
                                       r"got 'd2l'$"):
        collect(canvas_zip, SLUG, tmp_path / "submitted", "d2l")


def test_roster_with_a_repeated_id_is_refused(tmp_path, canvas_zip):
    with pytest.raises(LmsError, match=r"roster: id 'ada' appears twice"):
        collect(canvas_zip, SLUG, tmp_path / "s", "canvas", [ROSTER[0], ROSTER[0]])


def test_timestamp_text_is_what_nbgrader_submit_writes():
    assert timestamp_text(DUE) == "2024-02-01 17:00:00.000000 UTC"
    assert timestamp_text(datetime(2024, 2, 1, 17)) == "2024-02-01 17:00:00.000000"


# -- export --------------------------------------------------------------------------------


def score_rows(max_score: float = 10.0) -> list[ScoreRow]:
    scores = [10, 7.5, None, 8.25, 0, 9, 6.333, 10]
    return [ScoreRow.for_student(s, score, max_score) for s, score in zip(ROSTER, scores)]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_canvas_export_is_canvas_gradebook_csv(tmp_path):
    report = export(score_rows(), "canvas", "Lab 1 (77)", tmp_path / "canvas.csv")
    rows = read_csv(report.path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 1 (77)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "10"]
    assert rows[2] == ["Lovelace, Ada", "1001", "S1", "ada", "", "10"]
    assert [r[5] for r in rows[2:]] == ["10", "7.5", "", "8.25", "0", "9", "6.33", "10"]
    assert rows[5][0] == "Çelik, Zoë" and report.rows == 8
    assert "Grades > Import" in report.instructions


def test_canvas_export_scales_to_the_lms_points(tmp_path):
    rows = read_csv(export(score_rows(40), "canvas", "Lab 1", tmp_path / "c.csv",
                           points_possible=10).path)
    assert rows[1][5] == "10" and rows[3][5] == "1.88"


def test_canvas_export_needs_an_id_canvas_can_match(tmp_path):
    bare = [ScoreRow("x", 1.0, 2.0, full_name="X Y")]
    with pytest.raises(LmsError, match=r"Canvas needs each student's Canvas ID, SIS User ID or "
                                       r"SIS Login ID; none for x"):
        export(bare, "canvas", "Lab 1", tmp_path / "c.csv")


def test_moodle_export_is_an_import_csv_identified_by_email(tmp_path):
    report = export(score_rows(), "moodle", "Lab 1", tmp_path / "moodle.csv")
    rows = read_csv(report.path)
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", "Lab 1"]
    assert rows[1] == ["Ada", "Lovelace", "S1", "ada@uni.example", "10"]
    assert rows[8] == ["美", "李", "S8", "mei@uni.example", "10"]
    assert "map from 'Email address' to 'Email address'" in report.instructions


def test_moodle_export_falls_back_to_id_numbers(tmp_path):
    rows = [ScoreRow("a", 3, 4, sis_user_id="S1"), ScoreRow("b", 4, 4, sis_user_id="S2")]
    report = export(rows, "moodle", "Lab 1", tmp_path / "m.csv")
    assert "map from 'ID number' to 'ID number'" in report.instructions
    with pytest.raises(LmsError, match=r"one column, email address or ID number; neither for c$"):
        export([*rows, ScoreRow("c", 1, 4)], "moodle", "Lab 1", tmp_path / "m.csv")


@pytest.mark.parametrize(("rows", "lms", "message"), [
    ([], "canvas", r"scores: expected at least one ScoreRow, got none"),
    ([ScoreRow("a", 1, 2, lms_user_id="1"), ScoreRow("b", 1, 3, lms_user_id="2")], "canvas",
     r"max_score differs between students \(\[2, 3\]\); pass points_possible="),
    ([ScoreRow("a", -1, 2, lms_user_id="1")], "canvas", r"score of 'a' must be a number >= 0"),
    ([ScoreRow("a", 1, 2, email="a@x")], "blackboard",
     r"lms: expected one of canvas, moodle for grade export, got 'blackboard'"),
])
def test_export_refuses_unusable_input(tmp_path, rows, lms, message):
    with pytest.raises(LmsError, match=message):
        export(rows, lms, "Lab 1", tmp_path / "out.csv")


def test_collect_then_export_round_trip(tmp_path, canvas_zip):
    report = collect(canvas_zip, SLUG, tmp_path / "submitted", "canvas",
                     canvas_roster(tmp_path / "r.csv"))
    students = read_roster(report.students_csv)
    rows = [ScoreRow.for_student(s, 5.0, 10.0) for s in students]
    table = read_csv(export(rows, "canvas", "Lab 1 (77)", tmp_path / "up.csv").path)
    assert {r[3] for r in table[2:]} == {s.id for s in students}
    assert {r[1] for r in table[2:]} == {s.lms_user_id for s in students}


def test_blackboard_usernames_with_underscores_come_from_the_receipt(tmp_path):
    archive = make_zip(tmp_path / "bb.zip", bb_attempt(
        "ada_l", "Ada Lovelace", "2024-02-01-16-05-00", {NB: notebook("ada")}))
    report = collect(archive, SLUG, tmp_path / "submitted", "blackboard")
    assert list(report.collected) == ["ada_l"]
    assert report.students[0].full_name == "Ada Lovelace"


def test_moodle_two_students_with_one_roster_name_are_both_unmatched(tmp_path):
    archive = make_zip(tmp_path / "m.zip", {
        moodle_name("Ada", "Lovelace", 11, NB): notebook("one"),
        moodle_name("Ada", "Lovelace", 12, NB): notebook("two"),
    })
    report = collect(archive, SLUG, tmp_path / "submitted", "moodle", ROSTER)
    assert report.collected == {}
    assert len(report.unmatched) == 2
    assert all("matches roster student ada, as another student" in s.reason
               for s in report.unmatched)


@pytest.mark.parametrize("slug", ["", "../01", "a/b"])
def test_a_slug_that_is_no_folder_name_is_refused(tmp_path, canvas_zip, slug):
    with pytest.raises(LmsError, match=r"^slug: expected an assignment folder name"):
        collect(canvas_zip, slug, tmp_path / "submitted", "canvas")


def test_students_csv_columns_are_the_ones_nbgrader_db_student_import_reads():
    from nbgrader.api import Student as NbgraderStudent

    from course_lib.grading.lms.students import FIELDS

    known = set(NbgraderStudent.__table__.c.keys())
    assert {"id", "first_name", "last_name", "email", "lms_user_id"} <= known & set(FIELDS)


def test_canvas_anonymous_grading_names(tmp_path):
    archive = make_zip(tmp_path / "anon.zip", {
        f"anon_x7k2p_600_{NB}": notebook("one"),
        f"LATE_anon_q9z1r_601_{NB}": notebook("two"),
    })
    report = collect(archive, SLUG, tmp_path / "submitted", "canvas", due=DUE)
    assert set(report.collected) == {"anon_x7k2p", "anon_q9z1r"}
    assert report.late == ["anon_q9z1r"]
    assert all(s.lms_user_id == "" for s in report.students)
