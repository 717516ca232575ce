"""The package's layout is the course's: references apart from the lab and the grading.

The student edition leaves :mod:`course_lib.reference` and :mod:`course_lib.grading` out,
so the lab and the notebooks' experiments must never need them, and the references must
stand alone. Imports are read with the standard library's ``ast``, not by running code.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import course_lib

ROOT = Path(course_lib.__file__).resolve().parent
REPO = ROOT.parent


def imports_of(path: Path) -> set[str]:
    """The ``course_lib`` modules a file imports (``from course_lib.x import y`` gives ``x``
    and ``x.y``: ``y`` may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name == "course_lib" or name.startswith("course_lib.")}


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


#: What each part may import from course_lib (besides itself and the package root).
ALLOWED = {
    "reference": ("course_lib._validate", "course_lib.reference"),
    "lab": ("course_lib._validate", "course_lib.lab", "course_lib.data", "course_lib.fetch"),
    "checks": ("course_lib._validate", "course_lib.checks", "course_lib.reference",
               "course_lib.lab"),
}


@pytest.mark.parametrize("package", list(ALLOWED))
def test_each_part_imports_only_what_its_edition_has(package):
    offenders = {}
    for path in package_files(package):
        bad = sorted(name for name in imports_of(path) - {"course_lib"}
                     if not _allowed(name, ALLOWED[package]))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert not offenders, f"{package}/ reaches outside its edition: {offenders}"


def test_the_import_reader_sees_every_form():
    source = ("import course_lib.lab.models\nfrom course_lib.reference import norms\n"
              "from course_lib import grading\nfrom . import sibling\nimport numpy\n"
              "def f():\n    from course_lib.grading.grade import grade\n")
    path = Path(__file__).parent / "_layout_probe.tmp"
    path.write_text(source)
    try:
        found = imports_of(path)
    finally:
        path.unlink()
    assert {"course_lib.lab.models", "course_lib.reference", "course_lib.reference.norms",
            "course_lib.grading", "course_lib.grading.grade"} <= found
    assert not _allowed("course_lib.grading.grade", ALLOWED["lab"])


def test_references_import_alone_and_only_lenet_needs_torch():
    modules = [p.stem for p in (ROOT / "reference").glob("*.py") if p.stem != "__init__"]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module('course_lib.reference.' + name)\n"
            "    assert ('torch' in sys.modules) == (name == 'lenet'), name\n"
            "    for other in ('course_lib.lab', 'course_lib.grading', 'course_lib.checks'):\n"
            "        assert other not in sys.modules, (name, other)\n"
            "    for loaded in [m for m in sys.modules if m.startswith(('course_lib', 'torch'))]:\n"
            "        del sys.modules[loaded]\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_exercise_has_a_reference_and_a_check_where_the_map_says():
    import importlib

    import course_lib.checks as checks

    for notebook in course_lib.NOTEBOOKS:
        for exercise in notebook.exercises:
            homes = [m for m in notebook.reference if hasattr(
                importlib.import_module(f"course_lib.reference.{m}"), exercise)]
            assert homes, f"{notebook.slug}: no reference for {exercise} in {notebook.reference}"
            check = "check_lenet5" if exercise == "LeNet5" else f"check_{exercise}"
            assert checks._CHECKS[check] in notebook.checks, (notebook.slug, check)
        for module in notebook.lab:
            assert (ROOT / "lab" / f"{module}.py").is_file() or (ROOT / f"{module}.py").is_file()


def _code_cells(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(cell["source"]) for cell in notebook["cells"]
                     if cell["cell_type"] == "code")


@pytest.mark.parametrize("slug", course_lib.SLUGS)
def test_notebook_experiments_never_call_a_reference(slug):
    """The student edition has no references: its notebooks must run without them."""
    code = _code_cells(REPO / "notebooks" / slug / f"{slug}.ipynb")
    assert not re.search(r"course_lib\.reference|from course_lib import .*reference", code)
    assert "course_lib.grading" not in code


@pytest.mark.parametrize("notebook", course_lib.NOTEBOOKS, ids=lambda n: n.slug)
def test_the_map_lists_the_lab_modules_each_notebook_imports(notebook):
    """The map is how a reader finds an experiment's code: it must not fall behind."""
    code = _code_cells(REPO / "solutions" / notebook.slug / f"{notebook.slug}.ipynb")
    imported = set(re.findall(r"course_lib\.lab\.(\w+)", code))
    for names in re.findall(r"from course_lib\.lab import (\([^)]*\)|[\w, ]+)", code):
        imported |= set(re.findall(r"\w+", names))
    imported.discard("device")  # every notebook's set-up cell; the map lists it where GPU cells are
    assert imported <= set(notebook.lab), f"missing from the map: {imported - set(notebook.lab)}"


def test_the_readme_shows_the_notebook_map():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The notebook map", 1)[1].split("\n## ", 1)[0]
    for notebook in course_lib.NOTEBOOKS:
        rows = [line for line in section.splitlines() if line.startswith(f"| `{notebook.slug}` |")]
        assert len(rows) == 1, f"README: expected one row of the notebook map for {notebook.slug}"
        cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
        columns = (notebook.exercises, notebook.reference, notebook.checks, notebook.lab)
        for cell, names in zip(cells[1:], columns):
            assert cell == ", ".join(f"`{name}`" for name in names), (notebook.slug, cell)
