"""A tiny course for the grading tests: one assignment, two exercises, seconds to grade.

``make_course(tmp_path)`` writes a course directory shaped like the real one
(``solutions/`` is nbgrader's source, ``notebooks/`` its release) whose single
assignment ``00_tiny`` asks for ``double(x)`` (1 point) and ``square(x)``
(2 points). Its checks live beside the notebook in ``tiny_checks.py`` and use the
real :class:`course_lib.checks.core.Checker`; under ``course grade`` the grader runs them
from the course's source folder, outside the notebook, as it runs ``course_lib.checks``.
``SAMPLES`` is the assignment's sample-submission spec in the format of
``course_lib/samples/README.md``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

SLUG = "00_tiny"
REPO = Path(__file__).resolve().parents[1]
POINTS = {"test_double": 1, "test_square": 2}

CONFIG = '''\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "tiny-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.Execute.kernel_name = "python3"
c.Execute.timeout = {timeout}
c.OverwriteCells.add_missing_cells = True
'''

CHECKS = '''\
"""Checks of the tiny assignment, on the course's Checker engine."""

import numpy as np

from course_lib.checks.core import FORBIDDEN_PACKAGES, Checker, Mistake


def reference_double(x):
    return 2 * x


def reference_square(x):
    return x * x


def _cases(checker, seed, thorough):
    checker.case("a small float64 vector", np.array([-1.5, 0.0, 2.0]))
    checker.case("float32 keeps its dtype", np.array([3.0, -4.0], dtype=np.float32))
    if thorough:
        rng = np.random.default_rng(seed)
        checker.case("random (3, 4) matrix", rng.normal(size=(3, 4)))
        checker.case("large values", rng.uniform(-1e4, 1e4, size=5))
    checker.done()


def check_double(double, seed=0, thorough=False):
    _cases(Checker("double", double, reference_double,
                   forbidden=(*FORBIDDEN_PACKAGES, "tiny_checks")), seed, thorough)


SQUARE_MISTAKES = [Mistake("square returns 2|x|", lambda x: np.abs(x) * 2,
                           "x squared is x * x, not 2 * |x|")]


def check_square(square, seed=0, thorough=False):
    _cases(Checker("square", square, reference_square, mistakes=SQUARE_MISTAKES,
                   forbidden=(*FORBIDDEN_PACKAGES, "tiny_checks")), seed, thorough)
'''


def _answer(name: str, body: str) -> nbformat.NotebookNode:
    source = (f"def {name}(x):\n    \"\"\"Return {body} for an array x (same dtype).\"\"\"\n"
              f"    ### BEGIN SOLUTION\n    return {body}\n    ### END SOLUTION")
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "solution": True, "locked": False, "grade_id": name,
        "schema_version": 3}})


def _test(name: str, seed: int) -> nbformat.NotebookNode:
    source = textwrap.dedent(f"""\
        from tiny_checks import check_{name}
        check_{name}({name})
        ### BEGIN HIDDEN TESTS
        check_{name}({name}, seed={seed}, thorough=True)
        ### END HIDDEN TESTS""")
    grade_id = f"test_{name}"
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": grade_id,
        "points": POINTS[grade_id], "schema_version": 3}})


#: A free-response question's answer cell: graded by hand, worth 1 point.
WRITTEN = "written_why"


def _written() -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(
        "Squaring a number twice the size quadruples it.", metadata={"nbgrader": {
            "grade": True, "solution": True, "locked": False, "grade_id": WRITTEN,
            "points": 1, "schema_version": 3}})


def source_notebook(written: bool = False) -> nbformat.NotebookNode:
    """The tiny assignment; with ``written``, a free-response question at its end."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 00 · Tiny\nTwo warm-up exercises."),
        nbformat.v4.new_code_cell("import numpy as np"),
        _answer("double", "2 * x"),
        _test("double", 11),
        _answer("square", "x * x"),
        _test("square", 12),
    ]
    if written:
        nb.cells += [nbformat.v4.new_markdown_cell("Why does `square(2 * x)` equal "
                                                   "`4 * square(x)`?"), _written()]
    return nb


def make_course(root: Path, *, timeout: int = 10, release: bool = True,
                written: bool = False) -> Path:
    """Write the tiny course into ``root`` (and release it) and return ``root``; with
    ``written``, the assignment ends with a free-response question."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(timeout=timeout))
    folder = root / "solutions" / SLUG
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(written), folder / f"{SLUG}.ipynb")
    (folder / "tiny_checks.py").write_text(CHECKS)
    if release:
        from course_lib.grading.release import release as do_release

        do_release(root)
    return root


SAMPLES = {
    "references": {"double": "tiny_checks.reference_double",
                   "square": "tiny_checks.reference_square"},
    "samples": [
        {
            "student": "bug_square_abs",
            "description": "square returns |x| * 2 (a classic mix-up)",
            "score": 1,
            "fails": ["test_square"],
            "edits": [{"replace": "square", "source":
                       "def square(x):\n    return np.abs(x) * 2"}],
        },
        {
            "student": "hardcoded_double",
            "description": "double returns the visible cases' expected values",
            "score": 2,
            "fails": ["test_double"],
            "edits": [{"replace": "double", "source": textwrap.dedent("""\
                def double(x):
                    known = {(-1.5, 0.0, 2.0): [-3.0, 0.0, 4.0], (3.0, -4.0): [6.0, -8.0]}
                    return np.array(known[tuple(float(v) for v in x)], dtype=x.dtype)""")}],
        },
        {
            "student": "torch_double",
            "description": "double delegates to torch",
            "score": 2,
            "fails": ["test_double"],
            "edits": [{"replace": "double", "source": textwrap.dedent("""\
                import torch
                def double(x):
                    return (torch.from_numpy(x) * 2).numpy()""")}],
        },
    ],
}
