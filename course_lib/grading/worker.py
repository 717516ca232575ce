"""Autograde one submission in a directory of its own (run as a separate process).

``course grade`` starts ``python -m course_lib.grading.worker`` processes in new
sessions and hands each one submission at a time (a job file named on stdin);
when a submission runs past its time limit the parent kills the worker's whole
process tree and starts a fresh worker. The worker builds a private course
directory (the course's ``nbgrader_config.py``, the assignment's source folder,
a copy of the gradebook as it was when the batch started, the submission) and, there:

1. runs nbgrader's own ``autograde`` through :class:`nbgrader.apps.NbGraderAPI`, with
   the kernel in the submission's sandbox (:mod:`course_lib.grading.isolation`; a warm
   kernel enters it after the zygote forks it); the notebook's checks only hand the
   student's functions in;
2. judges every test cell outside the notebook (:mod:`course_lib.grading.verdicts`),
   the grader's calls of the functions made in a second sandbox, and writes the scores
   and the checks' messages into the private gradebook and the autograded notebook;
3. runs nbgrader's ``generate_feedback`` and writes a JSON result.

Workers never share a SQLite file, so parallel runs cannot lock each other out; the
parent merges each private gradebook into the course's (see
:mod:`course_lib.grading.gradebook`).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from course_lib.grading import gradebook, isolation, replay, sandbox, verdicts
from course_lib.grading.course import CONFIG_FILE, load_config, nbgrader_api
from course_lib.grading.feedback import FEEDBACK_PREPROCESSORS
from course_lib.grading.processes import kill_all, process_tree
from course_lib.grading.scale import warm_kernels
from course_lib.notebook_files import read_notebook

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
        edition: the folder holding the grading edition of course_lib (see
            :mod:`course_lib.grading.isolation`).
        sandboxed: run the kernel and the grader's calls in sandboxes.
        data_dir: the MNIST cache, shown read-only to the submission.
    """

    course: str
    slug: str
    student: str
    workdir: str
    gradebook: str
    overrides: dict = field(default_factory=dict)
    extension: float | None = None
    edition: str = ""
    sandboxed: bool = True
    data_dir: str | None = None


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
    verdicts: dict = field(default_factory=dict)  # {grade_id: verdicts.summary(...)}


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
            if output.get("output_type") == "error" and output.get("ename") != "HandedIn":
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

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.address = f"course-zygote-{os.getpid()}-{os.urandom(6).hex()}"
        self.process: subprocess.Popen | None = None
        self.ready = False
        os.environ[warm_kernels.ZYGOTE_ENV] = self.address
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grading.scale.warm_kernels", "serve", self.address],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=self.folder, text=True)
        self.ready = False

    def serving(self) -> bool:
        """Does the zygote serve (waiting for its imports; restarted if it died)?"""
        if self.process.poll() is not None:
            self.start()
        if not self.ready:
            self.ready = self.process.stdout.readline().strip() == "ready"
        return self.ready

    def stop(self) -> None:
        kill_all([self.process.pid, *process_tree(self.process.pid)])
        self.process.wait()


