"""``course grade``: autograde every submission, N at a time, robustly.

For each ``submitted/<student>/<slug>/`` (nbgrader's layout):

1. the notebook files are read first; a missing, non-JSON or non-nbformat-4
   notebook gets a one-line error and 0 on every graded cell, without a worker;
2. otherwise a worker process (:mod:`course_lib.grading.worker`) runs nbgrader's
   ``autograde`` and ``generate_feedback`` on it in a private directory, with
   ``CUDA_VISIBLE_DEVICES=""`` (grading always runs on the CPU), nbgrader's
   per-cell timeout, and a wall-clock limit per submission after which its whole
   process tree (worker and kernel) is killed;
3. the parent merges the private gradebook into the course's and copies the
   autograded notebook and the feedback HTML back.

A broken, slow or crashing submission costs its own slot and nothing else. At
the end nbgrader's CSV export writes ``grades.csv``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_lib.grading import gradebook
from course_lib.grading.course import CourseError, load_config, resolve_slugs, source_dir
from course_lib.grading.notebook_files import NotebookError, read_notebook
from course_lib.grading.scan import suspicious_code
from course_lib.grading.worker import Job, Result

#: Default wall-clock limit of one submission, in seconds.
DEFAULT_TIMEOUT = 600.0


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
    """How grading one submission went, with its score."""

    slug: str
    student: str
    score: float = 0.0
    max_score: float = 0.0
    error: str = ""
    seconds: float = 0.0
    flags: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    """Everything ``course grade`` did."""

    outcomes: list[Outcome]
    csv: Path
    seconds: float


# ------------------------------------------------------------------ discovery


def _dirs(root: Path, trait: str, default: str) -> Path:
    return root / str(load_config(root).CourseDirectory.get(trait, default))


def find_submissions(root: Path, slugs: Sequence[str]) -> list[Submission]:
    """Every submission of ``slugs`` under the submitted directory, checked for readability.

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
                found.append(_inspect(root, Submission(slug, student_dir.name, folder)))
    if not found:
        raise CourseError(f"no submissions of {', '.join(slugs)} in {submitted}")
    return found


def _inspect(root: Path, submission: Submission) -> Submission:
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
        submission.flags += suspicious_code(notebook)
    return submission


# ------------------------------------------------------------------ the workers


def _process_tree(pid: int) -> list[int]:
    """Descendants of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(process: subprocess.Popen) -> None:
    """Kill a worker, its process group and every descendant (the kernel has its own)."""
    for pid in [process.pid, *_process_tree(process.pid)]:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
    process.wait()


def worker_env() -> dict[str, str]:
    """The environment of a worker and its kernel: no GPU, one thread, no inherited flag.

    Parallelism comes from ``--jobs``: a kernel that also starts one BLAS/OpenMP thread
    per core oversubscribes the machine, and the threads' spinning made small training
    cells 10-100 times slower in our measurements.
    """
    env = dict(os.environ)
    env["CUDA_VISIBLE_DEVICES"] = ""
    for threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[threads] = "1"
    env.pop("NBGRADER_EXECUTION", None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


class WorkerProcess:
    """One long-lived worker process that grades one submission at a time."""

    def __init__(self, scratch: Path, name: str) -> None:
        self.scratch = scratch
        self.name = name
        self.process: subprocess.Popen | None = None
        self.stderr_path = scratch / f"{name}.stderr"

    def _start(self) -> subprocess.Popen:
        with open(self.stderr_path, "ab") as stderr:
            return subprocess.Popen(
                [sys.executable, "-m", "course_lib.grading.worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                env=worker_env(), start_new_session=True, text=True, bufsize=1,
            )

    def run(self, job: Job, timeout: float) -> Result:
        """Grade ``job``; kill the worker and its kernel after ``timeout`` seconds."""
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        work = Path(job.workdir)
        work.mkdir(parents=True, exist_ok=True)
        job_file = work.parent / f"{work.name}.json"
        job_file.write_text(json.dumps(asdict(job)), encoding="utf-8")
        start = time.perf_counter()
        self.process.stdin.write(f"{job_file}\n")
        self.process.stdin.flush()
        while True:
            remaining = timeout - (time.perf_counter() - start)
            ready = remaining > 0 and select.select([self.process.stdout], [], [], remaining)[0]
            if not ready:
                self.stop(kill=True)
                return Result(job.slug, job.student, timed_out=True,
                              seconds=time.perf_counter() - start, error=(
                                  f"stopped after the time limit of {timeout:g} s per "
                                  "submission (an infinite loop that ignores interrupts?)"))
            line = self.process.stdout.readline()
            if not line:
                self.stop(kill=True)
                return Result(job.slug, job.student, seconds=time.perf_counter() - start,
                              error=f"the grading worker died: {self._stderr_tail()}")
            if line.strip() == f"DONE {job_file}":
                return Result(**json.loads((work / "result.json").read_text(encoding="utf-8")))

    def _stderr_tail(self) -> str:
        text = self.stderr_path.read_text(errors="replace").strip()
        return text.splitlines()[-1] if text else "no message"

    def stop(self, kill: bool = False) -> None:
        """End the worker: politely (close its input) or by killing its process tree."""
        if self.process is None:
            return
        if not kill:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill = True
        if kill:
            kill_tree(self.process)
        self.process = None


def _copy_back(root: Path, work: Path, slug: str, student: str) -> None:
    """Bring the worker's autograded notebook and feedback into the course directory."""
    for trait, default in (("autograded_directory", "autograded"),
                           ("feedback_directory", "feedback")):
        name = str(load_config(root).CourseDirectory.get(trait, default))
        produced = work / name / student / slug
        target = root / name / student / slug
        if target.exists():
            shutil.rmtree(target)
        if produced.is_dir():
            shutil.copytree(produced, target)


