"""``course grade`` end to end on the tiny fixture course: exact scores, robustness,
agreement with plain ``nbgrader autograde``, CSV and feedback."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grading_fixture as fixture
import pytest

from course_lib.cli import main
from course_lib.grading import gradebook
from course_lib.grading.course import CourseError
from course_lib.grading.grade import grade
from course_lib.grading.pool import worker_env
from course_lib.grading.samples import exercises, materialise, samples_for


def _corpus(root: Path, students: set[str] | None = None):
    samples = samples_for(root, fixture.SLUG, fixture.SAMPLES)
    if students is not None:
        samples = [s for s in samples if s.student in students]
    materialise(root, fixture.SLUG, samples, root)
    return samples


def _expected(root: Path, samples) -> dict[str, dict[str, float]]:
    import nbformat

    exs = exercises(nbformat.read(root / "solutions" / fixture.SLUG / f"{fixture.SLUG}.ipynb",
                                  as_version=4))
    return {s.student: s.expected_scores(exs) for s in samples}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole fixture corpus graded once with two jobs."""
    root = fixture.make_course(tmp_path_factory.mktemp("graded"), timeout=20)
    samples = _corpus(root)
    report = grade(root, jobs=2, timeout=120, progress=False)
    return root, samples, report


@pytest.mark.slow
def test_every_sample_gets_exactly_its_recorded_score(graded):
    root, samples, _ = graded
    assert gradebook.scores(root, fixture.SLUG) == _expected(root, samples)


@pytest.mark.slow
def test_broken_submissions_have_one_line_errors_and_the_batch_goes_on(graded):
    _, _, report = graded
    by_student = {o.student: o for o in report.outcomes}
    assert "not a notebook (invalid JSON at line" in by_student["broken_json"].error
    assert "nbformat 3 is not supported" in by_student["old_nbformat"].error
    assert "00_tiny.ipynb: missing (the folder has: no notebooks)" in \
        by_student["missing_file"].error
    assert "kernel died" in by_student["crash"].error
    for outcome in report.outcomes:
        assert "\n" not in outcome.error
    assert by_student["correct"].error == "" and by_student["correct"].score == 3


@pytest.mark.slow
def test_grades_csv_is_nbgraders_export(graded):
    root, samples, report = graded
    with open(root / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {s.student for s in samples}
    assert {float(rows[s.student]["score"]) for s in samples if s.student == "correct"} == {3.0}
    for sample in samples:
        assert float(rows[sample.student]["score"]) == sample.score
        assert rows[sample.student]["assignment"] == fixture.SLUG
    assert report.csv == root / "grades.csv"


@pytest.mark.slow
def test_feedback_shows_no_hidden_test_source(graded):
    root, _, _ = graded
    pages = sorted((root / "feedback").glob(f"*/{fixture.SLUG}/{fixture.SLUG}.html"))
    assert len(pages) >= 10
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "load_fresh" not in html and "HIDDEN TESTS" not in html
        assert "seed=11" not in html and "thorough=True" not in html
    failing = (root / "feedback/bug_square_abs" / fixture.SLUG / f"{fixture.SLUG}.html")
    html = failing.read_text(encoding="utf-8")
    assert "square failed on case" in html  # the check's message is shown
    assert "check_square" in html  # and the visible test


@pytest.mark.slow
def test_suspicious_submissions_are_flagged_in_the_gradebook(graded):
    from nbgrader.api import Gradebook

    root, _, report = graded
    by_student = {o.student: o for o in report.outcomes}
    assert "reassigns a check" in by_student["patched_check"].flags
    assert "calls os._exit" in by_student["crash"].flags
    assert by_student["correct"].flags == []
    with Gradebook(gradebook.db_url(root)) as gb:
        flagged = {nb.student.id for nb in gb.notebook_submissions(fixture.SLUG, fixture.SLUG)
                   if nb.flagged}
    assert {"patched_check", "patched_numpy", "crash"} <= flagged
    assert "correct" not in flagged


@pytest.mark.slow
def test_grades_equal_plain_sequential_nbgrader_autograde_but_for_cheats(tmp_path):
    """Honest and broken submissions get nbgrader's own grades; a patched check fools
    plain nbgrader, whose hidden tests run in the student's kernel, but not us."""
    students = {"correct", "unanswered", "partial", "infinite_loop", "deleted_test",
                "edited_test", "patched_check", "fake_eq", "bug_square_abs", "crash"}
    ours = fixture.make_course(tmp_path / "ours", timeout=15)
    _corpus(ours, students)
    plain = tmp_path / "plain"
    shutil.copytree(ours, plain)
    grade(ours, jobs=2, timeout=120, progress=False)
    env = worker_env()
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", fixture.SLUG],
        cwd=plain, env=env, capture_output=True, text=True, timeout=600,
    )
    assert "crash" in done.stderr  # nbgrader reports the dead kernel and goes on
    theirs = gradebook.scores(plain, fixture.SLUG)
    assert set(theirs) == students
    mine = gradebook.scores(ours, fixture.SLUG)
    assert theirs.pop("patched_check")["test_double"] == 1.0  # fooled
    assert mine.pop("patched_check")["test_double"] == 0.0
    assert mine == theirs


