"""What a grading run works on and produces: submissions, outcomes, destinations.

Shared by :mod:`course_lib.grading.grade` (one run) and
:mod:`course_lib.grading.scale.shards` (a run split over machines), so neither imports
the other's internals.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.grading import gradebook
from course_lib.grading.course import load_config, source_dir
from course_lib.grading.scan import suspicious_code
from course_lib.notebook_files import NotebookError, read_notebook


@dataclass
class Submission:
    """One student's submission of one assignment."""

    slug: str
    student: str
    folder: Path
    problem: str = ""
    flags: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """How grading one submission went, with its score and where its time went."""

    slug: str
    student: str
    score: float = 0.0
    max_score: float = 0.0
    error: str = ""
    seconds: float = 0.0
    flags: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    resumed: bool = False
    retry: bool = False
    late: str = ""  # e.g. "late 1 d 2 h (-2 points), extended 1 d"
    timed_out: bool = False
    awaiting_ta: float = 0.0  # points of free-response answers no TA has graded yet


@dataclass
class BatchReport:
    """Everything ``course grade`` did (``csv`` is None for a shard)."""

    outcomes: list[Outcome]
    csv: Path | None
    seconds: float
    slugs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Destination:
    """Where a grading run writes.

    Args:
        url: the gradebook (SQLAlchemy URL) that receives the grades.
        folder: gets ``autograded/``, ``feedback/`` and ``grade_logs/`` (named as in the
            course's config).
        course: the nbgrader course id.
        autograded: name of the autograded directory.
        feedback: name of the feedback directory.
    """

    url: str
    folder: Path
    course: str
    autograded: str = "autograded"
    feedback: str = "feedback"


def feedback_dir(root: Path) -> Path:
    """The course's feedback directory."""
    return root / str(load_config(root).CourseDirectory.get("feedback_directory", "feedback"))


def course_destination(root: Path, folder: Path | None = None, url: str | None = None
                       ) -> Destination:
    """The course's own gradebook and directories (or ``folder``/``url`` instead)."""
    config = load_config(root).CourseDirectory
    return Destination(url or gradebook.db_url(root), folder or root, gradebook.course_id(root),
                       str(config.get("autograded_directory", "autograded")),
                       str(config.get("feedback_directory", "feedback")))


# ------------------------------------------------------------------ discovery


def _dirs(root: Path, trait: str, default: str) -> Path:
    return root / str(load_config(root).CourseDirectory.get(trait, default))


def find_submissions(root: Path, slugs: Sequence[str]) -> list[Submission]:
    """Every submission of ``slugs`` under the submitted directory, in a fixed order.

    Raises:
        CourseError: there is no submitted directory or no submission at all.
    """
    submitted = _dirs(root, "submitted_directory", "submitted")
    if not submitted.is_dir():
        raise CourseError(
            f"no submissions: {submitted} does not exist; put them in nbgrader's layout "
            "submitted/<student>/<assignment>/<notebook>.ipynb (nbgrader zip_collect "
            "builds it from an LMS export)"
        )
    found = []
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
        for slug in slugs:
            folder = student_dir / slug
            if folder.is_dir():
                found.append(Submission(slug, student_dir.name, folder))
    if not found:
        raise CourseError(f"no submissions of {', '.join(slugs)} in {submitted}")
    return found


def inspect(root: Path, submission: Submission) -> Submission:
    """Record the first problem that stops nbgrader from running the submission."""
    for expected in sorted((source_dir(root) / submission.slug).glob("*.ipynb")):
        path = submission.folder / expected.name
        if not path.exists():
            present = ", ".join(sorted(p.name for p in submission.folder.glob("*.ipynb")))
            submission.problem = (f"{path}: missing (the folder has: {present or 'no notebooks'})")
            return submission
        try:
            notebook = read_notebook(path)
        except NotebookError as error:
            submission.problem = str(error)
            return submission
        submission.problem = _other_assignment(path, notebook, read_notebook(expected))
        if submission.problem:
            return submission
        submission.flags += suspicious_code(notebook)
    return submission


def _grade_ids(notebook) -> set[str]:
    return {cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")}


def _other_assignment(path: Path, notebook, source) -> str:
    """A one-line problem if ``notebook`` has nbgrader cells but none of ``source``'s: a
    notebook of another assignment handed in under this one's name."""
    found, expected = _grade_ids(notebook), _grade_ids(source)
    if not found or not expected or found & expected:
        return ""
    return (f"{path}: this is not a notebook of {path.parent.name}: it has none of its "
            f"cells ({', '.join(sorted(expected)[:3])}, ...) but others "
            f"({', '.join(sorted(found)[:3])}, ...): another assignment's notebook?")


def copy_results(source: Path | None, dest: Destination, slug: str, student: str) -> None:
    """Replace the destination's autograded notebook and feedback of one submission by
    those under ``source`` (a worker's directory or a shard's folder); with no
    ``source``, remove them, so no student is sent an earlier run's feedback."""
    for name in (dest.autograded, dest.feedback):
        target = dest.folder / name / student / slug
        if target.exists():
            shutil.rmtree(target)
        produced = source / name / student / slug if source is not None else None
        if produced is not None and produced.is_dir():
            shutil.copytree(produced, target)
