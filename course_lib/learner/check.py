"""``course check NOTEBOOK``: run a notebook as the grader would, and say how it did.

For a learner without any nbgrader set-up: no course directory, no gradebook. Like the
grader, it

* grades with the **released** test cells: an edited test cell is put back as it was
  released and a deleted one restored (nbgrader's ``OverwriteCells`` with
  ``add_missing_cells``), each with a warning saying so;
* runs the notebook top to bottom with nbgrader's own
  :class:`~nbgrader.preprocessors.Execute` preprocessor (``NBGRADER_EXECUTION=validate``,
  as ``nbgrader validate`` sets it) in a fresh kernel started in the notebook's folder,
  with the course's per-cell time limit (:data:`CELL_TIMEOUT`);
* scores each test cell with nbgrader's :func:`nbgrader.utils.determine_grade` (an
  error or anything on stderr scores 0);
* lists the free-response answers, which a TA grades by hand, and whether each is written.

The notebook file itself is not changed. Given the instructor's solution notebook
(solutions or hidden tests in it), it says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.learner import released
from course_lib.notebook_files import read_notebook

#: The per-cell time limit, in seconds: the course's ``Execute.timeout`` in
#: ``nbgrader_config.py`` (a test keeps the two equal).
CELL_TIMEOUT = 120


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


@dataclass
class WrittenAnswer:
    """A free-response answer cell: graded by a TA, not by the checks."""

    cell: str
    points: float
    written: bool


@dataclass
class Report:
    """What ``course check`` found: a row per exercise, and warnings about the notebook."""

    results: list[ExerciseResult]
    warnings: list[str] = field(default_factory=list)
    written: list[WrittenAnswer] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)


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


def execute(notebook, folder: Path, timeout: int = CELL_TIMEOUT):
    """Run ``notebook`` in ``folder`` with nbgrader's Execute preprocessor; the executed copy."""
    from nbgrader import utils
    from nbgrader.preprocessors import ClearOutput, Execute

    notebook, _ = ClearOutput().preprocess(notebook, {})
    executor = Execute(timeout=timeout, kernel_name="python3")
    resources = {"metadata": {"path": str(folder)}}
    try:
        with utils.setenv(NBGRADER_EXECUTION="validate", NBGRADER_VALIDATING="1"), \
                _kernel_stderr_silenced():
            notebook, _ = executor.preprocess(notebook, resources)
    except Exception as error:
        if type(error).__name__ == "DeadKernelError":
            raise CourseError(f"{folder}: the kernel died while running the notebook "
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


def written_answers(notebook) -> list[WrittenAnswer]:
    """The notebook's free-response answers and whether each holds more than the stub."""
    from nbgrader import utils

    return [WrittenAnswer(cell.metadata.nbgrader["grade_id"],
                          float(cell.metadata.nbgrader.get("points", 0)),
                          cell.source.strip() not in ("", "YOUR ANSWER HERE"))
            for cell in notebook.cells if utils.is_grade(cell) and utils.is_solution(cell)]


def table(report: Report) -> str:
    """The report: warnings, one row per exercise, the score, then the full messages."""
    lines = [f"warning: {warning}" for warning in report.warnings]
    lines += [""] if lines else []
    rows = [("exercise", "points", "result", "message")]
    rows += [(r.test, f"{r.score:g}/{r.points:g}", "passed" if r.passed else "FAILED",
              r.message.splitlines()[0] if r.message else "") for r in report.results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    body = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3]
            for row in rows]
    body.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 7)
    lines += body
    total = sum(r.score for r in report.results)
    possible = sum(r.points for r in report.results)
    lines.append(f"\nScore: {total:g} / {possible:g}")
    for answer in report.written:
        state = "written" if answer.written else "NOT WRITTEN YET"
        lines.append(f"Written answer {answer.cell} ({answer.points:g} points, graded by a "
                     f"TA, not by course check): {state}")
    for r in report.results:
        if not r.passed and "\n" in r.message:
            lines.append(f"\n{r.test}:\n{r.message}")
    return "\n".join(lines)


def check(path: str | Path, timeout: int = CELL_TIMEOUT,
          released_path: str | Path | None = None) -> Report:
    """Run and score a notebook with its released test cells.

    Args:
        path: the learner's notebook.
        timeout: per-cell time limit, in seconds.
        released_path: the released notebook to take the test cells from; by default the
            course's release of a notebook of the same name, if there is one.

    Raises:
        NotebookError: the file is missing or not a valid nbformat-4 notebook.
    """
    path = Path(path)
    notebook = read_notebook(path)
    warnings = released.solution_warnings(notebook)
    source = Path(released_path) if released_path else released.find(path.stem)
    if source is not None:
        notebook, restored = released.with_released_tests(notebook, read_notebook(source))
        warnings += restored
    else:
        warnings += released.changed_test_cells(notebook)
    found = results(execute(notebook, path.resolve().parent, timeout))
    return Report(found, warnings, written_answers(notebook))
