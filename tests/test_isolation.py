"""What a submission's sandboxes hold (course_lib.grading.isolation), the kernelspec a
worker writes, and ``course grade`` where no sandbox is possible."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from course_lib.cli import main
from course_lib.errors import CourseError
from course_lib.grading import grade as grade_module
from course_lib.grading import isolation, sandbox
from course_lib.grading.worker import Kernels


@pytest.fixture
def edition(tmp_path_factory) -> Path:
    return isolation.write_grading_edition(tmp_path_factory.mktemp("edition"))


def test_the_grading_edition_has_no_reference_and_compiled_code(edition):
    package = edition / "course_lib"
    assert not (package / "reference").exists() and not (package / "grading").exists()
    assert (package / "checks" / "recorder.py").is_file()
    assert list((package / "checks" / "__pycache__").glob("recorder.*.pyc"))


def test_secrets_inside_what_a_sandbox_shows_are_covered(tmp_path, edition, monkeypatch):
    python = tmp_path / "venv"
    course = python / "course"  # a course folder inside a shown folder (odd, but possible)
    course.mkdir(parents=True)
    on_path = tmp_path / "course-helpers"  # a PYTHONPATH entry inside the scratch folder
    on_path.mkdir()
    monkeypatch.setattr(sandbox, "python_paths", lambda: (str(python), str(on_path)))
    confine = isolation.Isolation(edition, secrets=(course, tmp_path / "course-helpers"))
    readonly, masked = confine.shown({"torch"})
    assert str(python) in readonly and str(edition) in readonly
    assert str(on_path) not in readonly
    assert str(course) in masked
    full = str(isolation.full_package())
    assert full not in readonly


def test_a_numpy_exercises_recorder_cannot_import_torch(edition):
    import torch

    confine = isolation.Isolation(edition)
    _, masked = confine.shown({"torch", "scipy", "course_lib"})
    assert str(Path(torch.__file__).resolve().parent) in masked


def test_the_environment_inside_keeps_no_secret(edition, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://grader:secret@db/course")
    monkeypatch.setenv("PGPASSWORD", "secret")
    env = isolation.Isolation(edition).environment("/course-handin")
    assert "DATABASE_URL" not in env and "PGPASSWORD" not in env
    assert env["PYTHONPATH"] == str(edition) and env["COURSE_HANDIN_DIR"] == "/course-handin"
    assert env["HOME"] == "/tmp"


def test_an_instructors_own_kernelspec_runs_inside_the_sandbox(tmp_path, monkeypatch):
    own = tmp_path / "jupyter" / "kernels" / "isolated"
    own.mkdir(parents=True)
    (own / "kernel.json").write_text(json.dumps({
        "argv": ["/opt/isolated/bin/python", "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"], "env": {"ISOLATED": "1"}, "language": "python",
        "display_name": "isolated"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    kernels = Kernels(str(tmp_path), warm=False)
    try:
        spec = sandbox.Spec(readonly=(), writable=(), cwd="/")
        name = kernels.write("isolated", spec, {})
        written = json.loads((Path(kernels.folder) / "kernels" / name / "kernel.json")
                             .read_text())
        assert written["argv"][:4] == [sys.executable, "-m", "course_lib.grading.sandbox",
                                       "--spec"]
        assert written["argv"][5:] == ["--", "/opt/isolated/bin/python", "-m",
                                       "ipykernel_launcher", "-f", "{connection_file}"]
        assert written["env"] == {"ISOLATED": "1"}
        plain = kernels.write("python3", None, {"PYTHONPATH": "/edition"})
        written = json.loads((Path(kernels.folder) / "kernels" / plain / "kernel.json")
                             .read_text())
        assert written["argv"][1:3] == ["-m", "ipykernel_launcher"]
        assert written["env"] == {"PYTHONPATH": "/edition"}
    finally:
        kernels.stop()


def test_without_a_sandbox_course_grade_refuses_in_one_line(tmp_path, monkeypatch, capsys):
    import grading_fixture as fixture

    root = fixture.make_course(tmp_path / "course")
    monkeypatch.setattr(sandbox, "available",
                        lambda: "sandbox: user namespaces are disabled (max_user_namespaces 0)")
    assert main(["grade", "--course-dir", str(root), "--no-progress"]) == 2  # a usage error
    err = capsys.readouterr().err
    assert "cannot sandbox submissions here" in err and "--no-sandbox" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(CourseError, match="--no-sandbox"):
        grade_module.require_sandbox()


def test_no_sandbox_warns_on_every_run(tmp_path, monkeypatch, capsys):
    import grading_fixture as fixture

    root = fixture.make_course(tmp_path / "course")
    seen = {}

    def fake_grade(root, slugs, **options):
        seen.update(options)
        return grade_module.BatchReport([], root / "grades.csv", 0.0, [])

    monkeypatch.setattr(grade_module, "grade", fake_grade)
    for _ in range(2):
        assert main(["grade", "--course-dir", str(root), "--no-progress", "--no-sandbox"]) == 0
        assert "WARNING: --no-sandbox" in capsys.readouterr().err
    assert seen["sandboxed"] is False
    assert os.environ.get("COURSE_HANDIN_DIR") is None


def test_release_refuses_a_test_cell_the_grader_cannot_judge(tmp_path):
    import grading_fixture as fixture
    import nbformat

    from course_lib.grading.release import release

    root = fixture.make_course(tmp_path / "course", release=False)
    path = root / "solutions" / fixture.SLUG / f"{fixture.SLUG}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    test = next(c for c in notebook.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "test_double")
    test.source += "\nassert double(1) == 2"
    nbformat.write(notebook, path)
    with pytest.raises(CourseError, match=r"test cell test_double, line 6: a test cell may "
                       r"only import checks and call them"):
        release(root)


@pytest.mark.slow
def test_a_kernel_that_cannot_start_is_tried_again_and_never_recorded_as_zero(tmp_path,
                                                                              monkeypatch,
                                                                              capsys):
    """A sandbox that cannot be set up (here: its course_lib folder is gone) is the grading
    machine's failure: one more try, then no record and exit status 1; the next run
    grades the submission."""
    import grading_fixture as fixture

    from course_lib.grading import records
    from course_lib.grading.samples import materialise, samples_for

    root = fixture.make_course(tmp_path / "course", timeout=20)
    correct = [s for s in samples_for(root, fixture.SLUG, fixture.SAMPLES)
               if s.student == "correct"]
    materialise(root, fixture.SLUG, correct, root)
    real = isolation.write_grading_edition
    monkeypatch.setattr(isolation, "write_grading_edition",
                        lambda out: real(out) and tmp_path / "no-such-edition")
    assert main(["grade", "--course-dir", str(root), "--no-progress", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "1 submissions were not graded because the grading machine failed" in out
    assert records.load(root, fixture.SLUG, "correct") is None
    monkeypatch.setattr(isolation, "write_grading_edition", real)
    assert main(["grade", "--course-dir", str(root), "--no-progress", "--jobs", "1"]) == 0
    from course_lib.grading import gradebook

    assert gradebook.scores(root, fixture.SLUG)["correct"] == {"test_double": 1.0,
                                                              "test_square": 2.0}
