"""``course grade --jobs N`` against plain sequential ``nbgrader autograde``, and what the
sandbox costs.

One course directory with 40+ submissions of one notebook (the assignment's sample
corpus, repeated under new student names) is copied and graded, one run after the
other, on this machine. Left out of the corpus: the sample that loops forever (it
measures only the per-cell time limit) and the three whose files are broken (plain
nbgrader records no grade for them, so there is nothing to compare).

1. ``plain``: ``python -m nbgrader autograde SLUG``: one submission after another, as
   an instructor without this course's tooling would run it (no sandbox, verdicts in
   the student's kernel);
2. ``unsandboxed``: ``course grade --jobs N --no-sandbox``: warm kernels, verdicts
   reached outside the notebook, no sandbox;
3. ``sandboxed``: ``course grade --jobs N`` as instructors run it: the same, each
   kernel and each batch of the grader's calls in a sandbox;
4. with ``--cold``, also ``course grade --jobs N --cold-kernels``.

The two ``course grade`` runs must give every student the same score on every graded
cell; ``plain`` may differ only where its verdicts in the student's kernel were fooled
(a sample that patches the check it is graded by). The report gives each run's
wall-clock time, the speed-up over ``plain`` and the sandbox's cost (ratios of wall
times in the same script), and where a submission's time went (means over
submissions, from the workers' measurements). ``course grade`` also writes feedback
HTML, which ``plain`` does not: the speed-up is conservative.

    python benchmarks/bench_grading.py                       # 03_relu_dead_zone, 42, 2 jobs
    python benchmarks/bench_grading.py --slug 01_why_nonlinearity --submissions 60

Exit code 1 if the grades differ, the speed-up is below ``--threshold`` (2.0) or the
sandbox costs more than ``--overhead`` (10 %) of grading time.
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

PHASES = ("prepare", "kernel_start", "first_cell", "other_cells", "nbgrader", "verdicts",
          "feedback")
#: Samples that only wait out a time limit, or that plain nbgrader cannot grade at all.
LEFT_OUT = {"infinite_loop", "broken_json", "old_nbformat", "missing_file"}
#: Samples whose verdict plain nbgrader, judging in the student's kernel, gets wrong.
FOOLS_PLAIN = ("patched_check",)
#: The runs, with how ``course grade`` is called in each.
RUNS = {"unsandboxed": {"sandboxed": False}, "sandboxed": {},
        "cold": {"warm_kernels": False}}
LABELS = {"plain": "nbgrader autograde (sequential)",
          "unsandboxed": "course grade -j {jobs} --no-sandbox",
          "sandboxed": "course grade -j {jobs}",
          "cold": "course grade -j {jobs} --cold-kernels"}


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


def run_ours(course: Path, slug: str, jobs: int, options: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    report = grade(course, [slug], jobs=jobs, progress=True, **options)
    seconds = time.perf_counter() - start
    graded = [o for o in report.outcomes if o.timings]
    phases = {phase: statistics.fmean(o.timings.get(phase, 0.0) for o in graded)
              for phase in PHASES}
    phases["per_submission"] = statistics.fmean(o.seconds for o in graded)
    return seconds, phases


def compare(scores: dict) -> tuple[bool, list[str]]:
    """Whether the course grade runs agree, and the students plain nbgrader judged
    differently (each must be one it was fooled by, scoring more there)."""
    ours = [scores[name] for name in scores if name != "plain"]
    same = all(s == ours[0] for s in ours)
    differ = [student for student, cells in ours[0].items()
              if scores["plain"].get(student) != cells]
    fooled = all(student.startswith(FOOLS_PLAIN)
                 and sum(scores["plain"][student].values()) > sum(ours[0][student].values())
                 for student in differ)
    return same and fooled, differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slug", default="03_relu_dead_zone")
    parser.add_argument("--submissions", type=int, default=42)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=2.0)
    parser.add_argument("--overhead", type=float, default=0.10)
    parser.add_argument("--cold", action="store_true", help="also time --cold-kernels")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the course directories")
    args = parser.parse_args(argv)

    names = ["plain", "unsandboxed", "sandboxed", *(["cold"] if args.cold else [])]
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        base = build_course(work, args.slug, args.submissions)
        courses = {name: work / name for name in names}
        for course in courses.values():
            shutil.copytree(base, course)
        print(f"{args.submissions} submissions of {args.slug}, {os.cpu_count()} cores, "
              f"{args.jobs} jobs; in {work}", flush=True)
        wall = {"plain": run_plain(courses["plain"], args.slug)}
        print(f"plain nbgrader autograde: {wall['plain']:.1f} s", flush=True)
        phases = {}
        for name in names[1:]:
            wall[name], phases[name] = run_ours(courses[name], args.slug, args.jobs,
                                                RUNS[name])
            print(f"{LABELS[name].format(jobs=args.jobs)}: {wall[name]:.1f} s", flush=True)
        scores = {name: gradebook.scores(course, args.slug) for name, course in courses.items()}
        agree, differ = compare(scores)
        speedup = wall["plain"] / wall["sandboxed"]
        overhead = (wall["sandboxed"] - wall["unsandboxed"]) / wall["sandboxed"]
        print(report(args, names, wall, phases, scores, agree, differ, overhead))
        if args.json:
            Path(args.json).write_text(json.dumps({
                "wall": wall, "phases": phases, "grades_agree": agree,
                "plain_differs_on": differ, "speedup": speedup,
                "sandbox_overhead": overhead}, indent=1))
        return 0 if agree and speedup >= args.threshold and overhead <= args.overhead else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(args, names: list[str], wall: dict, phases: dict, scores: dict, agree: bool,
           differ: list[str], overhead: float) -> str:
    n = args.submissions
    lines = ["", f"{'run':<38}{'wall s':>9}{'s/submission':>14}{'speed-up':>10}"]
    for name in names:
        lines.append(f"{LABELS[name].format(jobs=args.jobs):<38}{wall[name]:>9.1f}"
                     f"{wall[name] / n:>14.2f}{wall['plain'] / wall[name]:>9.2f}x")
    lines.append(f"\nthe sandbox's cost: {overhead:.1%} of the sandboxed run's wall time")
    ours = names[1:]
    lines += ["", "one worker's seconds per submission (mean), by phase:",
              f"{'phase':<16}" + "".join(f"{name:>13}" for name in ours)]
    for phase in (*PHASES, "per_submission"):
        lines.append(f"{phase:<16}" + "".join(f"{phases[name][phase]:>13.2f}" for name in ours))
    graded = sum(len(cells) for cells in scores["sandboxed"].values())
    lines.append(f"\ngrades agree: {agree} ({len(scores['sandboxed'])} students, {graded} "
                 f"graded cells each run); plain nbgrader differs on {len(differ)}: "
                 f"{', '.join(sorted(differ)) or 'none'}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
