"""``course release | grade | demo``: the instructor's grading pipeline on nbgrader.

Handlers import nbgrader only when they run, so ``course --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from course_lib.errors import CourseError


def _release(args: argparse.Namespace) -> int:
    from course_lib.grading.course import course_dir
    from course_lib.grading.release import release

    released = release(course_dir(args.course_dir), args.slugs)
    for slug in released:
        print(f"released {slug}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from course_lib.grading.course import course_dir
    from course_lib.grading.grade import grade
    from course_lib.grading.report import outcome_table
    from course_lib.grading.scale import shards
    from course_lib.grading.submissions import feedback_dir

    shards_dir = Path(args.shards_dir) if args.shards_dir else None
    root = course_dir(args.course_dir)
    shard = None
    if args.merge:
        if args.shard:
            raise CourseError("--merge combines finished shards; it takes no --shard")
        report = shards.merge(root, args.slugs, shards_dir)
    else:
        shard = shards.parse(args.shard) if args.shard else None
        _warn_about_limits(root, args.timeout)
        if args.no_sandbox:
            print("course grade: WARNING: --no-sandbox: submissions run unconfined and can "
                  "read and change the course, the gradebook and each other's files",
                  file=sys.stderr)
        report = grade(root, args.slugs, jobs=args.jobs, timeout=args.timeout,
                       progress=not args.no_progress, shard=shard, shards_dir=shards_dir,
                       force=args.force, warm_kernels=not args.cold_kernels,
                       sandboxed=not args.no_sandbox)
    print(outcome_table(report.outcomes))
    resumed = sum(o.resumed for o in report.outcomes)
    if resumed:
        print(f"\n{resumed} of {len(report.outcomes)} submissions were graded by an earlier "
              "run and kept (--force regrades them)")
    if report.csv is None:
        where = shards.folder(root, shard, report.slugs, shards_dir)
        print(f"\nshard {args.shard} done in {report.seconds:.0f} s: results in {where}; "
              f"when every shard is done, run `course grade {' '.join(report.slugs)} --merge`")
    else:
        print(f"\nwrote {report.csv} and feedback under {feedback_dir(root)} "
              f"in {report.seconds:.0f} s")
    failed = [o for o in report.outcomes if o.retry]
    if failed:
        print(f"\n{len(failed)} submissions were not graded because the grading machine "
              "failed (see their notes); run the same command again to grade them")
        return 1
    return 0


def _warn_about_limits(root: Path, timeout: float) -> None:
    """Say so when one slow cell would cost a whole submission: nbgrader interrupts a cell
    after ``Execute.timeout``; the submission's wall clock should leave room for that."""
    from course_lib.grading.course import load_config

    cell = float(load_config(root).Execute.get("timeout", 30))
    if timeout < 2 * cell:
        print(f"course grade: warning: --timeout {timeout:g} s is less than twice the "
              f"per-cell limit (Execute.timeout = {cell:g} s): one infinite loop can use up a "
              f"submission's whole time and cost all its points; use --timeout {2 * cell:g} "
              "or more", file=sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    from course_lib.grading.demo import demo

    return 0 if demo(args.course_dir, jobs=args.jobs, slugs=args.slugs, keep=args.keep,
                     everything=args.all) else 1


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {jobs}")
    return jobs


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {value}")
    return seconds


def _usable_cores() -> int:
    """Cores this process may run on (a Slurm allocation or cpuset, not the whole node)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``release``, ``grade`` and ``demo`` subcommands."""
    default_jobs = _usable_cores()

    release = subparsers.add_parser(
        "release", help="regenerate notebooks/ from solutions/ (nbgrader generate_assignment)")
    release.add_argument("slugs", nargs="*", metavar="SLUG", help="assignments (default: all)")
    release.add_argument("--course-dir", metavar="DIR", help="course directory (default: here, "
                         "else the repository)")
    release.set_defaults(handler=_release)

    grade = subparsers.add_parser(
        "grade", help="autograde every submission in parallel; write grades.csv and feedback")
    grade.add_argument("slugs", nargs="*", metavar="SLUG", help="assignments (default: all)")
    grade.add_argument("--course-dir", metavar="DIR", help="course directory with "
                       "submitted/<student>/<slug>/ (default: here, else the repository)")
    grade.add_argument("--jobs", "-j", type=_jobs, default=default_jobs, metavar="N",
                       help=f"submissions graded at once (default: {default_jobs})")
    grade.add_argument("--timeout", type=_seconds, default=600.0, metavar="SECONDS",
                       help="wall-clock limit per submission (default: 600)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--force", action="store_true", help="regrade submissions an earlier "
                       "run finished (default: resume, grading only what is not done)")
    grade.add_argument("--cold-kernels", action="store_true", help="start every kernel from "
                       "scratch instead of forking one that has done its imports (slower)")
    grade.add_argument("--no-sandbox", action="store_true", help="run submissions without "
                       "the sandbox (where Linux namespaces are not available); they can then "
                       "read and change the grader's files: trusted submissions only")
    grade.add_argument("--shard", metavar="I/N", help="grade only part I of N (0-based), into "
                       "shards/SLUG.../I-of-N/, e.g. one Slurm array task or Kubernetes pod each")
    grade.add_argument("--merge", action="store_true", help="combine the finished shards of "
                       "the run over SLUG... into the course's gradebook, folders and grades.csv")
    grade.add_argument("--shards-dir", metavar="DIR", help="where shards keep their results "
                       "(default: <course>/shards)")
    grade.set_defaults(handler=_grade)

    demo = subparsers.add_parser(
        "demo", help="grade the bundled sample submissions in a temporary copy of the course")
    demo.add_argument("slugs", nargs="*", metavar="SLUG", help="assignments (default: all)")
    demo.add_argument("--course-dir", metavar="DIR", help="course to copy (default: the "
                      "repository)")
    demo.add_argument("--jobs", "-j", type=_jobs, default=default_jobs, metavar="N",
                      help=f"submissions graded at once (default: {default_jobs})")
    demo.add_argument("--keep", action="store_true", help="keep the temporary course directory")
    demo.add_argument("--all", action="store_true", help="grade the whole sample corpus "
                      "(default: a representative few per assignment, about 2 minutes)")
    demo.set_defaults(handler=_demo)
