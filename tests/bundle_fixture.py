"""The student distribution, built once per test session, and a fresh venv with it installed.

The venv has no pip install of its dependencies: a ``.pth`` line puts this environment's
site-packages after its own, so numpy, torch and JupyterLab come from here while
``course_lib`` comes from the student wheel alone. (A path added by a ``.pth`` line is not
itself scanned for ``.pth`` files, so this environment's editable install of the full
edition does not leak in.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BuiltBundle:
    """A built and installed student distribution, with what it cost."""

    folder: Path
    wheel: Path
    python: Path
    package: Path  # the installed course_lib folder of the venv
    build_seconds: float
    install_seconds: float

    def run(self, code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Run ``code`` with the venv's Python, outside the repository."""
        return subprocess.run([str(self.python), "-c", code], capture_output=True, text=True,
                              cwd=cwd or self.folder, timeout=600)


def build(tmp: Path) -> BuiltBundle:
    from course_lib.grading.bundle import bundle

    start = time.perf_counter()
    made = bundle(REPO, tmp / "bundle")
    built = time.perf_counter()
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "outer_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(made.wheel)], check=True, capture_output=True)
    installed = time.perf_counter()
    return BuiltBundle(made.folder, made.wheel, python, purelib / "course_lib",
                       built - start, installed - built)


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def kernelspec(folder: Path, python: Path, name: str = "student-bundle") -> str:
    """A kernelspec running ``python``'s ipykernel (the venv's), under ``folder/kernels``."""
    spec = folder / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name, "language": "python"}))
    return name


@pytest.fixture(scope="session")
def student_bundle(tmp_path_factory) -> BuiltBundle:
    return build(tmp_path_factory.mktemp("student-bundle"))
