"""Feedback for students without the hidden tests' source.

nbgrader's autograded notebook holds each test cell as the instructor wrote it,
hidden tests included, and IPython's tracebacks quote the failing line. The
feedback students get therefore runs two extra preprocessors after nbgrader's
own :class:`~nbgrader.preprocessors.GetGrades`: nbgrader's
:class:`~nbgrader.preprocessors.ClearHiddenTests` removes the
``### BEGIN HIDDEN TESTS`` region from every test cell, and
:class:`HideTracebacks` shortens the error of a test cell to its last line
(``CheckFailure: sigmoid failed on case 3: ...``), which says what went wrong
without quoting code.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

#: ``GenerateFeedback.preprocessors`` for the course (also in the repo's nbgrader_config.py).
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "course_lib.grading.feedback.HideTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


class HideTracebacks(NbGraderPreprocessor):
    """Replace the traceback of a failed test cell by its ``ename: evalue`` line."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


def problem_page(path: Path, slug: str, student: str, note: str, score: float,
                 max_score: float) -> Path:
    """Write a feedback page for a submission nbgrader could not turn into feedback (a
    missing, corrupt or wrong notebook, a kernel that died): what happened and the score."""
    import html

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(slug)}: "
        f"feedback</title></head><body style='font-family:system-ui,sans-serif;margin:2em'>"
        f"<h1>{html.escape(slug)}: feedback for {html.escape(student)}</h1>"
        f"<p><b>Score: {score:g} / {max_score:g}</b></p>"
        f"<p>Your submission could not be graded as a whole:</p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(note)}</pre>"
        f"<p>Ask your instructor if this is not what you handed in.</p></body></html>",
        encoding="utf-8")
    return path
