"""The sample-submission corpus: structure, edits, expected scores, bundled specs."""

from __future__ import annotations

import json
from pathlib import Path

import grading_fixture as fixture
import nbformat
import pytest

from course_lib.grading.course import assignments, repo_root
from course_lib.grading.samples import (
    SPEC_DIR,
    Sample,
    apply_edits,
    exercises,
    load_spec,
    materialise,
    samples_for,
)
from course_lib.notebook_files import NotebookError, read_notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return fixture.make_course(tmp_path_factory.mktemp("course"))


def test_exercises_pair_answers_with_their_tests():
    found = exercises(fixture.source_notebook())
    assert [(e.name, e.test, e.points, e.check_module) for e in found] == [
        ("double", "test_double", 1.0, "tiny_checks"),
        ("square", "test_square", 2.0, "tiny_checks"),
    ]


def test_corpus_has_the_generic_and_the_spec_samples(course):
    students = {s.student for s in samples_for(course, fixture.SLUG, fixture.SAMPLES)}
    generic = {"correct", "unanswered", "partial", "crash", "infinite_loop", "deleted_test",
               "edited_test", "patched_check", "patched_numpy", "fake_eq",
               "delegates_reference", "broken_json", "old_nbformat", "missing_file"}
    assert generic | {"bug_square_abs", "hardcoded_double", "torch_double"} == students


def test_expected_scores_follow_the_failing_tests(course):
    by_student = {s.student: s for s in samples_for(course, fixture.SLUG, fixture.SAMPLES)}
    assert by_student["correct"].score == 3
    assert by_student["unanswered"].score == 0
    assert by_student["partial"].score == 1
    assert by_student["patched_numpy"].score == 1
    assert by_student["bug_square_abs"].score == 1


def test_a_spec_whose_score_disagrees_with_its_fails_is_rejected(course):
    spec = {"samples": [{"student": "wrong", "description": "d", "score": 3,
                         "fails": ["test_double"], "edits": []}]}
    with pytest.raises(ValueError, match="'wrong' says score 3 but its fails"):
        samples_for(course, fixture.SLUG, spec)


def test_a_student_id_used_twice_is_rejected(course):
    spec = {"samples": [{"student": "correct", "description": "again", "edits": []}]}
    with pytest.raises(ValueError, match="'correct' is used twice"):
        samples_for(course, fixture.SLUG, spec)


def test_materialised_submissions_are_in_nbgraders_layout(course, tmp_path):
    samples = samples_for(course, fixture.SLUG, fixture.SAMPLES)
    written = materialise(course, fixture.SLUG, samples, tmp_path)
    assert len(written) == len(samples)
    correct = read_notebook(tmp_path / "submitted/correct/00_tiny/00_tiny.ipynb")
    answer = next(c for c in correct.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                  == "double")
    assert "return 2 * x" in answer.source
    test = next(c for c in correct.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "test_double")
    assert "HIDDEN" not in test.source  # a student's notebook starts from the release


@pytest.mark.parametrize("student, message", [
    ("broken_json", "invalid JSON at line"),
    ("old_nbformat", "nbformat 3 is not supported"),
    ("missing_file", "no such notebook file"),
])
def test_broken_file_samples_are_really_broken(course, tmp_path, student, message):
    samples = [s for s in samples_for(course, fixture.SLUG, fixture.SAMPLES)
               if s.student == student]
    materialise(course, fixture.SLUG, samples, tmp_path)
    with pytest.raises(NotebookError, match=message):
        read_notebook(tmp_path / "submitted" / student / "00_tiny/00_tiny.ipynb")


def test_edits_replace_prepend_stub_and_delete(course):
    released = nbformat.read(course / "notebooks/00_tiny/00_tiny.ipynb", as_version=4)
    base = nbformat.read(course / "solutions/00_tiny/00_tiny.ipynb", as_version=4)
    edited = apply_edits(base, released, [
        {"replace": "double", "source": "def double(x):\n    return x"},
        {"prepend": "square", "source": "import os\n"},
        {"delete": "test_square"},
    ])
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in edited.cells]
    assert "test_square" not in ids and len(edited.cells) == len(base.cells) - 1
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in edited.cells}
    assert cells["double"].source == "def double(x):\n    return x"
    assert cells["square"].source.startswith("import os\ndef square")
    stubbed = apply_edits(base, released, [{"stub": "double"}])
    stub_cell = next(c for c in stubbed.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                     == "double")
    assert "raise NotImplementedError()" in stub_cell.source
    assert len(base.cells) == 6  # the input is not changed


def test_unknown_edit_is_rejected(course):
    nb = fixture.source_notebook()
    with pytest.raises(ValueError, match="unknown sample edit"):
        apply_edits(nb, nb, [{"rewrite": "double"}])


def test_sample_expected_scores_per_test():
    exs = exercises(fixture.source_notebook())
    sample = Sample("s", "d", fails=["test_square"])
    assert sample.expected_scores(exs) == {"test_double": 1.0, "test_square": 0.0}


def test_every_bundled_spec_matches_its_solution_notebook():
    root = repo_root()
    slugs = assignments(root)
    for path in sorted(p for p in SPEC_DIR.glob("*.py") if p.stem != "__init__"):
        assert path.stem in slugs, f"{path.name} has no solutions/{path.stem}"
    for slug in slugs:
        spec = load_spec(slug)
        samples = samples_for(root, slug, spec)
        assert {s.student for s in samples} >= {"correct", "unanswered", "crash"}
        names = {e.name for e in exercises(nbformat.read(
            root / "solutions" / slug / f"{slug}.ipynb", as_version=4))}
        bugged = {e.get("replace") or e.get("sub") for s in spec.get("samples", [])
                  for e in s["edits"]}
        assert names <= bugged, f"{slug}: exercises without a classic bug: {names - bugged}"


def test_invalid_json_text_is_reported_with_its_position(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps({"cells": []})[:-3])
    with pytest.raises(NotebookError, match=r"x.ipynb: not a notebook \(invalid JSON at line 1"):
        read_notebook(path)
