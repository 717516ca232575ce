"""Records of finished submissions: what lets a killed grading run resume.

When a submission's grades are committed to the gradebook and its autograded
notebook, feedback and log are in place, ``course grade`` writes
``grade_logs/<slug>/<student>.json`` (a temporary file renamed into place, so a
record is whole or absent). A later run skips every submission whose record is
there with the same fingerprint, and whose grades are in the gradebook; it grades
the rest. A run killed at any instant therefore loses at most the submissions in
flight, and redoes only those: their grades are rewritten through
``update_or_create``, never added twice.

The fingerprint covers everything a grade depends on: the submitted files, the
assignment's source folder (helper files), the gradebook's definition of the
assignment (the test cells autograde restores, points, due date: ``course release``
updates it after tests are edited), the course's ``nbgrader_config.py``, the run's
nbgrader overrides and sandboxing, and the grading code itself (every file of
course_lib, and the versions of NumPy, PyTorch, nbgrader and the kernel). A
resubmission, a test edited and released, or a changed check makes the submission due
again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from course_lib.grading.course import CONFIG_FILE, source_dir

LOG_DIR = "grade_logs"


def _hash_tree(digest, folder: Path, pattern: str = "*") -> None:
    for path in sorted(p for p in folder.rglob(pattern) if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def assignment_digest(root: Path, slug: str, overrides: dict, definition: str = "") -> str:
    """A SHA-256 of what every submission's grade of ``slug`` depends on: the source
    folder, the gradebook's ``definition`` of the assignment (the tests autograde
    restores), the config, the overrides and the grading code (:func:`code_digest`)."""
    digest = hashlib.sha256(definition.encode())
    _hash_tree(digest, source_dir(root) / slug)
    digest.update((root / CONFIG_FILE).read_bytes())
    digest.update(json.dumps(overrides, sort_keys=True, default=str).encode())
    digest.update(code_digest().encode())
    return digest.hexdigest()


#: Packages whose version a grade may depend on.
GRADING_PACKAGES = ("numpy", "torch", "nbgrader", "nbclient", "ipykernel", "cloudpickle")


@functools.cache
def code_digest() -> str:
    """A SHA-256 of the grading code: every file of course_lib (its checks, references
    and grader) and the versions of :data:`GRADING_PACKAGES`. A changed check or a new
    NumPy makes every submission due again."""
    from importlib import metadata

    import course_lib

    digest = hashlib.sha256()
    _hash_tree(digest, Path(course_lib.__file__).resolve().parent, "*.py")
    for name in GRADING_PACKAGES:
        try:
            digest.update(f"{name}=={metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} absent\n".encode())
    return digest.hexdigest()


def fingerprint(submission_folder: Path, assignment: str) -> str:
    """A SHA-256 of the submitted files and the :func:`assignment_digest`."""
    digest = hashlib.sha256(assignment.encode())
    _hash_tree(digest, submission_folder)
    return digest.hexdigest()


def path(folder: Path, slug: str, student: str) -> Path:
    """Where the record of one submission lives under a results folder."""
    return folder / LOG_DIR / slug / f"{student}.json"


def load(folder: Path, slug: str, student: str) -> dict | None:
    """The record of one submission, or None if absent or unreadable."""
    try:
        return json.loads(path(folder, slug, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def save(folder: Path, slug: str, student: str, record: dict) -> Path:
    """Write a record atomically (whole or not at all, even under SIGKILL)."""
    target = path(folder, slug, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, target)
    return target
