"""Packaging stays coherent: environment.yml mirrors pyproject, the README's commands are
the ones CI runs, and the console script answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch"}
# conda-only entries that have no PyPI counterpart in pyproject.
CONDA_ONLY = {"python", "pip"}


def _split(requirement: str) -> tuple[str, str]:
    """('name', 'specifier') of a PEP 508 / conda requirement, markers and [extras] dropped."""
    requirement = requirement.split(";")[0].split("#")[0].strip()
    match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, f"cannot parse requirement {requirement!r}"
    name = match.group(1).lower().replace("_", "-")
    return name, match.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    pairs = [_split(r) for r in requirements if "python_version" not in r]
    return {CONDA_NAMES.get(name, name): spec for name, spec in pairs}


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"], "the course's conda environment uses conda-forge"
    pip_only = [dep for section in env["dependencies"] if isinstance(section, dict)
                for dep in section["pip"] if not dep.startswith("-e")]
    pairs = [_split(dep) for dep in env["dependencies"] if isinstance(dep, str)]
    return {name: spec for name, spec in pairs + [_split(d) for d in pip_only]
            if name not in CONDA_ONLY}


def test_environment_yml_mirrors_pyproject():
    assert _conda_requirements() == _pyproject_requirements()


def test_environment_yml_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict)]
    assert len(pip_sections) == 1 and pip_sections[0][-1] == "-e ."


def _readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    after = text.split(marker, 1)[1]
    return re.search(r"```bash\n(.+?)\n```", after, re.S).group(1).strip()


def test_ci_runs_the_readme_test_command():
    command = _readme_command("<!-- ci: test command -->")
    script = ROOT / ".ci" / "run"
    extracted = subprocess.run(
        ["awk", '/<!-- ci: test command -->/{found=1; next} found && /^```/{fence++; next} '
         "found && fence==1 {print; exit}", str(ROOT / "README.md")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert extracted == command
    assert "README.md" in script.read_text()
    assert command.endswith("pytest"), "the README's test command ends by running the tests"
    assert 'pip install "torch==' in command, "CI must install the CPU torch pin, not a CUDA build"


def test_console_script_answers_version_and_help():
    from course_lib import __version__

    version = subprocess.run([sys.executable, "-m", "course_lib", "--version"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"course {__version__}"
    help_text = subprocess.run([sys.executable, "-m", "course_lib", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "usage: course" in help_text


def test_package_version_matches_pyproject():
    from course_lib import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
