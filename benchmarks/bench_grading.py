"""``course grade --jobs N`` against plain sequential ``nbgrader autograde``.

One course directory with 40+ submissions of one notebook (the assignment's sample
corpus, repeated under new student names) is copied three times and graded, one
after the other, on this machine. Left out of the corpus: the sample that loops
forever (it measures only the per-cell time limit) and the three whose files are
broken (plain nbgrader records no grade for them, so there is nothing to compare).

1. ``plain``: ``python -m nbgrader autograde SLUG``: one submission after another,
   as an instructor without this course's tooling would run it (its environment
   unchanged);
2. ``cold``: ``course grade --jobs N --cold-kernels``: workers, but every kernel
   started from scratch (the pipeline before its overhead was cut);
3. ``warm``: ``course grade --jobs N``: kernels forked from a zygote that has done
   the imports (:mod:`course_lib.grading.scale.warm_kernels`).

All three must give every student the same score on every graded cell. The report
gives each run's wall-clock time, the speed-up over ``plain`` (the ratio of wall
times in the same script), and for ``cold`` and ``warm`` where a submission's time
went (means over submissions, from the workers' measurements: kernel start, the
first cell, which imports, the other cells, nbgrader's own work, the feedback).
``course grade`` also writes feedback HTML, which ``plain`` does not: the ratio is
conservative.

    python benchmarks/bench_grading.py                       # 03_relu_dead_zone, 42, 2 jobs
    python benchmarks/bench_grading.py --slug 01_why_nonlinearity --submissions 60

Exit code 1 if the grades differ or warm's speed-up is below ``--threshold`` (1.7).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_lib.grading import gradebook
from course_lib.grading.course import repo_root
from course_lib.grading.demo import copy_course
from course_lib.grading.grade import grade
from course_lib.grading.release import release
from course_lib.grading.samples import materialise, samples_for

PHASES = ("prepare", "kernel_start", "first_cell", "other_cells", "nbgrader", "feedback")
#: Samples that only wait out a time limit, or that plain nbgrader cannot grade at all.
LEFT_OUT = {"infinite_loop", "broken_json", "old_nbformat", "missing_file"}


def build_course(work: Path, slug: str, count: int) -> Path:
    """A course directory with ``count`` submissions of ``slug``."""
    course = copy_course(repo_root(), work / "course", [slug])
    release(course, [slug])
    samples = [s for s in samples_for(course, slug) if s.student not in LEFT_OUT]
    chosen = [dataclasses.replace(samples[i % len(samples)],
                                  student=f"{samples[i % len(samples)].student}_{i:03d}")
              for i in range(count)]
    materialise(course, slug, chosen, course)
    return course


def run_plain(course: Path, slug: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", slug], cwd=course,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    (course / "nbgrader_autograde.log").write_text(done.stdout + done.stderr)
    return seconds


def run_ours(course: Path, slug: str, jobs: int, warm: bool) -> tuple[float, dict]:
    start = time.perf_counter()
    report = grade(course, [slug], jobs=jobs, warm_kernels=warm, progress=True)
    seconds = time.perf_counter() - start
    graded = [o for o in report.outcomes if o.timings]
    phases = {phase: statistics.fmean(o.timings.get(phase, 0.0) for o in graded)
              for phase in PHASES}
    phases["per_submission"] = statistics.fmean(o.seconds for o in graded)
    return seconds, phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slug", default="03_relu_dead_zone")
    parser.add_argument("--submissions", type=int, default=42)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=1.7)
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the course directories")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        base = build_course(work, args.slug, args.submissions)
        courses = {name: work / name for name in ("plain", "cold", "warm")}
        for course in courses.values():
            shutil.copytree(base, course)
        print(f"{args.submissions} submissions of {args.slug}, {os.cpu_count()} cores, "
              f"{args.jobs} jobs; in {work}", flush=True)
        wall = {"plain": run_plain(courses["plain"], args.slug)}
        print(f"plain nbgrader autograde: {wall['plain']:.1f} s", flush=True)
        phases = {}
        for name in ("cold", "warm"):
            wall[name], phases[name] = run_ours(courses[name], args.slug, args.jobs,
                                                warm=name == "warm")
            print(f"course grade ({name} kernels): {wall[name]:.1f} s", flush=True)
        scores = {name: gradebook.scores(course, args.slug) for name, course in courses.items()}
        same = scores["plain"] == scores["cold"] == scores["warm"]
        print(report(args, wall, phases, scores, same))
        if args.json:
            Path(args.json).write_text(json.dumps({"wall": wall, "phases": phases,
                                                   "same_grades": same}, indent=1))
        return 0 if same and wall["plain"] / wall["warm"] >= args.threshold else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(args, wall: dict, phases: dict, scores: dict, same: bool) -> str:
    n = args.submissions
    lines = ["", f"{'run':<34}{'wall s':>9}{'s/submission':>14}{'speed-up':>10}"]
    for name, label in (("plain", "nbgrader autograde (sequential)"),
                        ("cold", f"course grade -j {args.jobs} --cold-kernels"),
                        ("warm", f"course grade -j {args.jobs}")):
        lines.append(f"{label:<34}{wall[name]:>9.1f}{wall[name] / n:>14.2f}"
                     f"{wall['plain'] / wall[name]:>9.2f}x")
    lines += ["", "one worker's seconds per submission (mean), by phase:",
              f"{'phase':<16}{'cold':>8}{'warm':>8}"]
    for phase in (*PHASES, "per_submission"):
        lines.append(f"{phase:<16}{phases['cold'][phase]:>8.2f}{phases['warm'][phase]:>8.2f}")
    graded = sum(len(cells) for cells in scores["plain"].values())
    lines.append(f"\ngrades identical in all three runs: {same} "
                 f"({len(scores['plain'])} students, {graded} graded cells each run)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
