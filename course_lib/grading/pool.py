"""The worker pool of ``course grade``: long-lived worker processes, each grading one
submission at a time, killed with their whole process tree when one runs too long.

Each worker (``python -m course_lib.grading.worker``) runs in a session of its own with
CUDA hidden and one BLAS/OpenMP thread; it reads job files on stdin and answers
``DONE <job file>`` on stdout (see :mod:`course_lib.grading.worker`).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from course_lib.grading.processes import kill_all, process_tree
from course_lib.grading.worker import WARM_ENV, Job, Result


def kill_tree(process: subprocess.Popen) -> None:
    """Kill a worker, its process group and every descendant (the kernel has its own)."""
    kill_all([process.pid, *process_tree(process.pid)])
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

    def __init__(self, scratch: Path, name: str, warm_kernels: bool = True) -> None:
        self.scratch = scratch
        self.name = name
        self.process: subprocess.Popen | None = None
        self.warm_kernels = warm_kernels
        self.stderr_path = scratch / f"{name}.stderr"

    def _start(self) -> subprocess.Popen:
        with open(self.stderr_path, "ab") as stderr:
            return subprocess.Popen(
                [sys.executable, "-m", "course_lib.grading.worker", str(self.scratch)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                env={**worker_env(), WARM_ENV: "1" if self.warm_kernels else "0"},
                start_new_session=True, text=True, bufsize=1,
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
                              retry=True, error=(f"the grading worker died "
                                                 f"({self._stderr_tail()}); run again"))
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
