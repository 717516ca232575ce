"""Grading at scale on the tiny fixture course: resume after SIGKILL, shards and merge.

The end-to-end tests run ``course grade`` as separate processes, as an instructor's
terminal, a Slurm array or a Kubernetes indexed Job would.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grading_fixture as fixture
import pytest

from course_lib.cli import main
from course_lib.grading import gradebook, records
from course_lib.grading.course import CourseError
from course_lib.grading.grade import (
    _already_graded,
    _finish,
    course_destination,
    find_submissions,
    grade,
)
from course_lib.grading.release import release
from course_lib.grading.samples import Sample, exercises, materialise, samples_for
from course_lib.grading.scale import shards
from course_lib.grading.worker import Result

#: Students of the end-to-end tests: right, wrong and cheating work, all quick to grade.
STUDENTS = ("correct", "unanswered", "partial", "bug_square_abs", "torch_double",
            "edited_test", "hardcoded_double", "fake_eq")
#: Broken files: graded without a worker, so tests of the bookkeeping run in a second.
BROKEN = ("broken_json", "old_nbformat", "missing_file")


def _course(root: Path, students=STUDENTS) -> tuple[Path, dict[str, dict[str, float]]]:
    """The fixture course with the chosen samples submitted, and their expected scores."""
    import nbformat

    fixture.make_course(root, timeout=20)
    samples = [s for s in samples_for(root, fixture.SLUG, fixture.SAMPLES)
               if s.student in students]
    materialise(root, fixture.SLUG, samples, root)
    solution = nbformat.read(root / "solutions" / fixture.SLUG / f"{fixture.SLUG}.ipynb", 4)
    return root, {s.student: s.expected_scores(exercises(solution)) for s in samples}


def _course_cli(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "course_lib.cli", "grade", "--course-dir", str(root),
               "--no-progress", *args]
    # SIGINT as a terminal gives it: a shell that starts CI in the background leaves it
    # ignored, and an ignored Ctrl-C is inherited by every child.
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _csv_rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return sorted(csv.DictReader(handle), key=lambda row: (row["assignment"],
                                                               row["student_id"]))


def _row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("submitted_assignment", "submitted_notebook", "grade")}


def _processes_in(folder: Path) -> list[int]:
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if os.readlink(cwd).startswith(str(folder)):
                found.append(int(cwd.parent.name))
        except OSError:
            continue
    return found


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


# ------------------------------------------------------------------------ resume


@pytest.mark.slow
def test_a_run_killed_midway_resumes_without_redoing_or_duplicating(tmp_path):
    root, expected = _course(tmp_path / "course")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    logs = root / records.LOG_DIR / fixture.SLUG
    run = _course_cli(root, "--jobs", "2", env=env)
    assert _wait_until(lambda: len(list(logs.glob("*.json"))) >= 3, 240), run.communicate()
    run.send_signal(signal.SIGKILL)
    run.wait()
    finished = {p.stem: p.stat().st_mtime_ns for p in logs.glob("*.json")}
    assert 3 <= len(finished) < len(STUDENTS)
    # The orphaned workers notice and take their kernels with them.
    assert _wait_until(lambda: not _processes_in(scratch), 15), _processes_in(scratch)

    report = grade(root, jobs=2, progress=False)

    assert {o.student for o in report.outcomes if o.resumed} == set(finished)
    assert {p.stem: p.stat().st_mtime_ns for p in logs.glob("*.json")
            if p.stem in finished} == finished  # finished work was not redone
    assert gradebook.scores(root, fixture.SLUG) == expected
    assert _row_counts(root / "gradebook.db") == {
        "submitted_assignment": len(STUDENTS), "submitted_notebook": len(STUDENTS),
        "grade": 2 * len(STUDENTS)}
    rows = _csv_rows(root / "grades.csv")
    assert sorted(row["student_id"] for row in rows) == sorted(STUDENTS)


def test_resume_skips_finished_work_and_regrades_what_changed(tmp_path):
    root, _ = _course(tmp_path, students=BROKEN)
    first = grade(root, progress=False)
    assert not any(o.resumed for o in first.outcomes)
    second = grade(root, progress=False)
    assert all(o.resumed for o in second.outcomes)
    assert [(o.student, o.score, o.error) for o in second.outcomes] == \
        [(o.student, o.score, o.error) for o in first.outcomes]
    # A resubmission is due again; so is everything after --force.
    (root / "submitted" / "broken_json" / fixture.SLUG / "note.txt").write_text("v2")
    third = {o.student: o.resumed for o in grade(root, progress=False).outcomes}
    assert third == {"broken_json": False, "old_nbformat": True, "missing_file": True}
    assert not any(o.resumed for o in grade(root, progress=False, force=True).outcomes)


def test_a_record_without_its_grades_is_graded_again(tmp_path):
    root, _ = _course(tmp_path, students=BROKEN)
    grade(root, progress=False)
    (root / "gradebook.db").unlink()  # e.g. an instructor started a new gradebook
    assert not any(o.resumed for o in grade(root, progress=False).outcomes)
    assert set(gradebook.scores(root, fixture.SLUG)) == set(BROKEN)


def test_the_fingerprint_follows_tests_config_and_overrides(tmp_path):
    root, _ = _course(tmp_path, students=("correct",))
    folder = root / "submitted" / "correct" / fixture.SLUG

    def fingerprint(overrides=None):
        return records.fingerprint(folder, records.assignment_digest(root, fixture.SLUG,
                                                                     overrides or {}))

    base = fingerprint()
    assert fingerprint() == base
    assert fingerprint({"Execute.timeout": 5}) != base
    checks = root / "solutions" / fixture.SLUG / "tiny_checks.py"
    checks.write_text(checks.read_text() + "\n# tightened\n")
    tightened = fingerprint()
    assert tightened != base
    (folder / "notes.txt").write_text("resubmitted")
    assert fingerprint() != tightened


# ------------------------------------------------------------------------ shards


@pytest.mark.slow
def test_three_shards_as_processes_merge_into_what_one_run_gives(tmp_path):
    single, expected = _course(tmp_path / "single")
    split, _ = _course(tmp_path / "split")
    grade(single, jobs=1, progress=False)

    runs = [_course_cli(split, "--shard", f"{i}/3", "--jobs", "1") for i in range(3)]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        assert f"course grade {fixture.SLUG} --merge" in out
    assert not (split / "gradebook.db").exists() or not gradebook.scores(split, fixture.SLUG)
    graded = [{tuple(pair) for pair in shards.read_manifest(
        shards.folder(split, (i, 3), [fixture.SLUG]))["submissions"]} for i in range(3)]
    assert sum(len(g) for g in graded) == len(STUDENTS)
    assert set().union(*graded) == {(fixture.SLUG, s) for s in STUDENTS}

    assert main(["grade", "--course-dir", str(split), "--merge"]) == 0

    assert gradebook.scores(split, fixture.SLUG) == gradebook.scores(single, fixture.SLUG) \
        == expected
    assert _csv_rows(split / "grades.csv") == _csv_rows(single / "grades.csv")
    assert _row_counts(split / "gradebook.db") == _row_counts(single / "gradebook.db")
    for student in STUDENTS:
        for folder in ("autograded", "feedback"):
            assert (split / folder / student / fixture.SLUG).is_dir()
        log = split / records.LOG_DIR / fixture.SLUG / f"{student}.log"
        assert log.read_text().startswith(f"{student} / {fixture.SLUG}: ")
    # Merging twice changes nothing.
    assert main(["grade", "--course-dir", str(split), "--merge"]) == 0
    assert _row_counts(split / "gradebook.db") == _row_counts(single / "gradebook.db")


def test_the_split_is_deterministic_disjoint_and_balanced():
    names = [(f"{slug:02d}", f"student{n:04d}") for slug in range(3) for n in range(1000)]
    owners = [shards.owner(slug, student, 4) for slug, student in names]
    assert owners == [shards.owner(slug, student, 4) for slug, student in names]
    counts = [owners.count(i) for i in range(4)]
    assert min(counts) > 0.9 * len(names) / 4, counts
    assert shards.owner("01", "ada", 1) == 0


def test_every_process_computes_the_same_owners():
    """Machines of a Slurm array agree on the split: no per-process hash seed in it."""
    import subprocess
    import sys

    names = [(f"{slug:02d}", f"student{n:04d}") for slug in range(2) for n in range(200)]
    here = [shards.owner(slug, student, 7) for slug, student in names]
    code = ("import json, sys\nfrom course_lib.grading.scale import shards\n"
            f"print(json.dumps([shards.owner(a, b, 7) for a, b in {names!r}]))")
    for seed in ("0", "12345"):  # Python's own str hashing differs between these runs
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        assert json.loads(result.stdout) == here


@pytest.mark.parametrize("spec", ["3/3", "1", "a/b", "-1/3", "0/0", "1/2/3", ""])
def test_a_bad_shard_spec_is_a_one_line_error(spec):
    with pytest.raises(CourseError, match=r"--shard: expected i/n with 0 <= i < n"):
        shards.parse(spec)


def test_shards_parse_good_specs():
    assert shards.parse("0/3") == (0, 3)
    assert shards.parse(" 2 / 3 ") == (2, 3)


def test_merge_refuses_missing_unfinished_mixed_or_stale_shards(tmp_path, capsys):
    root, _ = _course(tmp_path, students=BROKEN)
    with pytest.raises(CourseError, match="no shards to merge"):
        shards.merge(root)
    grade(root, shard=(0, 2), progress=False)
    with pytest.raises(CourseError, match="shards 1 of 2 are missing"):
        shards.merge(root)
    grade(root, shard=(1, 2), progress=False)
    manifest = shards.folder(root, (1, 2), [fixture.SLUG]) / shards.MANIFEST
    text = manifest.read_text()
    manifest.write_text(text.replace('"complete": true', '"complete": false'))
    with pytest.raises(CourseError, match="shards 1 of 2 did not finish"):
        shards.merge(root)
    manifest.write_text(text)
    late = root / "submitted" / "late_student" / fixture.SLUG
    late.mkdir(parents=True)
    with pytest.raises(CourseError, match=r"1 submissions are new or changed since the shards "
                       r"graded them \(late_student/00_tiny\); run the shards again"):
        shards.merge(root)
    late.rmdir()
    changed = root / "submitted" / "broken_json" / fixture.SLUG / "notes.txt"
    changed.write_text("resubmitted after the shards ran")
    with pytest.raises(CourseError, match=r"\(broken_json/00_tiny\)"):
        shards.merge(root)
    changed.unlink()
    assert len(shards.merge(root).outcomes) == len(BROKEN)
    grade(root, shard=(0, 3), progress=False)
    with pytest.raises(CourseError, match=r"shards of different splits .* \(of \[2, 3\]\)"):
        shards.merge(root)
    assert main(["grade", "--course-dir", str(root), "--merge", "--shard", "0/2"]) == 2
    assert "--merge combines finished shards" in capsys.readouterr().err


def test_a_shard_needs_the_assignment_released_first(tmp_path):
    root, _ = _course(tmp_path, students=BROKEN)
    (root / "gradebook.db").unlink()
    with pytest.raises(CourseError, match=r"00_tiny not in the gradebook yet: run "
                       r"`course release 00_tiny` once before the shards"):
        grade(root, shard=(0, 2), progress=False)
    release(root)
    (root / "gradebook.db").rename(root / "elsewhere.db")  # now a gradebook without it
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(root)):
        pass
    with pytest.raises(CourseError, match="not in the gradebook yet"):
        grade(root, shard=(0, 2), progress=False)
    assert not list((root / "shards").rglob("course-snapshot.db"))  # the copy is removed


def test_cli_shard_and_resume_messages(tmp_path, capsys):
    root, _ = _course(tmp_path, students=BROKEN)
    assert main(["grade", "--course-dir", str(root), "--shard", "0/1"]) == 0
    out = capsys.readouterr().out
    assert f"results in {root / 'shards' / fixture.SLUG / '0-of-1'}" in out
    assert f"run `course grade {fixture.SLUG} --merge`" in out
    assert main(["grade", "--course-dir", str(root), "--shard", "0/1"]) == 0
    assert "3 of 3 submissions were graded by an earlier run" in capsys.readouterr().out
    assert main(["grade", "--course-dir", str(root), "--shard", "9/3"]) == 2
    assert "--shard: expected i/n" in capsys.readouterr().err


def test_shard_runs_over_different_assignments_keep_apart(tmp_path):
    root, _ = _course(tmp_path, students=BROKEN)
    other = root / "solutions" / "00_other"
    shutil.copytree(root / "solutions" / fixture.SLUG, other)
    (other / f"{fixture.SLUG}.ipynb").rename(other / "00_other.ipynb")
    release(root, ["00_other"])
    submitted = root / "submitted" / "broken_json"
    shutil.copytree(submitted / fixture.SLUG, submitted / "00_other")
    grade(root, [fixture.SLUG], shard=(0, 1), progress=False)
    grade(root, ["00_other"], shard=(0, 1), progress=False)
    assert (root / "shards" / fixture.SLUG / "0-of-1" / shards.MANIFEST).is_file()
    assert (root / "shards" / "00_other" / "0-of-1" / shards.MANIFEST).is_file()
    with pytest.raises(CourseError, match=r"shards of several runs .*\(00_other, 00_tiny\): "
                       r"name the assignments"):
        shards.merge(root)
    assert len(shards.merge(root, ["00_other"]).outcomes) == 1
    assert len(shards.merge(root, [fixture.SLUG]).outcomes) == len(BROKEN)


# ------------------------------------------------------------- failures and retries


def _submission(root: Path, student: str):
    return next(s for s in find_submissions(root, [fixture.SLUG]) if s.student == student)


def test_a_time_out_is_final_only_for_limits_no_longer(tmp_path):
    root, _ = _course(tmp_path, students=BROKEN)
    dest = course_destination(root)
    submission = _submission(root, "broken_json")
    identity = {"fingerprint": "f", "assignment": "a"}
    result = Result(fixture.SLUG, "broken_json", timed_out=True, error="time limit")
    outcome = _finish(dest, submission, result, tmp_path / "no-work", identity, 20.0)
    stored = gradebook.stored_scores(dest.url, dest.course, [fixture.SLUG])
    assert outcome.score == 0 and not outcome.retry
    assert _already_graded(dest, submission, "f", stored, 20.0) is not None
    assert _already_graded(dest, submission, "f", stored, 10.0) is not None
    assert _already_graded(dest, submission, "f", stored, 30.0) is None


def test_a_grading_machine_failure_is_retried_and_stale_feedback_removed(tmp_path, capsys):
    root, _ = _course(tmp_path, students=BROKEN)
    dest = course_destination(root)
    submission = _submission(root, "broken_json")
    old_feedback = root / "feedback" / "broken_json" / fixture.SLUG / f"{fixture.SLUG}.html"
    old_feedback.parent.mkdir(parents=True)
    old_feedback.write_text("last week's feedback")
    died = Result(fixture.SLUG, "broken_json", retry=True, error="the grading worker died")
    outcome = _finish(dest, submission, died, tmp_path / "no-work",
                      {"fingerprint": "f", "assignment": "a"}, 60.0)
    assert outcome.retry and "worker died" in outcome.error
    assert not old_feedback.exists()
    assert records.load(root, fixture.SLUG, "broken_json") is None  # no record: retried
    log = (root / records.LOG_DIR / fixture.SLUG / "broken_json.log").read_text()
    assert "the grading worker died" in log


def test_the_cli_exits_1_when_the_grading_machine_failed(tmp_path, capsys, monkeypatch):
    root, _ = _course(tmp_path, students=BROKEN)
    import course_lib.grading.grade as grade_module

    real_finish = grade_module._finish

    def failing_store(dest, submission, *args):
        if submission.student == "old_nbformat":
            raise OSError("disk full")
        return real_finish(dest, submission, *args)

    monkeypatch.setattr(grade_module, "_finish", failing_store)
    assert main(["grade", "--course-dir", str(root), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "not stored (OSError: disk full); run again" in out
    assert "1 submissions were not graded because the grading machine failed" in out
    monkeypatch.setattr(grade_module, "_finish", real_finish)
    assert main(["grade", "--course-dir", str(root), "--no-progress"]) == 0
    assert "2 of 3 submissions were graded by an earlier run" in capsys.readouterr().out


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_keeps_what_was_finished(tmp_path):
    root, _ = _course(tmp_path / "course")
    # Graded last (students go in name order) and slow, so the run is still going when
    # the signal comes, however loaded the machine is.
    materialise(root, fixture.SLUG, [Sample("zz_slow", "sleeps in its answer cells", [
        {"append": name, "source": "import time\ntime.sleep(12)"}
        for name in ("double", "square")])], root)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    logs = root / records.LOG_DIR / fixture.SLUG
    run = _course_cli(root, "--jobs", "1", env={**os.environ, "TMPDIR": str(scratch)})
    assert _wait_until(lambda: len(list(logs.glob("*.json"))) >= 2, 240), run.communicate()
    assert run.poll() is None, "the run ended before the test could interrupt it"
    run.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, err = run.communicate(timeout=60)
    assert time.monotonic() - start < 20, "the queued submissions must not run on"
    assert run.returncode == 130 and "interrupted" in err
    assert _wait_until(lambda: not _processes_in(scratch), 15), _processes_in(scratch)
    finished = len(list(logs.glob("*.json")))
    assert 2 <= finished < len(STUDENTS)
    report = grade(root, jobs=2, progress=False)
    assert sum(o.resumed for o in report.outcomes) == finished


def test_scratch_of_killed_runs_is_swept_and_live_runs_are_left_alone(tmp_path):
    from course_lib.grading.grade import _hold_scratch, _sweep_scratch_of_dead_runs

    dead, live, fresh = (tmp_path / f"course-grade-{name}" for name in ("dead", "live", "new"))
    for folder in (dead, live, fresh):
        (folder / "job00001").mkdir(parents=True)
    hour_ago = time.time() - 3600
    for folder in (dead, live):
        os.utime(folder, (hour_ago, hour_ago))
    with _hold_scratch(live):
        os.utime(live, (hour_ago, hour_ago))
        _sweep_scratch_of_dead_runs(tmp_path)
        assert not dead.exists()
        assert live.is_dir() and fresh.is_dir()


@pytest.mark.slow
def test_late_penalties_see_deadline_extensions(tmp_path):
    """Workers grade in private gradebooks; a student's extension must reach them."""
    from datetime import datetime

    root, _ = _course(tmp_path, students=("correct",))
    with (root / "nbgrader_config.py").open("a") as config:
        config.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    course = gradebook.course_id(root)
    with gradebook.opened(gradebook.db_url(root), course) as gb:
        gb.update_or_create_assignment(fixture.SLUG, duedate=datetime(2026, 1, 1, 12, 0))
    submitted = root / "submitted"
    for student in ("late", "extended"):
        shutil.copytree(submitted / "correct" / fixture.SLUG, submitted / student / fixture.SLUG)
        (submitted / student / fixture.SLUG / "timestamp.txt").write_text(
            "2026-01-01 13:00:00.000000 UTC")  # an hour after the deadline
    gradebook.grant_extension(gradebook.db_url(root), fixture.SLUG, "extended", course, 7200)

    report = {o.student: o.score for o in grade(root, jobs=2, progress=False).outcomes}

    assert report == {"correct": 3, "extended": 3, "late": 0}
    # Granting the extension afterwards makes the late submission due again.
    gradebook.grant_extension(gradebook.db_url(root), fixture.SLUG, "late", course, 7200)
    again = {o.student: (o.score, o.resumed) for o in grade(root, progress=False).outcomes}
    assert again == {"correct": (3, True), "extended": (3, True), "late": (3, False)}
