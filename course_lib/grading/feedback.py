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
