"""``course start``: a workspace of the learner's own that nothing overwrites, and a JupyterLab
launch without nbgrader's instructor interface (the browser sees it in test_browser.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import course_lib
from course_lib.cli import main
from course_lib.errors import CourseError
from course_lib.learner import workspace

REPO = Path(course_lib.__file__).resolve().parents[1]


def _notebook(home: Path, slug: str = "02_sigmoid_saturation") -> Path:
    return home / slug / f"{slug}.ipynb"


def test_the_first_start_copies_every_released_notebook(tmp_path, capsys):
    home = tmp_path / "mine"
    assert main(["start", str(home), "--no-lab"]) == 0
    out = capsys.readouterr().out
    for slug in course_lib.SLUGS:
        assert _notebook(home, slug).read_bytes() == (
            REPO / "notebooks" / slug / f"{slug}.ipynb").read_bytes()
        assert f"copied {slug}.ipynb" in out
    assert f"your workspace: {home.resolve()}" in out
    manifest = json.loads((home / workspace.MANIFEST).read_text())
    assert set(manifest) == {f"{slug}.ipynb" for slug in course_lib.SLUGS}


def test_a_later_start_never_overwrites_the_learners_work(tmp_path):
    home = tmp_path / "mine"
    workspace.prepare(home)
    mine = _notebook(home)
    mine.write_text(mine.read_text().replace("raise NotImplementedError()", "return x", 1))
    edited = mine.read_bytes()
    done = workspace.prepare(home)
    assert mine.read_bytes() == edited
    assert "02_sigmoid_saturation.ipynb" in done.kept
    assert not done.created and not done.updated


def test_a_new_release_updates_untouched_copies_and_lands_beside_edited_ones(tmp_path,
                                                                           monkeypatch):
    home = tmp_path / "mine"
    workspace.prepare(home)
    edited, untouched = _notebook(home), _notebook(home, "03_relu_dead_zone")
    edited.write_text(edited.read_text() + " ")
    newer = tmp_path / "release"
    releases = {}
    for slug, path in workspace.release_notebooks().items():
        (newer / slug).mkdir(parents=True)
        releases[slug] = newer / slug / path.name
        releases[slug].write_text(path.read_text().replace("# 0", "# Zero", 1))
    monkeypatch.setattr(workspace, "release_notebooks", lambda: releases)
    before = edited.read_bytes()
    done = workspace.prepare(home)
    assert edited.read_bytes() == before  # the learner's work is kept
    beside = edited.with_name("02_sigmoid_saturation.new-release.ipynb")
    assert beside.read_text() == releases["02_sigmoid_saturation"].read_text()
    assert untouched.read_text() == releases["03_relu_dead_zone"].read_text()
    assert "03_relu_dead_zone.ipynb" in done.updated
    assert any("new release is beside it" in line for line in done.lines())


@pytest.mark.parametrize("inside", ["course_lib", "notebooks", "solutions"])
def test_a_workspace_inside_the_course_or_the_package_is_refused(inside, capsys):
    folder = REPO / inside / "my-work"
    assert main(["start", str(folder), "--no-lab"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("course start: error: ") and "choose a folder of your own" in err
    assert "\n" not in err and not folder.exists()


def test_the_launch_hides_nbgraders_instructor_interface(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/somewhere/else")
    command, env = workspace.lab_command(tmp_path, ["--no-browser"])
    assert command[1:4] == ["-m", "jupyter", "lab"] and command[-1] == "--no-browser"
    assert f"--ServerApp.root_dir={tmp_path}" in command
    config, rest = env["JUPYTER_CONFIG_PATH"].split(os.pathsep)
    assert rest == "/somewhere/else"  # the learner's own config path is kept, after ours
    page = json.loads(Path(config, "labconfig", "page_config.json").read_text())
    assert set(page["disabledExtensions"]) == {*workspace.NBGRADER_LAB_PLUGINS,
                                               workspace.ANNOUNCEMENTS_PLUGIN}
    server = json.loads(Path(config, "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == dict.fromkeys(
        workspace.NBGRADER_SERVER_EXTENSIONS, False)


def test_instructor_commands_never_fall_back_to_the_installed_course(tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.chdir(tmp_path)
    for command in (["release"], ["grade"], ["bundle", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert f"no course directory: {tmp_path} has no nbgrader_config.py" in err
        assert "--course-dir DIR" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_missing_releases_are_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(workspace.released, "folders", lambda: [tmp_path / "nothing"])
    with pytest.raises(CourseError, match="no released notebooks found in"):
        workspace.prepare(tmp_path / "mine")
