"""``course grade``: autograde every submission, N at a time, robustly, resumably.

For each ``submitted/<student>/<slug>/`` (nbgrader's layout):

1. a submission whose record says it was graded already, from the same files, tests
   and config, is skipped (:mod:`course_lib.grading.records`), so a killed run
   resumes where it stopped;
2. the notebook files are read; a missing, non-JSON or non-nbformat-4 notebook gets a
   one-line error and 0 on every graded cell, without a worker;
3. otherwise a worker process (:mod:`course_lib.grading.pool`) runs nbgrader's
   ``autograde`` and ``generate_feedback`` on it in a private directory, on the CPU,
   with nbgrader's per-cell timeout and a wall-clock limit per submission;
4. the grading process merges the worker's private gradebook into the target
   gradebook, copies the autograded notebook and the feedback HTML back, writes the
   submission's log and, last, its record.

A broken, slow or crashing submission costs its own slot and nothing else. At the
end nbgrader's CSV export writes ``grades.csv``. With ``shard=(i, n)`` only the
i-th of n parts is graded, into a folder of its own (see
:mod:`course_lib.grading.scale.shards`).
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from course_lib.data import cache_root
from course_lib.errors import CourseError
from course_lib.grading import deadlines, gradebook, isolation, records, sandbox
from course_lib.grading.course import resolve_slugs
from course_lib.grading.feedback import problem_page
from course_lib.grading.pool import WorkerProcess
from course_lib.grading.release import require_released
from course_lib.grading.scale import shards
from course_lib.grading.submissions import (
    BatchReport,
    Destination,
    Outcome,
    Submission,
    copy_results,
    course_destination,
    find_submissions,
    inspect,
)
from course_lib.grading.worker import Job, Result

#: Default wall-clock limit of one submission, in seconds.
DEFAULT_TIMEOUT = 600.0


def _log_text(outcome: Outcome, result: Result | None) -> str:
    """The per-submission log: verdict, score, flags, failing cells, timings, nbgrader's log."""
    lines = [f"{outcome.student} / {outcome.slug}: {outcome.error or 'graded'}",
             f"score {outcome.score:g} / {outcome.max_score:g}"]
    lines += [f"flagged: {flag}" for flag in outcome.flags]
    if result is not None:
        lines += [f"{cell} failed: {error}" for cell, error in sorted(result.cell_errors.items())]
        lines.append(f"seconds: {result.seconds:.2f} " + " ".join(
            f"{key}={value:.2f}" for key, value in sorted(result.timings.items())))
        lines += ["", "nbgrader's log:", result.log]
    return "\n".join(lines) + "\n"


def _finish(dest: Destination, submission: Submission, result: Result | None,
            work: Path | None, identity: dict, timeout: float) -> Outcome:
    """Store one finished submission's grades, files, log and record (in that order).

    A submission the grading machine failed (a worker that died, an internal error)
    gets no record: the next run grades it again. One that ran out of time records
    the limit, so a run with a longer ``--timeout`` grades it again.
    """
    merged = False
    usable = result is not None and work is not None and not result.timed_out
    if usable:
        merged = gradebook.merge_submission(gradebook.sqlite_url(work / "gradebook.db"),
                                            dest.url, submission.slug, submission.student,
                                            dest.course)
    copy_results(work if usable else None, dest, submission.slug, submission.student)
    if not merged:
        gradebook.write_submission(dest.url, submission.slug, submission.student, dest.course,
                                   None)
    if submission.flags:
        gradebook.flag(dest.url, submission.slug, submission.student, dest.course)
    score, max_score = gradebook.score_of(dest.url, submission.slug, submission.student,
                                          dest.course)
    outcome = Outcome(
        submission.slug, submission.student, score, max_score,
        error=submission.problem or (result.error if result else ""),
        seconds=result.seconds if result else 0.0, flags=submission.flags,
        timings=dict(result.timings) if result else {}, retry=bool(result and result.retry),
        late=deadlines.lateness(dest.url, dest.course, submission.slug,
                                submission.student).note(),
        timed_out=bool(result and result.timed_out),
        awaiting_ta=gradebook.awaiting_ta(dest.url, submission.slug, submission.student,
                                          dest.course),
    )
    page = dest.folder / dest.feedback / submission.student / submission.slug / \
        f"{submission.slug}.html"
    if outcome.error and not outcome.retry and not page.is_file():  # say why, in the page
        problem_page(page, submission.slug, submission.student, outcome.error, score,
                     max_score)
    log = records.path(dest.folder, submission.slug, submission.student).with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(_log_text(outcome, result), encoding="utf-8")
    if not outcome.retry:
        record = {**identity, "outcome": asdict(outcome),
                  "verdicts": result.verdicts if result is not None else {}}
        if result is not None and result.timed_out:
            record["timed_out_after"] = timeout
        records.save(dest.folder, submission.slug, submission.student, record)
    return outcome


