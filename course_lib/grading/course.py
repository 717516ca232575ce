"""The course directory: where it is, its nbgrader config, its assignments.

A course directory is any folder with an ``nbgrader_config.py`` (the repository root
is one). Problems a user can fix are raised as :class:`CourseError`, whose message is
one line that says what is wrong and what to do.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError

CONFIG_FILE = "nbgrader_config.py"


def repo_root() -> Path:
    """The repository this package was installed from (editable install), if any."""
    return Path(__file__).resolve().parents[2]


def course_dir(path: str | os.PathLike | None = None) -> Path:
    """Resolve a course directory: ``path``, else the current directory.

    There is no fallback to the installed package's repository: a command run from the
    wrong folder must not write into the course it happens to be installed from.

    Raises:
        CourseError: the folder does not exist or has no ``nbgrader_config.py``.
    """
    if path is None:
        if (Path.cwd() / CONFIG_FILE).is_file():
            return Path.cwd().resolve()
        raise CourseError(f"no course directory: {Path.cwd()} has no {CONFIG_FILE}; run the "
                          "command in your course directory or name it with --course-dir DIR")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise CourseError(f"course directory {root} does not exist")
    if not (root / CONFIG_FILE).is_file():
        raise CourseError(f"{root} is not a course directory: it has no {CONFIG_FILE}")
    return root.resolve()


def repository_course() -> Path:
    """The course of the repository this package was installed from, for reading only
    (``course demo`` copies it; nothing writes there).

    Raises:
        CourseError: the package was not installed from a course repository.
    """
    root = repo_root()
    if not (root / CONFIG_FILE).is_file():
        raise CourseError(f"this course_lib was not installed from a course repository ({root} "
                          f"has no {CONFIG_FILE}); name a course with --course-dir DIR")
    return root


def load_config(root: Path, **overrides: Any):
    """The course's nbgrader config with ``CourseDirectory.root`` set to ``root``.

    Only the course's own ``nbgrader_config.py`` is read (not the user's global
    Jupyter config), so grades do not depend on who runs the command.

    Args:
        root: the course directory.
        **overrides: ``"Section.trait": value`` pairs applied on top, e.g.
            ``{"Execute.timeout": 5}``.
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    for key, value in overrides.items():
        section, trait = key.split(".")
        config.merge(Config({section: {trait: value}}))
    return config


def nbgrader_api(root: Path, **overrides: Any):
    """An :class:`nbgrader.apps.NbGraderAPI` on the course directory, logging quietly.

    nbgrader's log goes to the returned result dicts (``capture_log``), not to the
    terminal.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = load_config(root, **overrides)
    _quiet_nbgrader_logging()
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def _quiet_nbgrader_logging() -> None:
    """nbgrader logs through traitlets' logger; keep it off the terminal.

    The API's results still carry the log: ``capture_log`` adds its own handler.
    """
    from traitlets import log

    logger = log.get_logger()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(logging.NullHandler())


def source_dir(root: Path) -> Path:
    """The directory holding the source (instructor) notebooks."""
    return root / str(load_config(root).CourseDirectory.get("source_directory", "source"))


def release_dir(root: Path) -> Path:
    """The directory nbgrader writes released (student) notebooks to."""
    return root / str(load_config(root).CourseDirectory.get("release_directory", "release"))


def assignments(root: Path) -> list[str]:
    """Assignments of the course: folders of the source directory with a notebook."""
    source = source_dir(root)
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def resolve_slugs(root: Path, slugs: list[str] | tuple[str, ...] | None) -> list[str]:
    """The assignments to work on: ``slugs``, or all of them when none are given.

    Raises:
        CourseError: a slug is not an assignment of the course, or there are none.
    """
    known = assignments(root)
    if not slugs:
        if not known:
            raise CourseError(f"no assignments in {source_dir(root)}: nothing to do")
        return known
    for slug in slugs:
        if slug not in known:
            listing = ", ".join(known) or "none yet"
            raise CourseError(f"unknown assignment {slug!r}; this course has: {listing}")
    return list(dict.fromkeys(slugs))
