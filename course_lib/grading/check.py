"""``course check NOTEBOOK``: run a notebook as ``nbgrader validate`` would, and say how it did.

For a learner without any nbgrader set-up: no course directory, no gradebook. The
notebook runs top to bottom with nbgrader's own
:class:`~nbgrader.preprocessors.Execute` preprocessor (``NBGRADER_EXECUTION=validate``,
as ``nbgrader validate`` sets it) in a fresh kernel started in the notebook's
folder, and each test cell is scored with nbgrader's own
:func:`nbgrader.utils.determine_grade` (an error or anything on stderr scores 0).
The notebook file itself is not changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.grading.notebook_files import read_notebook

#: Per-cell limit when no course config says otherwise; generous for a laptop.
DEFAULT_CELL_TIMEOUT = 300


@dataclass
class ExerciseResult:
    """One graded test cell after the run."""

    test: str
    points: float
    score: float
    message: str

    @property
    def passed(self) -> bool:
        return self.score >= self.points


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _message(cell) -> str:
    """What the test cell said: its error, its stderr, or its printed line."""
    for output in cell.outputs:
        if output.output_type == "error":
            return _strip_ansi(f"{output.ename}: {output.evalue}")
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stderr":
            return "wrote to stderr (nbgrader scores that 0): " + output.text.strip()
    printed = [o.text.strip() for o in cell.outputs
               if o.output_type == "stream" and o.text.strip()]
    return printed[-1] if printed else "passed"


@contextmanager
def _kernel_stderr_silenced() -> Iterator[None]:
    """Start the kernel with stderr on /dev/null: its start-up chatter is not for learners.

    Cells' stderr still reaches the notebook (the kernel captures it); only the
    kernel process's own log lines are dropped.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def execute(path: Path, timeout: int = DEFAULT_CELL_TIMEOUT):
    """Run the notebook with nbgrader's Execute preprocessor; return the executed copy."""
    from nbgrader import utils
    from nbgrader.preprocessors import ClearOutput, Execute

    notebook = read_notebook(path)
    notebook, resources = ClearOutput().preprocess(notebook, {})
    executor = Execute(timeout=timeout, kernel_name="python3")
    resources = {"metadata": {"path": str(path.resolve().parent)}}
    try:
        with utils.setenv(NBGRADER_EXECUTION="validate", NBGRADER_VALIDATING="1"), \
                _kernel_stderr_silenced():
            notebook, _ = executor.preprocess(notebook, resources)
    except Exception as error:
        if type(error).__name__ == "DeadKernelError":
            raise CourseError(f"{path}: the kernel died while running the notebook "
                              "(os._exit, a crash or out of memory)") from None
        raise
    return notebook


def results(notebook) -> list[ExerciseResult]:
    """One :class:`ExerciseResult` per autograded test cell, scored as nbgrader does."""
    from nbgrader import utils

    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            continue
        score, points = utils.determine_grade(cell)
        found.append(ExerciseResult(cell.metadata.nbgrader["grade_id"], float(points),
                                    float(score or 0.0), _message(cell)))
    return found


def table(found: list[ExerciseResult]) -> str:
    """The report: one row per exercise, the score, then the full failure messages."""
    rows = [("exercise", "points", "result", "message")]
    rows += [(r.test, f"{r.score:g}/{r.points:g}", "passed" if r.passed else "FAILED",
              r.message.splitlines()[0] if r.message else "") for r in found]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3]
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 7)
    total = sum(r.score for r in found)
    possible = sum(r.points for r in found)
    lines.append(f"\nScore: {total:g} / {possible:g}")
    failures = [r for r in found if not r.passed and "\n" in r.message]
    for r in failures:
        lines.append(f"\n{r.test}:\n{r.message}")
    return "\n".join(lines)


def check(path: str | Path, timeout: int = DEFAULT_CELL_TIMEOUT) -> tuple[str, bool]:
    """Run and score a notebook; return the report and whether everything passed.

    Raises:
        NotebookError: the file is missing or not a valid nbformat-4 notebook.
    """
    path = Path(path)
    found = results(execute(path, timeout))
    if not found:
        return f"{path}: no graded test cells (is this a course notebook?)", False
    return table(found), all(r.passed for r in found)