@pytest.mark.slow
def test_a_submission_past_the_wall_clock_limit_is_killed(tmp_path):
    root = fixture.make_course(tmp_path, timeout=600)  # the cell limit would wait too long
    spec = {"samples": [{
        "student": "sleeper", "description": "sleeps far beyond the submission's time limit",
        "fails": ["test_double", "test_square"],
        "edits": [{"prepend": "double", "source": "import time\ntime.sleep(3600)\n"}],
    }]}
    samples = [s for s in samples_for(root, fixture.SLUG, spec)
               if s.student in ("sleeper", "correct")]
    materialise(root, fixture.SLUG, samples, root)
    scratch = tmp_path / "scratch"
    report = grade(root, jobs=1, timeout=30, progress=False, scratch_dir=scratch)
    by_student = {o.student: o for o in report.outcomes}
    assert "time limit of 30 s" in by_student["sleeper"].error
    assert by_student["sleeper"].score == 0
    assert by_student["correct"].score == 3  # graded before or after, on a fresh worker
    assert _processes_in(scratch) == []  # the sleeping kernel was killed too


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is (or was, before deletion) inside ``folder``."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            target = os.readlink(cwd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(int(cwd.parent.name))
    return found


def test_kernels_see_no_gpu():
    env = worker_env()
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert "NBGRADER_EXECUTION" not in env


def test_no_submitted_dir_is_a_one_line_error(tmp_path, capsys):
    root = fixture.make_course(tmp_path)
    assert main(["grade", "--course-dir", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("course grade: error: no submissions: ") and "zip_collect" in err
    assert "\n" not in err


def test_unknown_slug_and_missing_course_dir(tmp_path, capsys):
    root = fixture.make_course(tmp_path, release=False)
    assert main(["grade", "--course-dir", str(root), "nope"]) == 2
    assert "unknown assignment 'nope'" in capsys.readouterr().err
    assert main(["grade", "--course-dir", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bad_jobs_value_is_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["grade", "--jobs", "0"])
    assert "argument --jobs/-j: expected a number >= 1, got 0" in capsys.readouterr().err


def test_grade_rejects_bad_arguments_in_python(tmp_path):
    root = fixture.make_course(tmp_path, release=False)
    with pytest.raises(CourseError, match="--jobs: expected an int >= 1, got 0"):
        grade(root, jobs=0)
    with pytest.raises(CourseError, match="--timeout: expected seconds > 0"):
        grade(root, timeout=0)


def test_cli_grade_prints_the_table(tmp_path, capsys):
    root = fixture.make_course(tmp_path, timeout=15)
    _corpus(root, {"correct", "broken_json"})
    env_before = dict(os.environ)
    assert main(["grade", "--course-dir", str(root), "--jobs", "1", "--no-progress",
                 "--cold-kernels"]) == 0
    out = capsys.readouterr().out
    assert "correct      00_tiny     3/3" in out
    assert "broken_json  00_tiny     0/3" in out and "invalid JSON" in out
    assert "Totals per student" in out and f"wrote {root / 'grades.csv'}" in out
    assert dict(os.environ) == env_before