class Kernels:
    """The kernelspec this worker's submissions run in, written afresh for each job.

    ``course-graded`` wraps what the course's config names (``Execute.kernel_name``): the
    default Python kernel becomes a warm kernel when the zygote serves, another
    kernelspec (an instructor's own) keeps its command; either runs in the job's
    sandbox unless grading is unsandboxed.
    """

    NAME = "course-graded"

    def __init__(self, scratch: str | None, warm: bool) -> None:
        self.folder = tempfile.mkdtemp(prefix="course-kernels-", dir=scratch)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            filter(None, [self.folder, os.environ.get("JUPYTER_PATH")]))
        self.spec_file = os.path.join(self.folder, "sandbox-spec.json")
        self.zygote = Zygote(self.folder) if warm else None

    def write(self, configured: str, spec: sandbox.Spec | None, env: dict[str, str]) -> str:
        """Write ``course-graded`` for one job and return its name."""
        plain = configured in ("", "python3", "python")
        if spec is not None:
            with open(self.spec_file, "w", encoding="utf-8") as handle:
                handle.write(spec.to_json())
        spec_path = self.spec_file if spec is not None else None
        extra_env = {} if spec is not None else env
        if plain and self.zygote is not None and self.zygote.serving():
            argv = warm_kernels.launcher_argv(spec_path)
        else:
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            if not plain:
                from jupyter_client.kernelspec import KernelSpecManager

                own = KernelSpecManager().get_kernel_spec(configured)
                argv, extra_env = list(own.argv), {**extra_env, **own.env}
            if spec_path:
                argv = [sys.executable, "-m", "course_lib.grading.sandbox", "--spec", spec_path,
                        "--", *argv]
        folder = os.path.join(self.folder, "kernels", self.NAME)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as handle:
            json.dump({"argv": argv, "env": extra_env, "language": "python",
                       "display_name": "Python 3 (graded)"}, handle)
        return self.NAME

    def stop(self) -> None:
        if self.zygote:
            self.zygote.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _isolation(job: Job, work: Path) -> isolation.Isolation:
    return isolation.Isolation(Path(job.edition), sandboxed=job.sandboxed,
                               secrets=(Path(job.course), work.parent),
                               data_dir=Path(job.data_dir) if job.data_dir else None)


#: nbgrader's warning for every locked cell whose submitted source differs from the
#: gradebook's: true of every test cell with hidden tests, so it says nothing about tampering.
_RESTORE_WARNING = re.compile(r"^\[WARNING\] Attribute 'checksum' for cell \S+ has changed!.*$\n?",
                              re.MULTILINE)


def _without_restore_warnings(log: str) -> str:
    """nbgrader's log without the checksum warnings of restored test cells."""
    cleaned, count = _RESTORE_WARNING.subn("", log)
    if count:
        cleaned += f"[INFO] {count} test cells restored from the course's source (as always)\n"
    return cleaned


def _kernel_failed_to_start(text: str) -> bool:
    """Did nbgrader fail because no kernel came up (the machine), before any cell ran?"""
    return any(sign in text for sign in ("Kernel died before replying to kernel_info",
                                         "Kernel didn't respond in", "sandbox:"))


