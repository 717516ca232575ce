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


#: Per-cell limit of the quick demo, in seconds: its one infinite loop waits this long.
QUICK_CELL_TIMEOUT = 30


def representative(samples: list[Sample], first: bool) -> list[Sample]:
    """A quick demo's samples of one assignment: a bug whose mistake the checks name (it
    runs the whole notebook too); for the ``first`` assignment also the correct one, a
    cheat, a crash and an infinite loop. One of each kind shows how it is graded and keeps
    the demo near two minutes."""
    kinds = [("bug_",)]
    if first:
        kinds = [("correct",), *kinds, ("cheat_", "torch_", "patched_check", "hardcoded_"),
                 ("crash",), ("infinite_loop",)]
    chosen = []
    for prefixes in kinds:
        found = next((s for s in samples if s.student.startswith(prefixes)), None)
        if found is not None:
            chosen.append(found)
    return chosen


def prepare(root: Path, work: Path, slugs: list[str], *, quick: bool = False
            ) -> dict[str, list[Sample]]:
    """Copy, release and fill ``work`` with the samples (every one, or a representative
    few with ``quick``); return the samples per slug."""
    copy_course(root, work, slugs)
    release(work, slugs)
    corpus = {}
    for index, slug in enumerate(slugs):
        corpus[slug] = samples_for(work, slug)
        if quick:
            corpus[slug] = representative(corpus[slug], first=index == 0)
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
         keep: bool = False, everything: bool = False) -> bool:
    """Run the demo and print its tables; True when every score is the recorded one.

    By default a representative few submissions per assignment (:func:`representative`,
    with a per-cell limit of :data:`QUICK_CELL_TIMEOUT` s); ``everything`` grades the whole
    sample corpus with the course's own limits.
    """
    root = course_dir(course) if course is not None else repository_course()
    chosen = resolve_slugs(root, slugs)
    work = Path(tempfile.mkdtemp(prefix="course-demo-"))
    try:
        corpus = prepare(root, work, chosen, quick=not everything)
        count = sum(len(samples) for samples in corpus.values())
        kinds = "sample submissions" if everything else "representative submissions " \
            "(a named mistake in each notebook; a correct one, a cheat, a crash and an " \
            "infinite loop; --all for all)"
        print(f"course demo: {count} {kinds} of {', '.join(chosen)} in {work}")
        overrides = {} if everything else {"Execute.timeout": QUICK_CELL_TIMEOUT}
        report: BatchReport = grade(work, chosen, jobs=jobs, overrides=overrides)
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
