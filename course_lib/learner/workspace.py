"""``course start [DIR]``: the learner's own copy of the notebooks, opened in JupyterLab.

The released notebooks are copied into a workspace of the learner's (default
``~/activations-course``), outside the course directory and the installed package:

* a notebook is copied once; a later ``course start`` never overwrites one the learner
  has changed. A manifest (``.course-workspace.json``) keeps the SHA-256 of each copy, so
  a newer release replaces a copy only while it is still untouched, and otherwise lands
  beside it as ``<slug>.new-release.ipynb``, with a message saying so;
* JupyterLab starts there with nbgrader's instructor-side interface switched off
  (Formgrader, Create Assignment, the course and assignment lists, Validate): a learner's
  click in Formgrader once regenerated a released notebook over the learner's answers.
  The switch is a Jupyter config folder on ``JUPYTER_CONFIG_PATH`` for this launch only;
  the learner's own Jupyter settings are left alone. ``course check`` does what
  Validate would, as the grader does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import course_lib
from course_lib.errors import CourseError
from course_lib.learner import released

#: Where ``course start`` puts the workspace when no folder is named.
DEFAULT_WORKSPACE = Path("~/activations-course")
MANIFEST = ".course-workspace.json"
#: The config folder of the launch, inside the workspace (hidden from JupyterLab's browser).
CONFIG_FOLDER = ".jupyter-course"
#: nbgrader 0.9's JupyterLab plugins (``@jupyter/nbgrader``) and what each shows by default.
NBGRADER_LAB_PLUGINS = {
    "@jupyter/nbgrader:menu": 'top menu "Nbgrader" (Assignment List, Course List, '
    "Formgrader, Create assignment) and the same commands in the palette",
    "@jupyter/nbgrader:formgrader": 'command "Formgrader", main-area tab "Formgrader"',
    "@jupyter/nbgrader:assignment-list": 'command "Assignment List", tab "Assignments"',
    "@jupyter/nbgrader:course-list": 'command "Course List", tab "Courses"',
    "@jupyter/nbgrader:create-assignment": 'right side-bar panel "Create Assignment"',
    "@jupyter/nbgrader:validate-assignment": 'notebook toolbar button "Validate"',
}
#: nbgrader's Jupyter server extensions, enabled by its ``jupyter_server_config.d``.
NBGRADER_SERVER_EXTENSIONS = tuple(f"nbgrader.server_extensions.{name}" for name in (
    "formgrader", "assignment_list", "course_list", "validate_assignment"))
#: JupyterLab's news pop-up: a question a learner need not answer to start.
ANNOUNCEMENTS_PLUGIN = "@jupyterlab/apputils-extension:announcements"


@dataclass
class Copied:
    """What :func:`prepare` did to each notebook of the workspace."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    new_release_beside: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        said = [f"copied {name}" for name in self.created]
        said += [f"updated {name} to the new release (you had not changed it)"
                 for name in self.updated]
        said += [f"kept your {name}; the new release is beside it as {name.replace('.ipynb', '')}"
                 ".new-release.ipynb" for name in self.new_release_beside]
        return said


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def check_location(workspace: Path) -> None:
    """Refuse a workspace inside the installed package or the course's repository.

    Raises:
        CourseError: the folder is one the instructor's tools regenerate.
    """
    package = Path(course_lib.__file__).resolve().parent
    for folder, what in ((package, "the installed course_lib package"),
                         (package.parent / "notebooks", "the course's released notebooks"),
                         (package.parent / "solutions", "the course's solutions")):
        if _inside(workspace, folder):
            raise CourseError(f"{workspace} is inside {what} ({folder}), which the course's "
                              "tools regenerate; choose a folder of your own, e.g. "
                              f"`course start {DEFAULT_WORKSPACE}`")


def release_notebooks() -> dict[str, Path]:
    """``{slug: released notebook}`` of this installation.

    Raises:
        CourseError: none is installed (neither the package's copies nor a repository's).
    """
    found = {slug: path for slug in course_lib.SLUGS if (path := released.find(slug))}
    if not found:
        raise CourseError("no released notebooks found in "
                          f"{' or '.join(map(str, released.folders()))}; reinstall the course")
    return found


def prepare(workspace: Path) -> Copied:
    """Copy the released notebooks into ``workspace``; never overwrite a changed one."""
    workspace = workspace.expanduser().resolve()
    check_location(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    done = Copied()
    for slug, source in release_notebooks().items():
        name = f"{slug}.ipynb"
        target = workspace / slug / name
        release_hash = _sha256(source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            done.created.append(name)
        elif manifest.get(name) == release_hash or _sha256(target) == release_hash:
            done.kept.append(name)
        elif _sha256(target) == manifest.get(name):  # untouched copy of an older release
            shutil.copyfile(source, target)
            done.updated.append(name)
        else:
            shutil.copyfile(source, target.with_name(f"{slug}.new-release.ipynb"))
            done.new_release_beside.append(name)
            continue  # the manifest keeps the hash of what the learner started from
        manifest[name] = release_hash
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return done


def write_learner_config(folder: Path) -> Path:
    """A Jupyter config folder that switches off nbgrader's instructor interface.

    ``labconfig/page_config.json`` disables nbgrader's JupyterLab plugins (and
    JupyterLab's news pop-up), ``jupyter_server_config.json`` nbgrader's server
    extensions. Put ``folder`` first on ``JUPYTER_CONFIG_PATH``: both files merge with the
    other config (jupyter_server merges ``jpserver_extensions`` with the ones it finds in
    ``jupyter_server_config.d``), so nothing else changes.
    """
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    disabled = dict.fromkeys([*NBGRADER_LAB_PLUGINS, ANNOUNCEMENTS_PLUGIN], True)
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": disabled}, indent=1) + "\n")
    (folder / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": dict.fromkeys(NBGRADER_SERVER_EXTENSIONS,
                                                             False)}}, indent=1) + "\n")
    return folder


def lab_command(workspace: Path, extra: Sequence[str] = ()) -> tuple[list[str], dict[str, str]]:
    """The command and environment that open JupyterLab on ``workspace`` for a learner."""
    config = write_learner_config(workspace / CONFIG_FOLDER)
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        filter(None, [str(config), env.get("JUPYTER_CONFIG_PATH")]))
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={workspace}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # e.g. a learner's container: JupyterLab refuses root
    return [*command, *extra], env


def start(workspace: Path | None = None, *, open_lab: bool = True,
          lab_args: Sequence[str] = ()) -> int:
    """Prepare the workspace, say what changed, and run JupyterLab on it until it stops."""
    workspace = (workspace or DEFAULT_WORKSPACE).expanduser().resolve()
    done = prepare(workspace)
    for line in done.lines():
        print(line)
    print(f"your workspace: {workspace}")
    if not open_lab:
        return 0
    command, env = lab_command(workspace, lab_args)
    return subprocess.call(command, env=env, cwd=workspace)
