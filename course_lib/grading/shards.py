"""Shards: one grading run split over n machines, then merged into one gradebook.

``course grade --shard i/n`` grades the submissions whose stable hash of
``<assignment>/<student>`` is i modulo n: a deterministic split that depends on
nothing but the submission's name, so n machines (a Slurm job array, a Kubernetes
indexed Job) that see the same ``submitted/`` folder grade every submission exactly
once between them, without talking to each other.

A shard writes only inside its own folder, ``shards/<i>-of-<n>/``: its autograded
notebooks, feedback, logs, records (so a killed shard resumes like any run), a
manifest ``shard.json`` and, when the course's gradebook is a SQLite file (which must
not be shared between machines), a SQLite gradebook of its own. When the course's
gradebook is a database server, shards write their grades straight into it.

``course grade --merge`` checks that all n shards are there and complete and that
together they cover every submission, then merges their grades into the course's
gradebook, copies their files into the course's folders and writes ``grades.csv``:
the same gradebook and CSV as one run on one machine.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from course_lib.grading import gradebook, records
from course_lib.grading.course import CourseError, resolve_slugs
from course_lib.grading.grade import (
    BatchReport,
    Destination,
    Outcome,
    Submission,
    copy_results,
    course_destination,
    find_submissions,
)

MANIFEST = "shard.json"
_FOLDER = re.compile(r"^(\d+)-of-(\d+)$")


def parse(spec: str) -> tuple[int, int]:
    """``"i/n"`` as ``(i, n)``, with 0 <= i < n (Slurm's and Kubernetes' 0-based indices).

    Raises:
        CourseError: ``spec`` is not of that form.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match or not int(match.group(1)) < int(match.group(2)):
        raise CourseError(f"--shard: expected i/n with 0 <= i < n (e.g. 0/3), got {spec!r}")
    return int(match.group(1)), int(match.group(2))


