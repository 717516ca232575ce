"""``course release``: notebooks/ is exactly what nbgrader generates from solutions/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import grading_fixture as fixture
import nbformat
import pytest

from course_lib.cli import main
from course_lib.grading.course import CourseError, assignments, repo_root
from course_lib.grading.release import release
from course_lib.notebook_files import NotebookError

REPO = repo_root()
REPO_SLUGS = assignments(REPO)


def _released_copy(tmp_path: Path, slug: str) -> Path:
    """Release ``slug`` from a copy of the repository's source into ``tmp_path``."""
    shutil.copy2(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / slug, tmp_path / "solutions" / slug)
    release(tmp_path, [slug])
    return tmp_path / "notebooks" / slug


def test_the_course_has_its_assignments():
    assert REPO_SLUGS, "solutions/ has no assignment yet"
    expected = ["01_why_nonlinearity", "02_sigmoid_saturation", "03_relu_dead_zone",
                "04_relu_variants", "05_normalization", "06_lenet5_lab"]
    assert set(REPO_SLUGS) <= set(expected)


@pytest.mark.parametrize("slug", REPO_SLUGS)
def test_notebooks_dir_equals_a_fresh_release(tmp_path, slug):
    fresh = _released_copy(tmp_path, slug)
    committed = REPO / "notebooks" / slug
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*")
                             if p.is_file())
    assert committed_files == fresh_files, "run `course release` and commit notebooks/"
    for name in fresh_files:
        assert (committed / name).read_bytes() == (fresh / name).read_bytes(), (
            f"notebooks/{slug}/{name} differs from nbgrader's release; run `course release`")


def _assert_clean_release(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "HIDDEN TESTS" not in text and "fresh_checks" not in text
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("slug", REPO_SLUGS)
def test_released_notebooks_hold_no_solutions_hidden_tests_or_outputs(slug):
    _assert_clean_release(REPO / "notebooks" / slug / f"{slug}.ipynb")


def test_release_of_the_fixture_course(tmp_path):
    root = fixture.make_course(tmp_path, release=False)
    assert main(["release", "--course-dir", str(root)]) == 0
    released = root / "notebooks" / fixture.SLUG / f"{fixture.SLUG}.ipynb"
    _assert_clean_release(released)
    text = released.read_text()
    assert "raise NotImplementedError()" in text and "check_double(double)" in text
    assert (root / "notebooks" / fixture.SLUG / "tiny_checks.py").exists()
    assert (root / "gradebook.db").exists()


def test_release_is_reproducible(tmp_path):
    root = fixture.make_course(tmp_path)
    released = root / "notebooks" / fixture.SLUG / f"{fixture.SLUG}.ipynb"
    first = released.read_bytes()
    release(root, [fixture.SLUG])
    assert released.read_bytes() == first


def test_unknown_slug_is_a_one_line_error(tmp_path, capsys):
    root = fixture.make_course(tmp_path, release=False)
    assert main(["release", "--course-dir", str(root), "07_nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "course release: error: unknown assignment '07_nope'; this course has: 00_tiny"


def test_missing_course_dir_is_a_one_line_error(tmp_path, capsys):
    assert main(["release", "--course-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("course release: error: course directory") and "does not exist" in err
    assert "\n" not in err


def test_dir_without_config_is_not_a_course(tmp_path):
    from course_lib.grading.course import course_dir

    with pytest.raises(CourseError, match="is not a course directory: it has no nbgrader_config"):
        course_dir(tmp_path)


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON at line 1"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "cells": [], "metadata": {}}),
     "nbformat 3 is not supported"),
    (json.dumps({"hello": "world"}), "JSON without a 'cells' list"),
])
def test_malformed_source_notebook_is_a_one_line_error(tmp_path, content, message):
    root = fixture.make_course(tmp_path, release=False)
    (root / "solutions" / fixture.SLUG / f"{fixture.SLUG}.ipynb").write_text(content)
    with pytest.raises(NotebookError, match=message) as caught:
        release(root)
    assert "\n" not in str(caught.value)
