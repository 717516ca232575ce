"""``course demo``: grade the bundled sample submissions end to end.

Copies the course (its ``nbgrader_config.py`` and source notebooks) into a
temporary directory, releases it, writes every sample submission of
:mod:`course_lib.grading.samples` into ``submitted/``, runs ``course grade`` on
it (autograde, feedback, ``grades.csv``) and prints each submission's score next
to the score recorded for it, with per-student totals.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from course_lib.grading import gradebook
from course_lib.grading.course import (
    CONFIG_FILE,
    course_dir,
    repository_course,
    resolve_slugs,
    source_dir,
)
from course_lib.grading.grade import grade
from course_lib.grading.release import release
from course_lib.grading.report import outcome_table, render
from course_lib.grading.samples import Sample, materialise, samples_for
from course_lib.grading.submissions import BatchReport


def copy_course(root: Path, destination: Path, slugs: list[str]) -> Path:
    """A fresh course directory with ``root``'s config and the sources of ``slugs``."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / CONFIG_FILE, destination / CONFIG_FILE)
    for slug in slugs:
        relative = source_dir(root).relative_to(root) / slug
        shutil.copytree(root / relative, destination / relative)
    return destination


def prepare(root: Path, work: Path, slugs: list[str]) -> dict[str, list[Sample]]:
    """Copy, release and fill ``work`` with every sample; return the samples per slug."""
    copy_course(root, work, slugs)
    release(work, slugs)
    corpus = {}
    for slug in slugs:
        corpus[slug] = samples_for(work, slug)
        materialise(work, slug, corpus[slug], work)
    return corpus


def compare(work: Path, corpus: dict[str, list[Sample]]) -> tuple[str, bool]:
    """Table of expected against actual scores, and whether all of them agree."""
    rows = [("student", "assignment", "expected", "got", "")]
    all_agree = True
    for slug, samples in corpus.items():
        got = gradebook.scores(work, slug)
        for sample in samples:
            score = sum(got.get(sample.student, {}).values())
            agree = abs(score - sample.score) < 1e-9
            all_agree &= agree
            rows.append((sample.student, slug, f"{sample.score:g}", f"{score:g}",
                         "ok" if agree else "MISMATCH"))
    return render(rows), all_agree


def demo(course: str | None = None, *, jobs: int = 2, slugs: list[str] | None = None,
         keep: bool = False) -> bool:
    """Run the demo and print its tables; True when every score is the recorded one."""
    root = course_dir(course) if course is not None else repository_course()
    chosen = resolve_slugs(root, slugs)
    work = Path(tempfile.mkdtemp(prefix="course-demo-"))
    try:
        corpus = prepare(root, work, chosen)
        count = sum(len(samples) for samples in corpus.values())
        print(f"course demo: {count} sample submissions of {', '.join(chosen)} in {work}")
        report: BatchReport = grade(work, chosen, jobs=jobs)
        print(outcome_table(report.outcomes))
        table, agree = compare(work, corpus)
        print("\nRecorded against actual scores\n" + table)
        print(f"\n{count} submissions graded in {report.seconds:.0f} s with {jobs} jobs; "
              f"grades.csv and feedback/ written in {work}"
              + ("" if keep else " (removed now; --keep keeps them)"))
        print("all scores as recorded" if agree else "SOME SCORES DIFFER FROM THE RECORD")
        return agree
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