def run(job: Job, kernels: Kernels) -> Result:
    """Autograde ``job``, judge its test cells outside the notebook, make its feedback."""
    start = time.perf_counter()
    result = Result(job.slug, job.student)
    work = prepare(job)
    confine = _isolation(job, work)
    handins = isolation.new_folder(work, "handin-")
    sockets = isolation.new_folder(Path("/tmp"), "cg-")  # short: a socket path has 107 bytes
    try:
        prepared = time.perf_counter()
        _, _, autograded = _paths(work)
        cwd = work / autograded / job.student / job.slug
        spec = confine.kernel_spec(cwd, sockets, handins) if job.sandboxed else None
        configured = str(load_config(work).Execute.get("kernel_name", "python3"))
        overrides = {
            "CourseDirectory.db_url": f"sqlite:///{work / 'gradebook.db'}",
            "GenerateFeedback.preprocessors": FEEDBACK_PREPROCESSORS,
            "Execute.kernel_name": kernels.write(configured, spec,
                                                 confine.environment(str(handins))),
            # ZeroMQ over Unix sockets in a folder both sides see (a sandbox has no
            # network), the connection file beside them
            **({"KernelManager.transport": "ipc", "KernelManager.ip": str(sockets / "k"),
                "KernelManager.connection_file": str(sockets / "kernel.json")}
               if job.sandboxed else {}),
            **job.overrides,
        }
        api = nbgrader_api(work, **overrides)
        began_at = time.time()
        graded = api.autograde(job.slug, job.student, force=True, create=True)
        graded_at = time.perf_counter()
        result.log = _without_restore_warnings(graded.get("log", ""))
        if not graded["success"]:
            details = graded.get("error", "") + "\n" + graded.get("log", "")
            # name the course's files, not this scratch copy (gone when the job ends)
            submitted = Path(job.course) / _paths(work)[1] / job.student / job.slug
            result.error = f"{explain(details).replace(str(work), job.course)} ({submitted})"
            result.retry = _kernel_failed_to_start(details)
            return result
        notebooks = sorted(cwd.glob("*.ipynb"))
        for notebook in notebooks:
            timings, errors = breakdown(notebook, began_at, graded_at - prepared)
            result.cell_errors.update(errors)
            for key, value in timings.items():
                result.timings[key] = result.timings.get(key, 0.0) + value
        cell_limit = load_config(work, **job.overrides).Execute.get("timeout", 30)
        interrupted = [cell for cell, error in result.cell_errors.items()
                       if error.startswith(("KeyboardInterrupt", "CellTimeoutError"))]
        if interrupted:
            result.error = (f"{', '.join(interrupted)}: interrupted after the per-cell limit "
                            f"of {cell_limit} s (an infinite loop?); only the cells that "
                            "depend on it lost points")
        judged_at = time.perf_counter()
        for notebook in notebooks:
            for grade_id, verdict in _judge_notebook(job, work, notebook, handins,
                                                     confine).items():
                result.verdicts[grade_id] = verdicts.summary(verdict)
                failure = result.verdicts[grade_id]["message"]
                if failure:
                    result.cell_errors[grade_id] = failure.splitlines()[0][:300]
        result.timings["verdicts"] = time.perf_counter() - judged_at
        feedback = api.generate_feedback(job.slug, job.student, force=True)
        result.success = feedback["success"]
        if not feedback["success"]:
            details = feedback.get("error", "") + "\n" + feedback.get("log", "")
            result.error = "feedback: " + explain(details)
        result.timings.update(prepare=prepared - start,
                              feedback=time.perf_counter() - graded_at
                              - result.timings["verdicts"])
        return result
    finally:
        result.seconds = time.perf_counter() - start
        isolation.remove(sockets)


def _judge_notebook(job: Job, work: Path, notebook: Path, handins: Path,
                    confine: isolation.Isolation) -> dict[str, verdicts.CellVerdict]:
    """Judge one autograded notebook's test cells outside it and write the verdicts."""
    source, _, _ = _paths(work)
    source_folder = work / source / job.slug
    cells = verdicts.test_cells(read_notebook(source_folder / notebook.name))
    session = replay.Session(handins, verdicts.error_lines(notebook, set(cells)))
    passes = iter(range(1, 1000))

    def record(requests: list) -> None:
        number = next(passes)
        for needs_torch in (False, True):
            batch = [r for r in requests if r.needs_torch == needs_torch]
            if not batch:
                continue
            folder = isolation.new_folder(work, f"record-{number}-")
            requests_file = folder / "requests.pkl"
            with open(requests_file, "wb") as handle:
                pickle.dump(batch, handle)
            out = isolation.new_folder(work, f"answers-{number}-")
            stopped = confine.record(requests_file, handins, out, needs_torch=needs_torch,
                                     forbidden={p for r in batch for p in r.forbidden})
            session.take(out, batch, stopped or "the grader's run of your code stopped early")

    judged = verdicts.judge(cells, verdicts.resolver(source_folder), session, record)
    db_url = f"sqlite:///{work / 'gradebook.db'}"
    verdicts.write_verdicts(judged, notebook, db_url, job.slug, job.student,
                            gradebook.course_id(Path(job.course)))
    verdicts.reassess_late_penalty(load_config(work), notebook, db_url, job.slug, job.student)
    return judged


def serve(jobs_in, results_out, kernels: Kernels) -> None:
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
            result = run(job, kernels)
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
    kernels = Kernels(sys.argv[1] if len(sys.argv) > 1 else None, warm)
    try:
        serve(sys.stdin, results_out, kernels)
    finally:
        kernels.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
