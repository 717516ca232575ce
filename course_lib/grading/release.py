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


def last_error_line(result: dict) -> str:
    """The most telling line of a failed nbgrader API result."""
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("[ERROR]") and "Traceback" not in line]
    if errors:
        return errors[0].removeprefix("[ERROR]").strip()
    return lines[-1] if lines else "no details"
