"""``course check NOTEBOOK``: a learner's nbgrader validate, with a table per exercise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import grading_fixture as fixture
import nbformat
import pytest

from course_lib.cli import main
from course_lib.grading.samples import answered_notebook, apply_edits


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return fixture.make_course(tmp_path_factory.mktemp("course"))


def _learner_copy(course: Path, tmp_path: Path, edits: list[dict]) -> Path:
    """A learner's folder: the released notebook (answered, then edited) and its files."""
    folder = tmp_path / "learner"
    shutil.copytree(course / "notebooks" / fixture.SLUG, folder)
    released = nbformat.read(folder / f"{fixture.SLUG}.ipynb", as_version=4)
    notebook = apply_edits(answered_notebook(course, fixture.SLUG), released, edits)
    path = folder / f"{fixture.SLUG}.ipynb"
    nbformat.write(notebook, path)
    return path


def test_a_correct_notebook_passes_every_exercise(course, tmp_path, capsys):
    path = _learner_copy(course, tmp_path, [])
    before = path.read_bytes()
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "test_double  1/1     passed  ✔ double: all 2 cases passed" in out
    assert "test_square  2/2     passed  ✔ square: all 2 cases passed" in out
    assert "Score: 3 / 3" in out
    assert path.read_bytes() == before  # the learner's file is not touched


@pytest.mark.parametrize("answer, state", [("YOUR ANSWER HERE", "NOT WRITTEN YET"),
                                           ("Squaring is doubling the log.", "written")])
def test_a_free_response_answer_is_listed_for_the_ta(course, tmp_path, capsys, answer, state):
    path = _learner_copy(course, tmp_path, [])
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell(answer)
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False,
                                 "points": 2, "grade_id": "written_why", "schema_version": 3}
    nb.cells.append(cell)
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 0  # the checks cannot grade it: it does not fail
    out = capsys.readouterr().out
    assert "Score: 3 / 3" in out
    assert (f"Written answer written_why (2 points, graded by a TA, not by course check): "
            f"{state}") in out


def test_failures_show_the_checks_message_and_exit_non_zero(course, tmp_path, capsys):
    path = _learner_copy(course, tmp_path, [
        {"stub": "double"},
        {"replace": "square", "source": "def square(x):\n    return np.abs(x) * 2"},
    ])
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "test_double  0/1     FAILED  CheckFailure: double failed on case 1" in out
    assert "problem: your function is not written yet (it raises NotImplementedError)" in out
    assert "test_square  0/2     FAILED  CheckFailure: square failed on case 1" in out
    assert "Score: 0 / 3" in out
    assert "expected output:" in out  # the full message follows the table


def test_stderr_output_fails_the_exercise_as_under_nbgrader(course, tmp_path, capsys):
    path = _learner_copy(course, tmp_path, [])
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "test_double")
    test.source = "import sys\nsys.stderr.write('careful\\n')\n" + test.source
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "test_double  0/1     FAILED  wrote to stderr (nbgrader scores that 0): careful" in out


@pytest.mark.parametrize("content, message", [
    ("{broken", "not a notebook (invalid JSON at line 1, column 2"),
    (json.dumps({"nbformat": 3, "cells": []}), "nbformat 3 is not supported"),
    (None, "no such notebook file"),
])
def test_unreadable_notebooks_are_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "mine.ipynb"
    if content is not None:
        path.write_text(content)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"course check: error: {path}: ") and message in err
    assert "\n" not in err


def test_a_notebook_without_tests_is_reported(tmp_path, capsys):
    path = tmp_path / "plain.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 1
    assert "no graded test cells" in capsys.readouterr().out


def test_edited_and_deleted_test_cells_are_graded_as_released(course, tmp_path, capsys):
    path = _learner_copy(course, tmp_path, [{"replace": "square",
                                              "source": "def square(x):\n    return x"}])
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # the learner "fixes" one test and deletes the other
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "test_square":
            cell.source = "print('all good')"
    nb.cells = [c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") != "test_double"]
    nbformat.write(nb, path)
    released = course / "notebooks" / fixture.SLUG / f"{fixture.SLUG}.ipynb"
    assert main(["check", str(path), "--released", str(released)]) == 1
    out = capsys.readouterr().out
    assert "warning: test cell test_square was edited; graded with the released version" in out
    assert "warning: test cell test_double was deleted; restored from the release" in out
    assert "test_double  1/1     passed" in out  # restored, and double is right
    assert "test_square  0/2     FAILED" in out  # the released test sees the wrong square


def test_without_a_release_an_edited_test_cell_is_still_noticed(course, tmp_path, capsys):
    path = _learner_copy(course, tmp_path, [])
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "test_square")
    test.source += "\nprint('extra')"
    nbformat.write(nb, path)
    main(["check", str(path)])
    assert "warning: test cell test_square was edited (its checksum changed)" in \
        capsys.readouterr().out


def test_an_instructors_notebook_is_named_as_such(course, tmp_path, capsys):
    folder = tmp_path / "solutions"
    shutil.copytree(course / "solutions" / fixture.SLUG, folder)
    main(["check", str(folder / f"{fixture.SLUG}.ipynb")])
    assert "warning: this is an instructor's notebook" in capsys.readouterr().out


def test_the_per_cell_limit_is_the_courses():
    from traitlets.config.loader import PyFileConfigLoader

    from course_lib.learner.check import CELL_TIMEOUT

    config = PyFileConfigLoader("nbgrader_config.py", path=str(fixture.REPO)).load_config()
    assert config.Execute.timeout == CELL_TIMEOUT
