"""End to end on the real course: every bundled sample submission of every notebook gets
exactly its recorded score per test (solutions full marks, releases 0), and ``course demo``
runs."""

from __future__ import annotations

import os
import re

import grading_fixture as fixture
import nbformat
import pytest

from course_lib.cli import main
from course_lib.grading import gradebook
from course_lib.grading.course import assignments, repo_root
from course_lib.grading.demo import prepare
from course_lib.grading.grade import grade
from course_lib.grading.samples import exercises, written_answers

REPO = repo_root()
JOBS = max(2, os.cpu_count() or 1)


@pytest.mark.slow
@pytest.mark.parametrize("slug", assignments(REPO))
def test_every_sample_of_the_notebook_scores_as_recorded(tmp_path, slug):
    corpus = prepare(REPO, tmp_path, [slug])[slug]
    # The infinite-loop sample waits out the per-cell limit; 60 s is still three times the
    # slowest correct cell seen on a loaded CI machine (the course's config says 120).
    report = grade(tmp_path, [slug], jobs=JOBS, progress=False,
                   overrides={"Execute.timeout": 60})
    solution = nbformat.read(REPO / "solutions" / slug / f"{slug}.ipynb", as_version=4)
    exs, written = exercises(solution), written_answers(solution)
    assert written, f"{slug} has no free-response question for a TA"
    expected = {sample.student: sample.expected_scores(exs, written) for sample in corpus}
    got = gradebook.scores(tmp_path, slug)
    mismatches = {student: (expected[student], got.get(student)) for student in expected
                  if got.get(student) != expected[student]}
    errors = {o.student: o.error for o in report.outcomes if o.student in mismatches}
    assert mismatches == {}, f"scores differ from the record: {mismatches}; errors: {errors}"
    assert expected["correct"] == {ex.test: ex.points for ex in exs} | dict.fromkeys(written, 0)
    assert set(expected["unanswered"].values()) == {0.0}
    pages = list((tmp_path / "feedback").glob(f"*/{slug}/{slug}.html"))
    assert len(pages) >= len(corpus) - 4  # all but the unreadable and the crashed ones
    for page in pages:  # code is highlighted token by token: look for single tokens
        html = page.read_text(encoding="utf-8")
        assert "fresh_checks" not in html and "HIDDEN" not in html and "thorough" not in html


@pytest.mark.slow
def test_course_demo_grades_the_samples_and_prints_the_tables(tmp_path, capsys):
    root = fixture.make_course(tmp_path / "course", timeout=15)
    assert main(["demo", "--course-dir", str(root), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "course demo: 4 representative submissions" in out  # the tiny course has no bugs
    for student in ("correct", "patched_check", "crash", "infinite_loop"):
        assert f"\n{student} " in out
    assert "Totals per student" in out and "Recorded against actual scores" in out
    assert "all scores as recorded" in out and "MISMATCH" not in out
    assert re.search(r"^correct +3/3$", out, re.MULTILINE)