def _finish_safely(dest: Destination, submission: Submission, result: Result | None,
                   work: Path | None, identity: dict, timeout: float) -> Outcome:
    """:func:`_finish`, but a failure to store one submission does not end the batch."""
    try:
        return _finish(dest, submission, result, work, identity, timeout)
    except Exception as error:  # the next run retries it (no record was written)
        return Outcome(submission.slug, submission.student, retry=True,
                       error=f"not stored ({type(error).__name__}: {error}); run again")


def _already_graded(dest: Destination, submission: Submission, fingerprint: str,
                    stored: dict[tuple[str, str], tuple[float, float]], timeout: float
                    ) -> Outcome | None:
    """The outcome of an earlier run, if it graded exactly this and its grades are stored
    (a time-out counts only if this run's limit is no longer)."""
    record = records.load(dest.folder, submission.slug, submission.student)
    if not record or record.get("fingerprint") != fingerprint:
        return None
    if record.get("timed_out_after", timeout) < timeout:
        return None
    if (submission.slug, submission.student) not in stored:
        return None
    outcome = Outcome(**record["outcome"])
    outcome.score, outcome.max_score = stored[submission.slug, submission.student]
    outcome.awaiting_ta = 0.0  # a TA may have graded since: the class report says
    outcome.resumed = True
    return outcome


def _check_arguments(jobs: int, timeout: float) -> None:
    if jobs < 1:
        raise CourseError(f"--jobs: expected an int >= 1, got {jobs}")
    if timeout <= 0:
        raise CourseError(f"--timeout: expected seconds > 0, got {timeout}")


