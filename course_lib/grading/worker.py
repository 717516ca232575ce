"""Autograde one submission in a directory of its own (run as a separate process).

``course grade`` starts ``python -m course_lib.grading.worker`` processes in new
sessions and hands each one submission at a time (a job file named on stdin);
when a submission runs past its time limit the parent kills the worker's whole
process tree and starts a fresh worker. The worker builds a private course
directory (the course's ``nbgrader_config.py``, the assignment's source folder,
a copy of the gradebook as it was when the batch started, the submission), runs
nbgrader's own ``autograde`` and ``generate_feedback`` there through
:class:`nbgrader.apps.NbGraderAPI`, and writes a JSON result. Workers never share
a SQLite file, so parallel runs cannot lock each other out; the parent merges
each private gradebook into the course's (see :mod:`course_lib.grading.gradebook`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_lib.grading.course import CONFIG_FILE, load_config, nbgrader_api
from course_lib.grading.feedback import FEEDBACK_PREPROCESSORS


@dataclass
class Job:
    """One submission to grade.

    Args:
        course: the course directory.
        slug: the assignment.
        student: the student id (folder name under ``submitted/``).
        workdir: an empty private directory for this job.
        gradebook: a snapshot of the course's gradebook with the assignment in it.
        overrides: extra nbgrader config, ``{"Execute.timeout": 5}``.
    """

    course: str
    slug: str
    student: str
    workdir: str
    gradebook: str
    overrides: dict = field(default_factory=dict)


@dataclass
class Result:
    """What grading one submission produced (``error`` is one line, or empty)."""

    slug: str
    student: str
    success: bool = False
    error: str = ""
    seconds: float = 0.0
    log: str = ""
    timed_out: bool = False


def _paths(root: Path) -> tuple[str, str, str]:
    course = load_config(root).CourseDirectory
    return (
        str(course.get("source_directory", "source")),
        str(course.get("submitted_directory", "submitted")),
        str(course.get("autograded_directory", "autograded")),
    )


def prepare(job: Job) -> Path:
    """Build the private course directory of ``job`` and return it."""
    course, work = Path(job.course), Path(job.workdir)
    source, submitted, _ = _paths(course)
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course / CONFIG_FILE, work / CONFIG_FILE)
    shutil.copytree(course / source / job.slug, work / source / job.slug)
    shutil.copytree(course / submitted / job.student / job.slug,
                    work / submitted / job.student / job.slug)
    shutil.copy2(job.gradebook, work / "gradebook.db")
    return work


def explain(error_text: str) -> str:
    """One line for the most common ways nbgrader fails on a submission."""
    if "DeadKernelError" in error_text or "Kernel died" in error_text:
        return "the kernel died while running the notebook (os._exit, a crash or out of memory)"
    if "UnresponsiveKernelError" in error_text or "kernel became unresponsive" in error_text:
        return "the kernel stopped responding (an infinite loop that ignores interrupts?)"
    if "Timeout waiting for execute reply" in error_text:
        return ("a cell ran past the per-cell time limit and did not stop when interrupted; "
                "nbgrader gave up on the notebook")
    lines = [line.strip() for line in error_text.splitlines() if line.strip()]
    errors = [line.removeprefix("[ERROR]").strip() for line in lines
              if line.startswith("[ERROR]") and "Traceback" not in line]
    return errors[0] if errors else (lines[-1] if lines else "nbgrader failed")


def run(job: Job) -> Result:
    """Autograde ``job`` and make its feedback, in its private directory."""
    start = time.perf_counter()
    result = Result(job.slug, job.student)
    work = prepare(job)
    overrides = {
        "CourseDirectory.db_url": f"sqlite:///{work / 'gradebook.db'}",
        "GenerateFeedback.preprocessors": FEEDBACK_PREPROCESSORS,
        **job.overrides,
    }
    api = nbgrader_api(work, **overrides)
    graded = api.autograde(job.slug, job.student, force=True, create=True)
    result.log = graded.get("log", "")
    if graded["success"]:
        feedback = api.generate_feedback(job.slug, job.student, force=True)
        result.success = feedback["success"]
        if not feedback["success"]:
            details = feedback.get("error", "") + "\n" + feedback.get("log", "")
            result.error = "feedback: " + explain(details)
    else:
        result.error = explain(graded.get("error", "") + "\n" + graded.get("log", ""))
    result.seconds = time.perf_counter() - start
    return result


def serve(jobs_in, results_out) -> None:
    """Grade the jobs whose JSON files are named, one per line, on ``jobs_in``.

    After each job the result is in ``<workdir>/result.json`` and the line
    ``DONE <job file>`` goes to ``results_out``. Importing nbgrader takes seconds,
    so one worker process grades many submissions, one at a time.
    """
    for line in jobs_in:
        job_file = line.strip()
        if not job_file:
            continue
        job = Job(**json.loads(Path(job_file).read_text(encoding="utf-8")))
        try:
            result = run(job)
        except Exception as error:  # one broken job must not end the worker
            result = Result(job.slug, job.student, error=f"{type(error).__name__}: {error}")
        (Path(job.workdir) / "result.json").write_text(json.dumps(asdict(result)),
                                                       encoding="utf-8")
        results_out.write(f"DONE {job_file}\n")
        results_out.flush()


def main() -> int:
    # The protocol owns the real stdout; anything else printed goes to stderr.
    results_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    serve(sys.stdin, results_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
