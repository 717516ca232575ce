"""Shards: one grading run split over n machines, then merged into one gradebook.

``course grade --shard i/n`` grades the submissions whose stable hash of
``<assignment>/<student>`` is i modulo n: a deterministic split that depends on
nothing but the submission's name, so n machines (a Slurm job array, a Kubernetes
indexed Job) that see the same ``submitted/`` folder grade every submission exactly
once between them, without talking to each other.

A shard writes only inside its own folder, ``shards/<slugs>/<i>-of-<n>/``: its autograded
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

from course_lib.errors import CourseError
from course_lib.grading import gradebook, records
from course_lib.grading.course import resolve_slugs
from course_lib.grading.submissions import (
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


def run_key(slugs: Sequence[str]) -> str:
    """The folder name of one sharded run: its assignments, joined by ``+``."""
    return "+".join(sorted(slugs))


def folder(root: Path, shard: tuple[int, int], slugs: Sequence[str],
           shards_dir: Path | None = None) -> Path:
    """Where shard ``(i, n)`` of a run over ``slugs`` keeps its results."""
    return _runs_dir(root, shards_dir) / run_key(slugs) / f"{shard[0]}-of-{shard[1]}"


def _runs_dir(root: Path, shards_dir: Path | None) -> Path:
    return Path(shards_dir or root / "shards")


def _destination(root: Path, where: Path, own_gradebook: bool) -> Destination:
    url = gradebook.sqlite_url(where / "gradebook.db") if own_gradebook else None
    return course_destination(root, folder=where, url=url)


def begin(root: Path, shard: tuple[int, int], slugs: Sequence[str],
          submissions: Sequence[Submission], shards_dir: Path | None = None) -> Destination:
    """Prepare shard ``(i, n)``'s folder and manifest.

    With a SQLite course gradebook the shard reads it once, from a plain copy (n
    machines opening one SQLite file on a network filesystem is what SQLite warns
    against), into a gradebook of its own.

    Returns:
        Where the shard writes (its workers copy the assignments from ``dest.url``).

    Raises:
        CourseError: an assignment is not in the course's gradebook yet. Releasing it
            writes the gradebook and ``notebooks/``, which n shards must not all do at once.
    """
    where = folder(root, shard, slugs, shards_dir)
    where.mkdir(parents=True, exist_ok=True)
    course, course_url = gradebook.course_id(root), gradebook.db_url(root)
    own = gradebook.is_sqlite(course_url)
    source = course_url
    if own and gradebook.db_path(course_url).exists():
        snapshot = where / "course-snapshot.db"
        shutil.copyfile(gradebook.db_path(course_url), snapshot)
        source = gradebook.sqlite_url(snapshot)
    needed = sorted({s.slug for s in submissions})
    dest = _destination(root, where, own)
    try:
        missing = set(needed) - gradebook.assignment_names(source, course)
        if missing:
            raise CourseError(f"{', '.join(sorted(missing))} not in the gradebook yet: run "
                              f"`course release {' '.join(sorted(missing))}` once before the "
                              "shards")
        if own:
            gradebook.copy_assignments(source, dest.url, needed, course)
            for (slug, student), seconds in gradebook.extensions(source, course,
                                                                 needed).items():
                gradebook.grant_extension(dest.url, slug, student, course, seconds)
    finally:
        if source != course_url:
            gradebook.db_path(source).unlink()
    _write_manifest(where, {
        "shard": shard[0], "of": shard[1], "slugs": list(slugs), "own_gradebook": own,
        "complete": False, "submissions": [[s.slug, s.student] for s in submissions],
    })
    return dest


def _write_manifest(where: Path, manifest: dict) -> None:
    partial = where / f".{MANIFEST}.tmp"
    partial.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    partial.replace(where / MANIFEST)


def read_manifest(where: Path) -> dict:
    """A shard's manifest: its index, count, assignments, submissions, completeness."""
    return json.loads((where / MANIFEST).read_text(encoding="utf-8"))


def complete(dest: Destination) -> None:
    """Mark a shard finished in its manifest."""
    manifest = read_manifest(dest.folder)
    manifest["complete"] = True
    _write_manifest(dest.folder, manifest)


