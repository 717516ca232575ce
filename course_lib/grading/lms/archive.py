"""Reading a downloaded LMS zip safely: is it a zip, may every member be extracted.

Nothing is extracted until every member name has been checked, so a zip with one
``../`` entry writes no file at all.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from course_lib.grading.lms.records import LmsError, Skipped

#: Files operating systems add to archives; never part of a submission.
CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def open_archive(archive: Path) -> zipfile.ZipFile:
    """Open ``archive`` after checking it is a zip whose members stay inside it.

    Raises:
        LmsError: the file is missing, is not a zip, or a member name is absolute
            or climbs out with ``..``.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise LmsError(f"archive: expected a zip file, got {archive}, which does not exist")
    if not zipfile.is_zipfile(archive):
        raise LmsError(f"archive: expected a zip file, got {archive}, which is not a zip "
                       f"(starts with {_head(archive)!r})")
    zf = zipfile.ZipFile(archive)
    for info in zf.infolist():
        problem = unsafe_name(info.filename)
        if problem:
            zf.close()
            raise LmsError(f"archive: refusing {archive.name}: member {info.filename!r} {problem}")
    return zf


def unsafe_name(name: str) -> str:
    """Why extracting a member called ``name`` could write outside the target, or ''."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "is an absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "climbs out of the archive with '..'"
    return ""


def members(zf: zipfile.ZipFile) -> tuple[list[str], list[Skipped]]:
    """The file members of ``zf`` worth parsing, and the clutter left out."""
    kept, clutter = [], []
    for info in zf.infolist():
        if info.is_dir():
            continue
        parts = PurePosixPath(info.filename).parts
        if parts[0] == "__MACOSX" or parts[-1] in CLUTTER or parts[-1].startswith("._"):
            clutter.append(Skipped(info.filename, "operating-system clutter"))
        else:
            kept.append(info.filename)
    return kept, clutter


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)
