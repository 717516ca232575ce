"""Release: regenerate the student notebooks from the source notebooks.

``course release`` is ``nbgrader generate_assignment --force`` for each assignment:
nbgrader replaces solutions with stubs, removes hidden tests and outputs, records
the checksums of the graded cells in the gradebook, and writes
``<release>/<slug>/<slug>.ipynb`` (``notebooks/`` in this course).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.grading.course import nbgrader_api, resolve_slugs, source_dir
from course_lib.notebook_files import read_notebook


def check_sources(root: Path, slug: str) -> None:
    """Raise a one-line error if a source notebook of ``slug`` is malformed, or has a
    test cell ``course grade`` could not judge outside the notebook."""
    from course_lib.grading.verdicts import test_cells

    for path in sorted((source_dir(root) / slug).glob("*.ipynb")):
        notebook = read_notebook(path)
        try:
            test_cells(notebook)
        except CourseError as error:
            raise CourseError(f"{path}: {error}") from None


def release(root: Path, slugs: Sequence[str] | None = None) -> list[str]:
    """Generate the released version of each assignment (all of them by default).

    Args:
        root: the course directory.
        slugs: assignments to release; all assignments of the source directory if empty.

    Returns:
        The assignments released.

    Raises:
        CourseError: unknown slug, malformed source notebook, or nbgrader failed.
    """
    chosen = resolve_slugs(root, slugs)
    api = nbgrader_api(root)
    for slug in chosen:
        check_sources(root, slug)
        result = api.generate_assignment(slug, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"nbgrader generate_assignment {slug} failed: "
                              f"{last_error_line(result)}")
    return chosen


def stale_cells(root: Path, slug: str) -> list[str]:
    """Graded cells of ``slug`` whose source differs from what the gradebook recorded at
    its last release: autograde would restore (and grade with) the old version."""
    from course_lib.grading import gradebook

    current = {}
    for path in sorted((source_dir(root) / slug).glob("*.ipynb")):
        for cell in read_notebook(path).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            # An answer cell (code or a free-response answer) is released as a stub: its
            # source is the model answer, which grading never uses.
            if (meta.get("grade") or meta.get("locked")) and not meta.get("solution"):
                current[path.stem, meta["grade_id"]] = cell.source
    stale = []
    with gradebook.opened(gradebook.db_url(root), gradebook.course_id(root)) as gb:
        recorded = {(nb.name, cell.name): cell.source
                    for nb in gb.find_assignment(slug).notebooks for cell in nb.source_cells}
    for key, source in current.items():
        if key in recorded and recorded[key] != source:
            stale.append(key[1])
    return stale


def require_released(root: Path, slugs: Sequence[str]) -> None:
    """Raise a one-line error if a test in ``solutions/`` changed after its release.

    Raises:
        CourseError: naming the assignment, the cells and ``course release``.
    """
    for slug in slugs:
        stale = stale_cells(root, slug)
        if stale:
            raise CourseError(f"{slug}: {', '.join(stale[:3])} changed in the source after "
                              f"the last `course release`; run `course release {slug}` so "
                              "grading uses the tests you see")


def last_error_line(result: dict) -> str:
    """The most telling line of a failed nbgrader API result."""
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("[ERROR]") and "Traceback" not in line]
    if errors:
        return errors[0].removeprefix("[ERROR]").strip()
    return lines[-1] if lines else "no details"
