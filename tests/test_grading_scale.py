"""Grading at scale on the tiny fixture course: resume after SIGKILL, shards and merge.

The end-to-end tests run ``course grade`` as separate processes, as an instructor's
terminal, a Slurm array or a Kubernetes indexed Job would.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grading_fixture as fixture
import pytest

from course_lib.cli import main
from course_lib.grading import gradebook, records, shards
from course_lib.grading.course import CourseError
from course_lib.grading.grade import grade
from course_lib.grading.samples import exercises, materialise, samples_for

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
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


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
        assert "course grade --merge" in out
    assert not (split / "gradebook.db").exists() or not gradebook.scores(split, fixture.SLUG)
    graded = [{tuple(pair) for pair in shards.read_manifest(
        shards.folder(split, (i, 3)))["submissions"]} for i in range(3)]
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
    manifest = shards.folder(root, (1, 2)) / shards.MANIFEST
    text = manifest.read_text()
    manifest.write_text(text.replace('"complete": true', '"complete": false'))
    with pytest.raises(CourseError, match="shards 1 of 2 did not finish"):
        shards.merge(root)
    manifest.write_text(text)
    late = root / "submitted" / "late_student" / fixture.SLUG
    late.mkdir(parents=True)
    with pytest.raises(CourseError, match=r"1 submissions arrived after the shards ran "
                       r"\(late_student/00_tiny\)"):
        shards.merge(root)
    late.rmdir()
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


def test_cli_shard_and_resume_messages(tmp_path, capsys):
    root, _ = _course(tmp_path, students=BROKEN)
    assert main(["grade", "--course-dir", str(root), "--shard", "0/1"]) == 0
    out = capsys.readouterr().out
    assert f"results in {root / 'shards' / '0-of-1'}" in out
    assert main(["grade", "--course-dir", str(root), "--shard", "0/1"]) == 0
    assert "3 of 3 submissions were graded by an earlier run" in capsys.readouterr().out
    assert main(["grade", "--course-dir", str(root), "--shard", "9/3"]) == 2
    assert "--shard: expected i/n" in capsys.readouterr().err