def _write_log(root: Path, result: Result) -> None:
    log_dir = root / "grade_logs" / result.slug
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"{result.student}.log").write_text(
        f"{result.error or 'ok'}\n\n{result.log}", encoding="utf-8")


# ------------------------------------------------------------------- the batch


def _score_of(root: Path, slug: str, student: str) -> tuple[float, float]:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(root)) as gb:
        submission = gb.find_submission(slug, student)
        return float(submission.score), float(submission.max_score)


def _flag(root: Path, slug: str, student: str) -> None:
    """Mark the submission's notebooks as flagged in nbgrader (shown in formgrader)."""
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(root)) as gb:
        for nb in gb.find_submission(slug, student).notebooks:
            nb.flagged = True
        gb.db.commit()


def _finish(root: Path, submission: Submission, result: Result | None, work: Path | None
            ) -> Outcome:
    """Merge one finished submission into the course (parent process only)."""
    merged = False
    if result is not None and work is not None and not result.timed_out:
        merged = gradebook.merge_submission(root, work / "gradebook.db", submission.slug,
                                            submission.student)
        _copy_back(root, work, submission.slug, submission.student)
    if result is not None:
        _write_log(root, result)
    if not merged:
        gradebook.record_zero(root, submission.slug, submission.student)
    if submission.flags:
        _flag(root, submission.slug, submission.student)
    score, max_score = _score_of(root, submission.slug, submission.student)
    return Outcome(
        submission.slug, submission.student, score, max_score,
        error=submission.problem or (result.error if result else ""),
        seconds=result.seconds if result else 0.0, flags=submission.flags,
    )


def grade(
    root: Path,
    slugs: Sequence[str] | None = None,
    *,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    overrides: dict | None = None,
    progress: bool = True,
    scratch_dir: Path | None = None,
) -> BatchReport:
    """Autograde every submission of ``slugs`` (all assignments by default).

    Args:
        root: the course directory.
        slugs: assignments to grade.
        jobs: submissions graded at the same time (worker processes).
        timeout: wall-clock limit of one submission, in seconds.
        overrides: nbgrader config for the workers, e.g. ``{"Execute.timeout": 5}``.
        progress: show a progress bar with an ETA (on stderr).
        scratch_dir: where workers' private directories go (default: the system's
            temporary directory); removed afterwards.

    Returns:
        One :class:`Outcome` per submission, the CSV written and the time taken.
    """
    from tqdm.auto import tqdm

    if jobs < 1:
        raise CourseError(f"--jobs: expected an int >= 1, got {jobs}")
    if timeout <= 0:
        raise CourseError(f"--timeout: expected seconds > 0, got {timeout}")
    start = time.perf_counter()
    chosen = resolve_slugs(root, slugs)
    submissions = find_submissions(root, chosen)
    gradebook.ensure_assignments(root, sorted({s.slug for s in submissions}))
    outcomes: list[Outcome] = []
    if scratch_dir is not None:
        Path(scratch_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-grade-", dir=scratch_dir) as scratch:
        template = gradebook.snapshot(root, Path(scratch) / "template.db")
        bar = tqdm(total=len(submissions), unit="submission", desc="grading",
                   disable=not progress, file=sys.stderr)
        workers: queue.Queue[WorkerProcess] = queue.Queue()
        for number in range(jobs):
            workers.put(WorkerProcess(Path(scratch), f"worker{number}"))

        def run_on_free_worker(job: Job) -> Result:
            worker = workers.get()
            try:
                return worker.run(job, timeout)
            finally:
                workers.put(worker)

        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = {}
                for index, submission in enumerate(submissions):
                    if submission.problem:
                        outcomes.append(_finish(root, submission, None, None))
                        bar.update()
                        continue
                    work = Path(scratch) / f"job{index:05d}"
                    job = Job(str(root), submission.slug, submission.student, str(work),
                              str(template), dict(overrides or {}))
                    futures[pool.submit(run_on_free_worker, job)] = (submission, work)
                for future in as_completed(futures):
                    submission, work = futures[future]
                    outcomes.append(_finish(root, submission, future.result(), work))
                    shutil.rmtree(work, ignore_errors=True)
                    bar.set_postfix_str(f"{submission.student}/{submission.slug}",
                                        refresh=False)
                    bar.update()
        finally:
            while not workers.empty():
                workers.get().stop()
        bar.close()
    csv = gradebook.export_csv(root, root / "grades.csv")
    outcomes.sort(key=lambda o: (o.slug, o.student))
    return BatchReport(outcomes, csv, time.perf_counter() - start)