def owner(slug: str, student: str, count: int) -> int:
    """The shard (of ``count``) that grades this submission: a stable hash, mod ``count``."""
    digest = hashlib.sha256(f"{slug}/{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def select(submissions: Sequence[Submission], shard: tuple[int, int]) -> list[Submission]:
    """The submissions shard ``(i, n)`` grades."""
    index, count = shard
    return [s for s in submissions if owner(s.slug, s.student, count) == index]


def folder(root: Path, shard: tuple[int, int], shards_dir: Path | None = None) -> Path:
    """Where shard ``(i, n)`` keeps its results."""
    return Path(shards_dir or root / "shards") / f"{shard[0]}-of-{shard[1]}"


def _destination(root: Path, where: Path, own_gradebook: bool) -> Destination:
    url = gradebook.sqlite_url(where / "gradebook.db") if own_gradebook else None
    return course_destination(root, folder=where, url=url)


def begin(root: Path, shard: tuple[int, int], submissions: Sequence[Submission],
          shards_dir: Path | None = None) -> Destination:
    """Prepare shard ``(i, n)``'s folder and manifest; return where it writes.

    Raises:
        CourseError: an assignment is not in the course's gradebook yet. Releasing it
            writes the gradebook and ``notebooks/``, which n shards must not all do at once.
    """
    slugs = sorted({s.slug for s in submissions})
    course = gradebook.course_id(root)
    missing = set(slugs) - gradebook.assignment_names(gradebook.db_url(root), course)
    if missing:
        raise CourseError(f"{', '.join(sorted(missing))} not in the gradebook yet: run "
                          f"`course release {' '.join(sorted(missing))}` once before the shards")
    where = folder(root, shard, shards_dir)
    where.mkdir(parents=True, exist_ok=True)
    own = gradebook.is_sqlite(gradebook.db_url(root))
    dest = _destination(root, where, own)
    if own:
        gradebook.copy_assignments(gradebook.db_url(root), dest.url, slugs, course)
    _write_manifest(where, {
        "shard": shard[0], "of": shard[1], "own_gradebook": own, "complete": False,
        "submissions": [[s.slug, s.student] for s in submissions],
    })
    return dest


def _write_manifest(where: Path, manifest: dict) -> None:
    partial = where / f".{MANIFEST}.tmp"
    partial.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    partial.replace(where / MANIFEST)


def read_manifest(where: Path) -> dict:
    return json.loads((where / MANIFEST).read_text(encoding="utf-8"))


def complete(dest: Destination) -> None:
    """Mark a shard finished in its manifest."""
    manifest = read_manifest(dest.folder)
    manifest["complete"] = True
    _write_manifest(dest.folder, manifest)


def _shard_folders(shards_dir: Path) -> dict[tuple[int, int], Path]:
    if not shards_dir.is_dir():
        raise CourseError(f"no shards to merge: {shards_dir} does not exist; run "
                          "`course grade --shard i/n` first")
    found = {}
    for path in sorted(shards_dir.iterdir()):
        match = _FOLDER.match(path.name)
        if match and (path / MANIFEST).is_file():
            found[(int(match.group(1)), int(match.group(2)))] = path
    if not found:
        raise CourseError(f"no shards to merge in {shards_dir}")
    return found


def _complete_split(shards_dir: Path) -> dict[int, Path]:
    """The shards of the one split found, checked complete: ``{i: folder}``."""
    found = _shard_folders(shards_dir)
    counts = sorted({count for _, count in found})
    if len(counts) > 1:
        raise CourseError(f"shards of different splits in {shards_dir} (of {counts}); keep one")
    count = counts[0]
    missing = [str(i) for i in range(count) if (i, count) not in found]
    if missing:
        raise CourseError(f"shards {', '.join(missing)} of {count} are missing in {shards_dir}; "
                          "run them (course grade --shard i/n) before merging")
    unfinished = [str(i) for (i, _), path in sorted(found.items())
                  if not read_manifest(path)["complete"]]
    if unfinished:
        raise CourseError(f"shards {', '.join(unfinished)} of {count} did not finish; run them "
                          "again (they resume) before merging")
    return {i: path for (i, _), path in found.items()}


def _check_coverage(root: Path, manifests: dict[int, dict], slugs: Sequence[str]) -> None:
    """Every submission now in ``submitted/`` was graded by the shard that owns it."""
    covered = {(slug, student) for m in manifests.values() for slug, student in m["submissions"]}
    now = {(s.slug, s.student) for s in find_submissions(root, slugs)}
    ungraded = sorted(now - covered)
    if ungraded:
        listing = ", ".join(f"{student}/{slug}" for slug, student in ungraded[:5])
        raise CourseError(f"{len(ungraded)} submissions arrived after the shards ran "
                          f"({listing}); run the shards again (they resume), then merge")


def merge(root: Path, slugs: Sequence[str] | None = None, shards_dir: Path | None = None
          ) -> BatchReport:
    """Combine complete shards into the course's gradebook, folders and ``grades.csv``.

    Raises:
        CourseError: a shard is missing or unfinished, shards of different splits are
            mixed, or submissions arrived that no shard graded.
    """
    start = time.perf_counter()
    folders = _complete_split(Path(shards_dir or root / "shards"))
    manifests = {i: read_manifest(path) for i, path in folders.items()}
    chosen = resolve_slugs(root, slugs)
    _check_coverage(root, manifests, chosen)
    graded = sorted({slug for m in manifests.values() for slug, _ in m["submissions"]})
    gradebook.ensure_assignments(root, graded)
    course = course_destination(root)
    outcomes = []
    for i, path in sorted(folders.items()):
        shard_dest = _destination(root, path, manifests[i]["own_gradebook"])
        for slug, student in manifests[i]["submissions"]:
            outcomes.append(_merge_one(shard_dest, course, slug, student))
    csv = gradebook.export_csv(root, root / "grades.csv")
    outcomes.sort(key=lambda o: (o.slug, o.student))
    return BatchReport(outcomes, csv, time.perf_counter() - start)


def _merge_one(shard: Destination, course: Destination, slug: str, student: str) -> Outcome:
    """Move one submission's grades and files from a shard into the course."""
    record = records.load(shard.folder, slug, student)
    if record is None:
        raise CourseError(f"shard {shard.folder.name} has no record of {student}/{slug}; run "
                          "it again (it resumes) before merging")
    if shard.url != course.url:
        recorded = gradebook.read_submission(shard.url, slug, student, shard.course)
        gradebook.write_submission(course.url, slug, student, course.course, recorded)
    copy_results(shard.folder, course, slug, student)
    log = records.path(shard.folder, slug, student)
    for suffix in (".log", ".json"):
        target = records.path(course.folder, slug, student).with_suffix(suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(log.with_suffix(suffix), target)
    outcome = Outcome(**record["outcome"])
    outcome.score, outcome.max_score = gradebook.score_of(course.url, slug, student,
                                                          course.course)
    return outcome