def _run_folder(root: Path, slugs: Sequence[str] | None, shards_dir: Path | None) -> Path:
    """The folder of the sharded run to merge: the one for ``slugs``, or the only one."""
    runs = _runs_dir(root, shards_dir)
    if slugs:
        return runs / run_key(resolve_slugs(root, slugs))
    found = sorted(p for p in runs.glob("*") if any(p.glob(f"*/{MANIFEST}")))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise CourseError(f"shards of several runs in {runs} ({names}): name the assignments, "
                          f"e.g. course grade {found[0].name.replace('+', ' ')} --merge")
    if not found:
        raise CourseError(f"no shards to merge in {runs}; run `course grade --shard i/n` first")
    return found[0]


def _shard_folders(run: Path) -> dict[tuple[int, int], Path]:
    found = {}
    for path in sorted(run.iterdir()) if run.is_dir() else []:
        match = _FOLDER.match(path.name)
        if match and (path / MANIFEST).is_file():
            found[(int(match.group(1)), int(match.group(2)))] = path
    if not found:
        raise CourseError(f"no shards to merge in {run}; run `course grade --shard i/n` first")
    return found


def _complete_split(run: Path) -> dict[int, Path]:
    """The shards of the one split found, checked complete: ``{i: folder}``."""
    found = _shard_folders(run)
    counts = sorted({count for _, count in found})
    if len(counts) > 1:
        raise CourseError(f"shards of different splits in {run} (of {counts}); delete the "
                          "folders of the split you do not want")
    count = counts[0]
    missing = [str(i) for i in range(count) if (i, count) not in found]
    if missing:
        raise CourseError(f"shards {', '.join(missing)} of {count} are missing in {run}; "
                          "run them (course grade --shard i/n) before merging")
    unfinished = [str(i) for (i, _), path in sorted(found.items())
                  if not read_manifest(path)["complete"]]
    if unfinished:
        raise CourseError(f"shards {', '.join(unfinished)} of {count} did not finish; run them "
                          "again (they resume) before merging")
    return {i: path for (i, _), path in found.items()}


def _check_coverage(root: Path, manifests: dict[int, dict], folders: dict[int, Path]) -> None:
    """Every submission now in ``submitted/`` was graded, as it is now, by its shard."""
    slugs = sorted({slug for m in manifests.values() for slug in m["slugs"]})
    now = {(s.slug, s.student): s.folder for s in find_submissions(root, slugs)}
    covered = {(slug, student): i for i, m in manifests.items()
               for slug, student in m["submissions"]}
    stale = sorted(set(now) - set(covered))
    for (slug, student), i in covered.items():
        record = records.load(folders[i], slug, student) or {}
        if (slug, student) in now and record.get("fingerprint") != records.fingerprint(
                now[slug, student], record.get("assignment", "")):
            stale.append((slug, student))
    if stale:
        listing = ", ".join(f"{student}/{slug}" for slug, student in sorted(stale)[:5])
        raise CourseError(f"{len(stale)} submissions are new or changed since the shards graded "
                          f"them ({listing}); run the shards again (they resume), then merge")


def merge(root: Path, slugs: Sequence[str] | None = None, shards_dir: Path | None = None
          ) -> BatchReport:
    """Combine complete shards into the course's gradebook, folders and ``grades.csv``.

    Args:
        root: the course directory.
        slugs: the assignments of the sharded run (default: the only run in the shards
            folder).
        shards_dir: where the shards are (default ``<root>/shards``).

    Raises:
        CourseError: a shard is missing or unfinished, shards of different splits are
            mixed, or a submission is new or changed since its shard graded it.
    """
    start = time.perf_counter()
    folders = _complete_split(_run_folder(root, slugs, shards_dir))
    manifests = {i: read_manifest(path) for i, path in folders.items()}
    _check_coverage(root, manifests, folders)
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
    return BatchReport(outcomes, csv, time.perf_counter() - start,
                       sorted({slug for m in manifests.values() for slug in m["slugs"]}))


def _merge_one(shard: Destination, course: Destination, slug: str, student: str) -> Outcome:
    """Move one submission's grades and files from a shard into the course."""
    record = records.load(shard.folder, slug, student)
    if record is None:
        raise CourseError(f"shard {shard.folder.name} has no record of {student}/{slug} (the "
                          "grading machine failed on it); run the shard again, then merge")
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