def grade(
    root: Path,
    slugs: Sequence[str] | None = None,
    *,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    overrides: dict | None = None,
    progress: bool = True,
    scratch_dir: Path | None = None,
    shard: tuple[int, int] | None = None,
    shards_dir: Path | None = None,
    force: bool = False,
    warm_kernels: bool = True,
    sandboxed: bool = True,
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
        shard: ``(i, n)``: grade only the i-th of n parts (0-based), into
            ``shards_dir/<slugs>/<i>-of-<n>/``; combine the parts with
            :func:`course_lib.grading.scale.shards.merge`.
        shards_dir: where shards keep their results (default ``<root>/shards``).
        force: regrade submissions an earlier run finished (default: resume).
        warm_kernels: fork each kernel from one that has imported torch, numpy and
            matplotlib already (:mod:`course_lib.grading.scale.warm_kernels`); False starts
            every kernel from scratch, as plain nbgrader does.
        sandboxed: run each submission's kernel, and the grader's calls of its functions,
            in sandboxes (:mod:`course_lib.grading.isolation`). False is ``--no-sandbox``:
            a submission can then read and change whatever the grader can.

    Raises:
        CourseError: bad arguments, or ``sandboxed`` where this machine cannot sandbox.

    Returns:
        One :class:`Outcome` per submission, the CSV written and the time taken.
    """
    _check_arguments(jobs, timeout)
    if sandboxed:
        require_sandbox()
    start = time.perf_counter()
    overrides = dict(overrides or {})
    chosen = resolve_slugs(root, slugs)
    submissions = find_submissions(root, chosen)
    if shard is None:
        gradebook.ensure_assignments(root, sorted({s.slug for s in submissions}))
        require_released(root, sorted({s.slug for s in submissions}))
        dest = course_destination(root)
    else:
        submissions = shards.select(submissions, shard)
        dest = shards.begin(root, shard, chosen, submissions, shards_dir)
    outcomes = _run_batch(root, dest, submissions, jobs=jobs, timeout=timeout,
                          overrides=overrides, progress=progress, scratch_dir=scratch_dir,
                          force=force, warm_kernels=warm_kernels, sandboxed=sandboxed)
    csv = None
    if shard is None:
        csv = gradebook.export_csv(root, root / "grades.csv")
    elif not any(o.retry for o in outcomes):
        shards.complete(dest)
    outcomes.sort(key=lambda o: (o.slug, o.student))
    return BatchReport(outcomes, csv, time.perf_counter() - start, chosen)


def require_sandbox() -> None:
    """Raise a one-line :class:`CourseError` if this machine cannot sandbox submissions."""
    reason = sandbox.available()
    if reason is not None:
        raise CourseError(f"cannot sandbox submissions here ({reason}); `course grade "
                          "--no-sandbox` grades without a sandbox, trusting every submission")


def _run_batch(root: Path, dest: Destination, submissions: list[Submission], *, jobs: int,
               timeout: float, overrides: dict, progress: bool, scratch_dir: Path | None,
               force: bool, warm_kernels: bool, sandboxed: bool) -> list[Outcome]:
    """Grade what is not graded yet into ``dest``; every submission's outcome."""
    from tqdm.auto import tqdm

    outcomes, todo = [], []
    slugs = sorted({s.slug for s in submissions})
    defined = gradebook.definitions(dest.url, slugs, dest.course) if slugs else {}
    how = {**overrides, "sandboxed": sandboxed}  # a run without sandbox is no resume source
    digests = {slug: records.assignment_digest(root, slug, how, defined[slug])
               for slug in slugs}
    stored = {} if force else gradebook.stored_scores(dest.url, dest.course, slugs)
    extended = gradebook.extensions(dest.url, dest.course, slugs)
    for submission in submissions:
        # A deadline extension granted later makes the submission due again.
        extension = extended.get((submission.slug, submission.student))
        assignment = digests[submission.slug] + (f"+extension={extension}" if extension else "")
        identity = {"fingerprint": records.fingerprint(submission.folder, assignment),
                    "assignment": assignment}
        earlier = None if force else _already_graded(dest, submission, identity["fingerprint"],
                                                     stored, timeout)
        if earlier is not None:
            outcomes.append(earlier)
        else:
            todo.append((inspect(root, submission), identity))
    bar = tqdm(total=len(submissions), initial=len(outcomes), unit="submission",
               desc="grading", disable=not progress or not sys.stderr.isatty(),
               file=sys.stderr)  # a bar only on a terminal: no clutter in a batch job's log
    if todo:
        if scratch_dir is not None:
            Path(scratch_dir).mkdir(parents=True, exist_ok=True)
        _sweep_scratch_of_dead_runs(Path(scratch_dir or tempfile.gettempdir()))
        with tempfile.TemporaryDirectory(prefix="course-grade-", dir=scratch_dir) as scratch, \
                _hold_scratch(Path(scratch)):
            template = Path(scratch) / "template.db"
            gradebook.copy_assignments(dest.url, gradebook.sqlite_url(template),
                                       sorted({s.slug for s, _ in todo}), dest.course)
            edition = isolation.write_grading_edition(isolation.new_folder(Path(scratch),
                                                                           "edition-"))
            setup = {"edition": str(edition), "sandboxed": sandboxed,
                     "data_dir": str(cache_root()) if cache_root().is_dir() else None}
            workers = [WorkerProcess(Path(scratch), f"worker{n}", warm_kernels)
                       for n in range(jobs)]
            outcomes += _dispatch(root, dest, todo, Path(scratch), template, bar, workers,
                                  timeout=timeout, overrides=overrides, extended=extended,
                                  setup=setup)
    bar.close()
    return outcomes


def _sweep_scratch_of_dead_runs(parent: Path) -> None:
    """Remove the scratch folders (copies of submissions) of runs that were killed.

    A live run holds an exclusive lock on its folder's ``.lock`` (see
    :func:`_hold_scratch`); a lock nobody holds belongs to a dead run.
    """
    import fcntl

    for folder in parent.glob("course-grade-*"):
        with contextlib.suppress(OSError):
            if time.time() - folder.stat().st_mtime < 60:
                continue  # just created: its run may not hold the lock yet
        lock = folder / ".lock"
        try:
            with lock.open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # alive (locked), not ours, or not a run's folder
        shutil.rmtree(folder, ignore_errors=True)


def _hold_scratch(scratch: Path):
    """Lock ``scratch`` for this run's lifetime (the lock dies with the process)."""
    import fcntl

    handle = (scratch / ".lock").open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _dispatch(root: Path, dest: Destination, todo: list[tuple[Submission, dict]], scratch: Path,
              template: Path, bar, pool_of: list[WorkerProcess], *, timeout: float,
              overrides: dict, extended: dict[tuple[str, str], float], setup: dict
              ) -> list[Outcome]:
    """Hand the submissions to the workers; finish each as it completes.

    A submission the grading machine failed on (a worker or kernel that did not come up)
    is given one more try on a fresh worker before it is left for the next run.
    """
    jobs = len(pool_of)
    workers: queue.Queue[WorkerProcess] = queue.Queue()
    for worker in pool_of:
        workers.put(worker)

    def run_on_free_worker(job: Job) -> Result:
        for attempt in range(2):
            worker = workers.get()
            try:
                result = worker.run(job, timeout)
            finally:
                workers.put(worker)
            if not result.retry:
                break
            if attempt == 0:
                worker.stop(kill=True)  # a fresh worker and zygote for the second try
                shutil.rmtree(job.workdir, ignore_errors=True)
        return result

    outcomes = []

    def finished(outcome: Outcome) -> None:
        outcomes.append(outcome)
        bar.set_postfix_str(f"{outcome.student}/{outcome.slug}", refresh=False)
        bar.update()

    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {}
        for index, (submission, identity) in enumerate(todo):
            if submission.problem:
                finished(_finish_safely(dest, submission, None, None, identity, timeout))
                continue
            work = scratch / f"job{index:05d}"
            job = Job(str(root), submission.slug, submission.student, str(work),
                      str(template), overrides,
                      extended.get((submission.slug, submission.student)), **setup)
            futures[pool.submit(run_on_free_worker, job)] = (submission, work, identity)
        for future in as_completed(futures):
            submission, work, identity = futures[future]
            finished(_finish_safely(dest, submission, future.result(), work, identity,
                                    timeout))
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        # Ctrl-C or a failure of the batch itself: queued submissions must not run on for
        # nobody, and running ones are killed (finished ones are stored and kept).
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in pool_of:
            worker.stop(kill=True)
        raise
    finally:
        pool.shutdown(wait=True)
        for worker in pool_of:
            worker.stop()
    return outcomes
