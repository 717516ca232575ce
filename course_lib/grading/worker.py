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
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from course_lib.grading import gradebook
from course_lib.grading.course import CONFIG_FILE, load_config, nbgrader_api
from course_lib.grading.feedback import FEEDBACK_PREPROCESSORS
from course_lib.grading.processes import kill_all, process_tree
from course_lib.grading.scale import warm_kernels

#: Set to "0" in a worker's environment for plain (cold) kernels.
WARM_ENV = "COURSE_WARM_KERNELS"


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
        extension: the student's deadline extension in seconds, if one was granted:
            late penalties must see it, and the private gradebook starts without students.
    """

    course: str
    slug: str
    student: str
    workdir: str
    gradebook: str
    overrides: dict = field(default_factory=dict)
    extension: float | None = None


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
    timings: dict = field(default_factory=dict)
    cell_errors: dict = field(default_factory=dict)
    retry: bool = False  # the grading machine failed, not the submission: grade it again


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
    if job.extension:
        gradebook.grant_extension(gradebook.sqlite_url(work / "gradebook.db"), job.slug,
                                  job.student, gradebook.course_id(course), job.extension)
    return work


def _moment(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def breakdown(notebook_path: Path, autograde_began: float, autograde_seconds: float
              ) -> tuple[dict[str, float], dict[str, str]]:
    """Where autograde's time went, and each failing graded cell's error line.

    nbclient stamps every executed cell with the kernel's busy/idle times; the first
    code cell of every course notebook is its imports.

    Returns:
        ``{"kernel_start": s, "first_cell": s, "other_cells": s, "nbgrader": s}`` (the
        last is autograde's own work: reading, checksums, writing, kernel shutdown),
        and ``{grade_id: "ErrorName: message"}``.
    """
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    spans, errors = [], {}
    for cell in notebook.cells:
        stamps = cell.get("metadata", {}).get("execution", {})
        if "iopub.status.busy" in stamps and "iopub.status.idle" in stamps:
            spans.append((_moment(stamps["iopub.status.busy"]),
                          _moment(stamps["iopub.status.idle"])))
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []) if grade_id else []:
            if output.get("output_type") == "error":
                errors[grade_id] = f"{output.get('ename')}: {output.get('evalue')}"[:300]
    if not spans:
        return {}, errors
    durations = [end - begin for begin, end in spans]
    kernel_start = max(0.0, spans[0][0] - autograde_began)
    timings = {"kernel_start": kernel_start, "first_cell": durations[0],
               "other_cells": sum(durations[1:])}
    timings["nbgrader"] = max(0.0, autograde_seconds - kernel_start - sum(durations))
    return timings, errors


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


class Zygote:
    """This worker's warm-kernel zygote (see :mod:`course_lib.grading.scale.warm_kernels`).

    Started with the worker, so its imports overlap nbgrader's; restarted if it dies;
    given up (plain kernels) if it cannot start.
    """

    def __init__(self, scratch: str | None = None) -> None:
        self.folder = tempfile.mkdtemp(prefix="course-kernels-", dir=scratch)
        self.address = f"course-zygote-{os.getpid()}-{os.urandom(6).hex()}"
        self.process: subprocess.Popen | None = None
        self.ready = False
        warm_kernels.kernelspec(self.folder)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            filter(None, [self.folder, os.environ.get("JUPYTER_PATH")]))
        os.environ[warm_kernels.ZYGOTE_ENV] = self.address
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grading.scale.warm_kernels", "serve", self.address],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=self.folder, text=True)
        self.ready = False

    def kernel_name(self) -> str | None:
        """The warm kernelspec's name if the zygote serves (waiting for its imports)."""
        if self.process.poll() is not None:
            self.start()
        if not self.ready:
            self.ready = self.process.stdout.readline().strip() == "ready"
        return warm_kernels.KERNEL_NAME if self.ready else None

    def stop(self) -> None:
        kill_all([self.process.pid, *process_tree(self.process.pid)])
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def run(job: Job, zygote: Zygote | None = None) -> Result:
    """Autograde ``job`` and make its feedback, in its private directory."""
    start = time.perf_counter()
    result = Result(job.slug, job.student)
    work = prepare(job)
    prepared = time.perf_counter()
    warm = zygote.kernel_name() if zygote else None
    overrides = {
        "CourseDirectory.db_url": f"sqlite:///{work / 'gradebook.db'}",
        "GenerateFeedback.preprocessors": FEEDBACK_PREPROCESSORS,
        **({"Execute.kernel_name": warm} if warm else {}),
        **job.overrides,
    }
    api = nbgrader_api(work, **overrides)
    began_at = time.time()
    graded = api.autograde(job.slug, job.student, force=True, create=True)
    graded_at = time.perf_counter()
    result.log = graded.get("log", "")
    if graded["success"]:
        _, _, autograded = _paths(work)
        for notebook in sorted((work / autograded / job.student / job.slug).glob("*.ipynb")):
            timings, errors = breakdown(notebook, began_at, graded_at - prepared)
            result.cell_errors.update(errors)
            for key, value in timings.items():
                result.timings[key] = result.timings.get(key, 0.0) + value
        feedback = api.generate_feedback(job.slug, job.student, force=True)
        result.success = feedback["success"]
        if not feedback["success"]:
            details = feedback.get("error", "") + "\n" + feedback.get("log", "")
            result.error = "feedback: " + explain(details)
    else:
        result.error = explain(graded.get("error", "") + "\n" + graded.get("log", ""))
    result.seconds = time.perf_counter() - start
    result.timings.update(prepare=prepared - start,
                          feedback=time.perf_counter() - graded_at if graded["success"] else 0.0)
    return result


def serve(jobs_in, results_out, zygote: Zygote | None = None) -> None:
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
            result = run(job, zygote)
        except Exception as error:  # one broken job must not end the worker
            result = Result(job.slug, job.student, retry=True,
                            error=f"grading failed ({type(error).__name__}: {error}); run again")
        (Path(job.workdir) / "result.json").write_text(json.dumps(asdict(result)),
                                                       encoding="utf-8")
        results_out.write(f"DONE {job_file}\n")
        results_out.flush()


def _die_with_parent(parent: int) -> None:
    """If ``course grade`` dies (even by SIGKILL), kill this worker's kernel and exit.

    Without this an orphaned worker would finish its submission (up to the time limit)
    for nobody.
    """
    while os.getppid() == parent:
        time.sleep(0.5)
    kill_all(process_tree(os.getpid()))
    os._exit(1)


def main() -> int:
    # The protocol owns the real stdout; anything else printed goes to stderr.
    results_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    threading.Thread(target=_die_with_parent, args=(os.getppid(),), daemon=True).start()
    warm = os.environ.get(WARM_ENV, "1") != "0" and warm_kernels.supported()
    zygote = Zygote(sys.argv[1] if len(sys.argv) > 1 else None) if warm else None
    try:
        serve(sys.stdin, results_out, zygote)
    finally:
        if zygote:
            zygote.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
