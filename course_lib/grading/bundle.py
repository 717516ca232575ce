"""``course bundle OUT_DIR``: the student distribution of a graded class.

``OUT_DIR`` gets what a student needs and nothing of the answer key:

* ``notebooks/<slug>/<slug>.ipynb``: the released notebooks;
* ``course_lib-<version>+student-py3-none-any.whl``: the student edition of course_lib
  (:mod:`course_lib.grading.student_edition`): no references, no hidden tests, no grading
  code; visible checks answered from stored data;
* ``README.md``: how to install and start, for students;
* ``<OUT_DIR>.zip`` beside it: all of the above in one file, to upload to an LMS.

The wheel is built with setuptools' own PEP 517 backend, in this process (no download).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import course_lib
from course_lib.errors import CourseError
from course_lib.grading.course import release_dir
from course_lib.grading.student_edition import record_answers, write_package
from course_lib.notebook_files import read_notebook


@dataclass
class Bundle:
    """What :func:`bundle` wrote, and how long it took."""

    folder: Path
    wheel: Path
    archive: Path
    answers: int
    seconds: float


def _released(root: Path) -> dict[str, Path]:
    folder = release_dir(root)
    found = {slug: folder / slug / f"{slug}.ipynb" for slug in course_lib.SLUGS}
    missing = [str(path) for path in found.values() if not path.is_file()]
    if missing:
        raise CourseError(f"released notebooks missing ({', '.join(missing)}); run "
                          "`course release` first")
    return found


def _requirements() -> list[str]:
    """The package's own dependencies (not its extras), as installed."""
    try:
        requires = metadata.requires("course-lib") or []
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        raise CourseError("course_lib is not installed; pip install -e . first") from None
    return [r for r in requires if "extra ==" not in r]


def _pyproject(version: str) -> str:
    dependencies = "".join(f'    "{r}",\n' for r in _requirements())
    return f'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "course-lib"
version = "{version}+student"
description = "Student edition of the Activations & Normalization course's companion package."
requires-python = ">=3.10"
license = "MIT"
dependencies = [
{dependencies}]

[project.scripts]
course = "course_lib.cli:main"

[tool.setuptools.packages.find]
include = ["course_lib*"]

[tool.setuptools.package-data]
course_lib = ["notebooks/*.ipynb", "checks/answers_data/*", "py.typed"]
'''


@contextmanager
def _working_directory(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def build_wheel(project: Path, out: Path) -> Path:
    """Build ``project`` (a folder with a pyproject.toml) into a wheel in ``out``.

    setuptools' log goes to a buffer, shown only if the build fails.
    """
    import contextlib
    import io

    from setuptools import build_meta

    out.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    try:
        with _working_directory(project), contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            name = build_meta.build_wheel(str(out.resolve()))
    except Exception as error:
        raise CourseError(f"building the student wheel failed ({error}); setuptools said: "
                          f"{log.getvalue()[-800:]}") from None
    return out / name


def student_readme(version: str, wheel: str) -> str:
    """The README of the student distribution."""
    return f"""# Activations & Normalization: your course files

Six Jupyter notebooks on why deep networks need nonlinearity and normalization, and the
course's helper package (student edition {version}) that checks your exercises.

## Set up (once)

Make a virtual environment (Debian and Ubuntu refuse a system-wide pip install; their
interpreter is `python3`), install a CPU-only PyTorch first (a plain `pip install torch`
takes the multi-GB CUDA build on Linux; PyTorch's "Get started" page gives the CPU
command), then the course package from this folder:

```bash
python3 -m venv .venv && . .venv/bin/activate
pip install "torch==2.13.0"   # with the CPU index option from PyTorch's page
pip install {wheel}
course data mnist
```

## Work

```bash
course start
```

copies the notebooks into your own folder (`~/activations-course`; name another one with
`course start DIR`) and opens JupyterLab there. It copies each notebook only once and
never overwrites one you have changed. Each exercise has a test cell: run it to check
your answer. To check a whole notebook as the grader will:

```bash
course check ~/activations-course/02_sigmoid_saturation/02_sigmoid_saturation.ipynb
```

Each notebook ends with a short written question ("In your own words"): a TA grades it
by hand, so `course check` only says whether you have answered it.

Submit the notebooks from your folder as your instructor asks. The grader runs more
cases than the test cells show, so test your functions beyond them.

MNIST: Yann LeCun, Corinna Cortes and Christopher J. C. Burges, CC BY-SA 3.0.
"""


def bundle(root: Path, out: Path) -> Bundle:
    """Write the student distribution of the course at ``root`` into ``out``.

    Raises:
        CourseError: ``out`` exists and is not empty, or notebooks are not released.
    """
    start = time.perf_counter()
    out = out.expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        raise CourseError(f"{out} exists and is not empty; name a new folder")
    released = _released(root)
    store = record_answers({slug: read_notebook(path) for slug, path in released.items()})
    with tempfile.TemporaryDirectory(prefix="course-bundle-") as staging:
        project = Path(staging)
        write_package(project, store, released)
        (project / "pyproject.toml").write_text(_pyproject(course_lib.__version__))
        wheel = build_wheel(project, out)
    for slug, path in released.items():
        (out / "notebooks" / slug).mkdir(parents=True)
        shutil.copyfile(path, out / "notebooks" / slug / path.name)
    (out / "README.md").write_text(student_readme(course_lib.__version__, wheel.name))
    archive = Path(shutil.make_archive(str(out), "zip", root_dir=out))
    return Bundle(out, wheel, archive, len(store), time.perf_counter() - start)
