"""The released notebooks: where they are, and a learner's notebook with its test cells
put back as released.

The student edition ships the released notebooks inside the package
(``course_lib/notebooks/<slug>.ipynb``); the full edition has them in the repository's
``notebooks/<slug>/<slug>.ipynb``. Neither is ever written to.
"""

from __future__ import annotations

import copy
from pathlib import Path

import course_lib

#: Markers only an instructor's notebook has (nbgrader strips them when it releases).
_INSTRUCTOR_MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")


def folders() -> list[Path]:
    """Where released notebooks may be, in order: the package's own copies, the repository's."""
    package = Path(course_lib.__file__).resolve().parent
    return [package / "notebooks", package.parent / "notebooks"]


def find(slug: str) -> Path | None:
    """The released notebook of ``slug``, or None if this installation has none."""
    for folder in folders():
        for candidate in (folder / f"{slug}.ipynb", folder / slug / f"{slug}.ipynb"):
            if candidate.is_file():
                return candidate
    return None


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test(cell) -> bool:
    """A graded test cell (not an answer cell)."""
    meta = _meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def solution_warnings(notebook) -> list[str]:
    """A warning if ``notebook`` is an instructor's version (solutions or hidden tests)."""
    if any(marker in cell.source for cell in notebook.cells for marker in _INSTRUCTOR_MARKERS):
        return ["this is an instructor's notebook (it holds '### BEGIN SOLUTION' or "
                "'### BEGIN HIDDEN TESTS' regions): its hidden tests run too; course check is "
                "meant for a released notebook, e.g. notebooks/<slug>/<slug>.ipynb"]
    return []


def _positions(notebook) -> dict[str, int]:
    """``{grade_id: index}`` of the nbgrader cells of ``notebook``."""
    return {_meta(cell)["grade_id"]: i for i, cell in enumerate(notebook.cells)
            if _meta(cell).get("grade_id")}


def with_released_tests(notebook, released) -> tuple[object, list[str]]:
    """``notebook`` with every test cell as in ``released``, and what had to be put back.

    An edited test cell gets its released source; a deleted one comes back after the
    cell that precedes it in the release (nbgrader's ``OverwriteCells`` and
    ``add_missing_cells``). The learner's notebook object is not modified.
    """
    notebook = copy.deepcopy(notebook)
    warnings = []
    position = _positions(notebook)
    after = -1  # index in ``notebook`` of the last released cell found there
    for cell in released.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in position:
            after = position[grade_id]
            mine = notebook.cells[after]
            if is_test(cell) and mine.source != cell.source:
                mine.source = cell.source
                warnings.append(f"test cell {grade_id} was edited; graded with the released "
                                "version (as the grader does)")
        elif is_test(cell):
            notebook.cells.insert(after + 1, copy.deepcopy(cell))
            after += 1
            position = _positions(notebook)
            warnings.append(f"test cell {grade_id} was deleted; restored from the release "
                            "(as the grader does)")
    return notebook, warnings


def changed_test_cells(notebook) -> list[str]:
    """Warnings for test cells whose source no longer matches nbgrader's checksum, when no
    release is at hand to restore them from."""
    from nbgrader import utils

    warnings = []
    for cell in notebook.cells:
        expected = _meta(cell).get("checksum")
        if is_test(cell) and expected and utils.compute_checksum(cell) != expected:
            warnings.append(f"test cell {_meta(cell)['grade_id']} was edited (its checksum "
                            "changed); the grader uses the released version")
    return warnings
