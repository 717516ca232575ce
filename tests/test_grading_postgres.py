"""Concurrent graders writing one PostgreSQL gradebook: nothing lost, nothing duplicated.

The server is Debian's PostgreSQL on 127.0.0.1, started by ``tests/postgres_server.py``
(``.ci/services`` installs it in CI). The graders are separate ``course grade``
processes, as on separate machines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grading_fixture as fixture
import pytest
from sqlalchemy import create_engine, text

from course_lib.cli import main
from course_lib.grading import gradebook
from course_lib.grading.release import release
from course_lib.grading.samples import exercises, materialise, samples_for

STUDENTS = ("correct", "unanswered", "partial", "bug_square_abs", "torch_double",
            "edited_test")


def _course(root: Path, url: str) -> dict[str, dict[str, float]]:
    """The fixture course with its gradebook on the server; the expected scores."""
    import nbformat

    fixture.make_course(root, timeout=20, release=False)
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"c.CourseDirectory.db_url = {url!r}\n")
    release(root)
    samples = [s for s in samples_for(root, fixture.SLUG, fixture.SAMPLES)
               if s.student in STUDENTS]
    materialise(root, fixture.SLUG, samples, root)
    solution = nbformat.read(root / "solutions" / fixture.SLUG / f"{fixture.SLUG}.ipynb", 4)
    return {s.student: s.expected_scores(exercises(solution)) for s in samples}


def _grade_processes(*argument_lists: list[str]) -> None:
    runs = [subprocess.Popen([sys.executable, "-m", "course_lib.cli", "grade", "--no-progress",
                              "--jobs", "1", *arguments],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for arguments in argument_lists]
    for run in runs:
        _, err = run.communicate(timeout=900)
        assert run.returncode == 0, err


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                    for table in ("student", "assignment", "submitted_assignment",
                                  "submitted_notebook", "grade")}
    finally:
        engine.dispose()


def _expected_rows() -> dict[str, int]:
    return {"student": len(STUDENTS), "assignment": 1, "submitted_assignment": len(STUDENTS),
            "submitted_notebook": len(STUDENTS), "grade": 2 * len(STUDENTS)}


@pytest.mark.slow
def test_three_shards_write_one_postgresql_gradebook_at_once(tmp_path, postgres_db_url):
    root = tmp_path / "course"
    expected = _course(root, postgres_db_url)
    _grade_processes(*[["--course-dir", str(root), "--shard", f"{i}/3"] for i in range(3)])
    # The grades are on the server already; no shard kept a SQLite gradebook.
    assert gradebook.scores(postgres_db_url, fixture.SLUG) == expected
    assert not list((root / "shards").glob("*/gradebook.db"))
    assert main(["grade", "--course-dir", str(root), "--merge"]) == 0
    assert gradebook.scores(postgres_db_url, fixture.SLUG) == expected
    assert _row_counts(postgres_db_url) == _expected_rows()
    assert (root / "grades.csv").read_text().count(f"{fixture.SLUG},") == len(STUDENTS)


@pytest.mark.slow
def test_two_graders_of_the_same_class_duplicate_nothing(tmp_path, postgres_db_url):
    """Two machines grade every submission at the same time: each row exists once."""
    first = tmp_path / "first"
    expected = _course(first, postgres_db_url)
    second = tmp_path / "second"
    shutil.copytree(first, second)
    _grade_processes(["--course-dir", str(first)], ["--course-dir", str(second)])
    assert gradebook.scores(postgres_db_url, fixture.SLUG) == expected
    assert _row_counts(postgres_db_url) == _expected_rows()


def _write_everyone(url: str, course: str, students: tuple[str, ...], start) -> None:
    from nbgrader.api import Gradebook  # imported before the start, so all race at once

    Gradebook  # noqa: B018
    start.wait()
    for student in students:
        gradebook.write_submission(url, fixture.SLUG, student, course, None)


def test_racing_writers_of_the_same_rows_retry_instead_of_failing(tmp_path, postgres_db_url):
    """Four processes create the same students and submissions at the same instant."""
    import multiprocessing

    root = tmp_path / "course"
    _course(root, postgres_db_url)
    course = gradebook.course_id(root)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    writers = [context.Process(target=_write_everyone,
                               args=(postgres_db_url, course, STUDENTS[::step], start))
               for step in (1, 1, -1, -1)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [writer.exitcode for writer in writers] == [0, 0, 0, 0]
    assert _row_counts(postgres_db_url) == _expected_rows()
    assert all(score == 0 for cells in gradebook.scores(postgres_db_url, fixture.SLUG).values()
               for score in cells.values())
