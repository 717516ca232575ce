"""A learner's first minutes, in a real browser: ``course start``, notebook 01, one exercise.

JupyterLab runs as the README's first command starts it, Debian's Chromium is driven
through Playwright (tests/browser.py; no browser download). The learner opens notebook
01, runs the test cell of an exercise not written yet and reads the short message, writes
the function, runs the test again and reads the success line; nbgrader's instructor UI
(Formgrader, Create Assignment, the course and assignment lists) is nowhere. The same
JupyterLab without ``course start``'s config shows that UI: the threat is real.

Without a Chromium these tests skip, saying how to install one, except where
``COURSE_REQUIRE_BROWSER`` is set (``.ci/run`` sets it): there they fail.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import browser
import nbformat
import pytest
from jupyter_core.paths import jupyter_config_path, jupyter_path

from course_lib.learner import workspace

REPO = Path(__file__).resolve().parents[1]
SLUG = "01_why_nonlinearity"
LAB_MENUS = ["File", "Edit", "View", "Run", "Kernel", "Tabs", "Settings", "Help"]
#: Every label nbgrader's plugins can put on screen (menus, commands, tabs, buttons).
NBGRADER_LABELS = {"Nbgrader", "Assignment List", "Assignments", "Course List", "Courses",
                   "Formgrader", "Formgrader (local)", "Create assignment",
                   "Create Assignment", "Validate"}
#: No update check on a closed network.
QUIET = "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"


@pytest.fixture(scope="module")
def chromium() -> str:
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright's Python package is missing: pip install playwright"
    path = browser.chromium_path()
    if reason is None and path is None:
        reason = browser.MISSING_CHROMIUM
    if reason is not None:
        if os.environ.get("COURSE_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def report(capsys, title: str, lines: list[str]) -> None:
    """Print past pytest's capture, so timings and screenshot paths show in every run."""
    with capsys.disabled():
        print(f"\n[browser] {title}")
        for line in lines:
            print(f"[browser]   {line}")


def _code_index(notebook, grade_id: str) -> int:
    """Index among the code cells (the harness counts those) of the cell ``grade_id``."""
    codes = [c for c in notebook.cells if c.cell_type == "code"]
    return next(i for i, c in enumerate(codes)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _solution(grade_id: str) -> str:
    solution = nbformat.read(REPO / "solutions" / SLUG / f"{SLUG}.ipynb", as_version=4)
    cell = next(c for c in solution.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return re.sub(r"\s*### (BEGIN|END) SOLUTION", "", cell.source)


def test_a_learner_starts_the_course_and_checks_an_exercise(chromium, tmp_path, capsys):
    home = tmp_path / "workspace"
    argv = [sys.executable, "-m", "course_lib", "start", str(home), "--", "--no-browser",
            "--ip=127.0.0.1", "--port={port}", "--ServerApp.port_retries=0",
            "--IdentityProvider.token={token}", QUIET]
    with browser.jupyterlab(tmp_path, argv) as lab, \
            browser.browser_page(tmp_path / "screenshots", chromium=chromium) as page:
        assert "copied 01_why_nonlinearity.ipynb" in lab.log
        started = time.monotonic()
        browser.open_lab(page, lab)
        menus = browser.menu_titles(page)
        left, right = browser.sidebar_tabs(page, "left"), browser.sidebar_tabs(page, "right")
        path = f"{SLUG}/{SLUG}.ipynb"
        released = nbformat.read(home / path, as_version=4)
        notebook = browser.open_notebook(page, lab, path)
        ready = time.monotonic() - started
        toolbar = browser.toolbar_items(notebook)
        shown = NBGRADER_LABELS & {*menus, *left, *right, *toolbar}
        assert not shown, f"nbgrader's instructor UI is shown to a learner: {sorted(shown)}"
        assert [title for title in LAB_MENUS if title not in menus] == []
        assert browser.palette_commands(page, "nbgrader") == []

        browser.run_cell(notebook, 0)  # the imports
        test = _code_index(released, "test_collapse_linear")
        answer = _code_index(released, "collapse_linear")
        browser.run_cell(notebook, answer)  # the released stub
        failed = browser.run_cell(notebook, test)
        browser.screenshot(page, "not-written-yet")
        assert failed.startswith("CheckFailure: collapse_linear failed on case 1"), failed
        assert "is not written yet (it raises NotImplementedError)" in failed, failed
        assert "Traceback" not in failed and "course_lib/checks" not in failed, failed
        assert len(failed.strip().splitlines()) <= 6, failed

        browser.set_cell_source(notebook, answer, _solution("collapse_linear"))
        browser.run_cell(notebook, answer)
        passed = browser.run_cell(notebook, test)
        browser.screenshot(page, "passed")
        assert passed.startswith("✔ collapse_linear: all "), passed
        browser.save_notebook(notebook)
    saved = nbformat.read(home / path, as_version=4)
    assert "raise NotImplementedError()" not in saved.cells[
        [i for i, c in enumerate(saved.cells) if c.cell_type == "code"][answer]].source
    report(capsys, "course start, notebook 01", [
        f"server answering: {lab.startup_s:.1f} s; lab and notebook ready: {ready:.1f} s",
        f"menus: {menus}", f"left side bar: {left}", f"right side bar: {right}",
        f"the unwritten exercise said: {failed.strip()}", f"then: {passed.strip()}",
        *(f"screenshot: {shot}" for shot in browser.screenshots(page))])


def test_without_course_start_nbgraders_instructor_ui_is_there(chromium, tmp_path, capsys):
    """The threat ``course start`` removes: plain JupyterLab in this environment shows
    Formgrader and Create Assignment, one click from regenerating a learner's notebook."""
    packages = [Path(directory, "@jupyter", "nbgrader") for directory in jupyter_path(
        "labextensions") if Path(directory, "@jupyter", "nbgrader", "package.json").is_file()]
    assert packages, "nbgrader's JupyterLab extension is not installed"
    bundle = "".join(p.read_text() for p in (packages[0] / "static").glob("*.js"))
    plugins = set(re.findall(r'id:"(@jupyter/nbgrader:[\w-]+)"', bundle))
    plugins |= set(re.findall(r'="(@jupyter/nbgrader:[\w-]+)",\w+=\{', bundle))
    assert plugins == set(workspace.NBGRADER_LAB_PLUGINS), "a new nbgrader plugin to disable"
    enabled = {}
    for directory in jupyter_config_path():
        config = Path(directory, "jupyter_server_config.d", "nbgrader.json")
        if config.is_file():
            enabled.update(json.loads(config.read_text())["ServerApp"]["jpserver_extensions"])
    assert set(enabled) == set(workspace.NBGRADER_SERVER_EXTENSIONS)

    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]),
                   tmp_path / "plain.ipynb")
    with browser.jupyterlab(tmp_path) as lab, \
            browser.browser_page(tmp_path / "screenshots", chromium=chromium) as page:
        notebook = browser.open_notebook(page, lab, "plain.ipynb")
        menus = browser.menu_titles(page)
        assert "Nbgrader" in menus, menus
        assert "Formgrader" in browser.menu_items(page, "Nbgrader")
        assert "Create Assignment" in browser.sidebar_tabs(page, "right")
        assert "Validate" in browser.toolbar_items(notebook)
        browser.screenshot(page, "nbgrader-visible")
    report(capsys, "plain JupyterLab", [f"menus: {menus}",
                                        *(f"screenshot: {p}" for p in browser.screenshots(page))])
