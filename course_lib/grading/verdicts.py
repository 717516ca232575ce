"""Verdicts reached outside the student's interpreter: what ``course grade`` scores.

A test cell of the course is a list of check calls (``check_sigmoid(sigmoid)``, then,
hidden, ``check_sigmoid(sigmoid, seed=2021, thorough=True)``). Under ``course grade`` the
notebook only hands the functions in (:mod:`course_lib.checks.handin`); this module
then, in the grader's own process:

1. reads each test cell's calls from the *course's* source notebook (:func:`test_cells`),
   never from the submission;
2. runs each call with a :class:`~course_lib.grading.replay.RemoteSubject` standing for
   the student's function, pass after pass, having the calls each pass asks for made in
   a sandbox (:func:`judge`);
3. writes the verdicts: the score of every test cell into the submission's gradebook
   rows, and the check's own words into the cell's output, for the feedback
   (:func:`write_verdicts`).

Nothing the notebook did to IPython, nbgrader, NumPy, threads or builtins reaches this
process; what the student's code returned reaches it as data.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.checks.core import CheckFailure
from course_lib.checks.recorder import Request
from course_lib.errors import CourseError
from course_lib.grading.replay import Pending, RemoteSubject, Session

#: Passes a check may take before the grader gives up on it (two are the rule).
MAX_PASSES = 6


class TestCellError(CourseError):
    """A test cell holds something the grader cannot run outside the notebook."""

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class CheckCall:
    """One check call of a test cell: ``check(student's object, **kwargs)``.

    Args:
        module: where ``check`` is imported from (``course_lib.checks``, or a module
            beside the notebook in the course's source folder, e.g. ``tiny_checks``).
        check: e.g. ``"check_sigmoid"``.
        argument: the notebook name passed to it, e.g. ``"sigmoid"``.
        kwargs: literal keyword arguments, e.g. ``(("seed", 2021), ("thorough", True))``.
    """

    module: str
    check: str
    argument: str
    kwargs: tuple[tuple[str, Any], ...] = ()


# ------------------------------------------------------------------ reading test cells


def _literal(node: ast.expr, where: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise TestCellError(f"{where}: check arguments must be literals, got "
                            f"{ast.unparse(node)!r}") from None


def check_calls(source: str, where: str) -> list[CheckCall]:
    """The check calls of one test cell's source, in order.

    A test cell may hold only ``from <module> import check_<name>, ...`` and calls
    ``check_<name>(<name>, seed=<int>, thorough=<bool>)``; comments (the hidden-test
    markers) are ignored.

    Raises:
        TestCellError: anything else, naming the cell (``where``) and the line.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise TestCellError(f"{where}: not valid Python ({error.msg}, line {error.lineno})"
                            ) from None
    imported: dict[str, str] = {}
    calls = []
    for statement in tree.body:
        line = f"{where}, line {statement.lineno}"
        if isinstance(statement, ast.ImportFrom) and statement.module and all(
                alias.name.startswith("check_") and alias.asname is None
                for alias in statement.names):
            imported.update({alias.name: statement.module for alias in statement.names})
        elif (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
              and isinstance(statement.value.func, ast.Name)
              and statement.value.func.id in imported
              and len(statement.value.args) == 1
              and isinstance(statement.value.args[0], ast.Name)):
            call = statement.value
            kwargs = tuple((kw.arg, _literal(kw.value, line)) for kw in call.keywords
                           if kw.arg is not None)
            if len(kwargs) != len(call.keywords):
                raise TestCellError(f"{line}: no **kwargs in a check call")
            calls.append(CheckCall(imported[call.func.id], call.func.id, call.args[0].id,
                                   kwargs))
        else:
            raise TestCellError(
                f"{line}: a test cell may only import checks and call them, as "
                f"check_name(name, seed=..., thorough=...); found {ast.unparse(statement)!r}. "
                "The grader runs the checks outside the notebook and needs nothing else.")
    return calls


def test_cells(notebook) -> dict[str, list[CheckCall]]:
    """``{grade_id: [CheckCall]}`` of every autograded test cell of a source notebook.

    Raises:
        TestCellError: a test cell without a check call, or with other code.
    """
    found = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grade_id = meta["grade_id"]
        calls = check_calls(cell.source, f"test cell {grade_id}")
        if not calls:
            raise TestCellError(f"test cell {grade_id}: no check call; the grader scores a "
                                "test cell by its checks")
        found[grade_id] = calls
    return found


test_cells.__test__ = False  # not a pytest test


# ------------------------------------------------------------------ the checks


def resolver(source_folder: Path) -> Callable[[CheckCall], Callable]:
    """Finds the check function of a call: in ``course_lib.checks`` (the grader's full
    edition), or in a module file of the assignment's source folder (the course's copy,
    never the submission's)."""
    loaded: dict[str, Any] = {}

    def resolve(call: CheckCall) -> Callable:
        if call.module not in loaded:
            local = source_folder / f"{call.module.replace('.', '/')}.py"
            if call.module.startswith("course_lib.") or not local.is_file():
                loaded[call.module] = importlib.import_module(call.module)
            else:
                spec = importlib.util.spec_from_file_location(
                    f"_course_checks_{abs(hash(str(local)))}_{call.module}", local)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                loaded[call.module] = module
        try:
            return getattr(loaded[call.module], call.check)
        except AttributeError:
            raise CourseError(f"{call.module} has no {call.check}") from None

    return resolve


@dataclass
class Outcome:
    """One check call's verdict: what the check printed, and its failure if it failed.

    ``hidden``: the call is a hidden test (cases the student has not seen).
    """

    printed: str = ""
    failure: str | None = None
    hidden: bool = False

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass
class CellVerdict:
    """A test cell's verdict: its calls' outcomes up to the first failure."""

    grade_id: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)


def _run_check(check: Callable, call: CheckCall, subject: RemoteSubject) -> Outcome | None:
    """One pass of one check; None if it needs results still to come."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(subject, **dict(call.kwargs))
    except Pending:
        return None
    except (CheckFailure, AssertionError) as failure:
        return Outcome(printed.getvalue(), str(failure) or type(failure).__name__)
    except Exception as error:  # a result the check's arithmetic could not take
        return Outcome(printed.getvalue(), f"{call.argument}: the check could not judge what "
                       f"your code returned ({type(error).__name__}: {error})")
    return Outcome(printed.getvalue())


def _judge_cell(grade_id: str, calls: list[CheckCall], resolve: Callable,
                session: Session) -> CellVerdict | None:
    """One pass over a cell's calls; None if some result is still to come."""
    verdict = CellVerdict(grade_id)
    for index, call in enumerate(calls):
        subject = RemoteSubject(session, f"{grade_id}/{index}")
        outcome = _run_check(resolve(call), call, subject)
        if outcome is None or subject.guessed:
            return None
        outcome.hidden = dict(call.kwargs).get("thorough", False) is True
        verdict.outcomes.append(outcome)
        if not outcome.passed:
            break
    return verdict


def judge(cells: dict[str, list[CheckCall]], resolve: Callable[[CheckCall], Callable],
          session: Session, record: Callable[[list[Request]], None], *,
          max_passes: int = MAX_PASSES) -> dict[str, CellVerdict]:
    """Every test cell's verdict (see the module's docstring).

    Args:
        cells: from :func:`test_cells`.
        resolve: from :func:`resolver`.
        session: the submission's hand-ins and recorded answers.
        record: makes the requested calls in a sandbox and puts the answers into
            ``session`` (:meth:`Session.take`).
        max_passes: a cell still waiting for results after this many fails.
    """
    verdicts: dict[str, CellVerdict] = {}
    waiting = list(cells)
    for _ in range(max_passes):
        session.pending = {}
        for grade_id in waiting:
            verdict = _judge_cell(grade_id, cells[grade_id], resolve, session)
            if verdict is not None:
                verdicts[grade_id] = verdict
        waiting = [g for g in waiting if g not in verdicts]
        if not waiting:
            break
        record(list(session.pending.values()))
    for grade_id in waiting:
        verdicts[grade_id] = CellVerdict(grade_id, [Outcome(failure=(
            f"{grade_id}: the grader could not finish: your code's results kept leading the "
            f"check to new calls after {max_passes} rounds (does it return different results "
            "for the same input?)"))])
    return verdicts


# ------------------------------------------------------------------ writing them

#: How a check names a classic mistake it recognised, in each of its phrasings.
_MISTAKE = re.compile(r"(?:this is a known mistake|matches a known mistake): (.+)$"
                      r"|; it matches (.+)$", re.MULTILINE)


def summary(verdict: CellVerdict) -> dict:
    """A test cell's verdict as data for the class report: passed, hidden, the failure's
    first lines and the classic mistake it names (None if none)."""
    failed = next((o for o in verdict.outcomes if not o.passed), None)
    message = "\n".join(failed.failure.splitlines()[:6]) if failed else ""
    found = _MISTAKE.search(failed.failure) if failed else None
    mistake = next((group for group in found.groups() if group), None) if found else None
    return {"passed": verdict.passed, "hidden": bool(failed and failed.hidden),
            "message": message, "mistake": mistake}



def verdict_outputs(verdict: CellVerdict) -> list[dict]:
    """The test cell's new outputs: the checks' lines, then the failure as an error."""
    printed = "".join(o.printed for o in verdict.outcomes)
    outputs = [{"output_type": "stream", "name": "stdout", "text": printed}] if printed else []
    failed = next((o for o in verdict.outcomes if not o.passed), None)
    if failed is not None:
        lines = failed.failure.splitlines() or [""]
        if failed.hidden:  # say so: the student will not find these cases in the notebook
            lines = [f"hidden test: {lines[0]}", *lines[1:],
                     "  (a hidden test: cases you have not seen, checked when graded)"]
        # evalue holds the whole message, as a raised CheckFailure's does: the feedback
        # shows "ename: evalue" (course_lib.grading.feedback.HideTracebacks)
        outputs.append({"output_type": "error", "ename": "CheckFailure",
                        "evalue": "\n".join(lines),
                        "traceback": [f"\x1b[0;31mCheckFailure\x1b[0m: {lines[0]}",
                                      *lines[1:]]})
    return outputs


def write_verdicts(verdicts: dict[str, CellVerdict], notebook_path: Path, db_url: str,
                   slug: str, student: str, course_id: str) -> None:
    """Put the verdicts into the autograded notebook's test cells and into the gradebook.

    A test cell scores its points if every check call in it passed, else 0; the
    notebook's own run of the cell (which only handed the function in) counts for
    nothing.
    """
    import nbformat
    from nbgrader.api import Gradebook

    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in verdicts:
            cell.outputs = [nbformat.from_dict(o) for o in verdict_outputs(verdicts[grade_id])]
    mode = notebook_path.stat().st_mode
    notebook_path.chmod(mode | 0o200)  # nbgrader leaves it read-only (444)
    nbformat.write(notebook, notebook_path)
    notebook_path.chmod(mode)
    with Gradebook(db_url, course_id) as gradebook:
        for grade_id, verdict in verdicts.items():
            grade = gradebook.find_grade(grade_id, notebook_path.stem, slug, student)
            grade.auto_score = float(grade.max_score) if verdict.passed else 0.0
            grade.needs_manual_grade = False
        gradebook.db.commit()


def reassess_late_penalty(config, notebook_path: Path, db_url: str, slug: str,
                          student: str) -> None:
    """Run nbgrader's late-penalty step again, on the scores the verdicts set (its run
    during autograde saw the notebook's own, meaningless, test-cell results)."""
    import nbformat
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {"nbgrader": {"notebook": notebook_path.stem, "assignment": slug,
                              "student": student, "db_url": db_url}}
    AssignLatePenalties(config=config).preprocess(
        nbformat.read(notebook_path, as_version=4), resources)


def error_lines(notebook_path: Path, verdict_ids: set[str]) -> dict[str, str]:
    """``{grade_id: "ErrorName: message"}`` of the test cells whose run in the notebook
    ended in an error other than the hand-in (why a check may have nothing to judge)."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    found = {}
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id not in verdict_ids:
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") != "HandedIn":
                found[grade_id] = f"{output.get('ename')}: {output.get('evalue')}"[:300]
    return found
