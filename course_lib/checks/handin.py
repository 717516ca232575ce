"""Handing the student's function in to the grader, from a notebook ``course grade`` runs.

Under ``course grade`` a notebook runs in a sandbox with ``COURSE_HANDIN_DIR`` set.
There a check does not judge anything: its :class:`~course_lib.checks.core.Checker`
writes the student's function (or class) into that folder with cloudpickle, by value
with the notebook functions it calls, and stops the test cell with :class:`HandedIn`.
The grader then runs the same check outside the notebook, calling the function in a
fresh sandbox of its own (:mod:`course_lib.checks.recorder`) and comparing the results
with the reference where the student's code cannot reach
(:mod:`course_lib.grading.verdicts`). What the notebook prints or raises in a test cell
therefore decides nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Environment variable naming the folder hand-ins go to (set only by the grader).
HANDIN_ENV = "COURSE_HANDIN_DIR"
#: Suffixes of a hand-in: the pickled object, or why it could not be pickled.
PICKLE, ERROR = ".pkl", ".error"


class HandedIn(Exception):
    """The test cell's function went to the grader; the check runs outside the notebook."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def active() -> bool:
    """Is this notebook being graded (so checks hand in instead of judging)?"""
    return bool(os.environ.get(HANDIN_ENV))


def handin_path(folder: str | os.PathLike, exercise: str, suffix: str = PICKLE) -> Path:
    """Where the hand-in of ``exercise`` goes in ``folder``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", exercise):
        raise ValueError(f"exercise: expected an identifier, got {exercise!r}")
    return Path(folder) / f"{exercise}{suffix}"


def hand_in(exercise: str, obj: object) -> None:
    """Write ``obj`` as ``<exercise>.pkl`` (or the reason it cannot be, as
    ``<exercise>.error``) into ``$COURSE_HANDIN_DIR``, then raise :class:`HandedIn`."""
    import cloudpickle

    folder = os.environ[HANDIN_ENV]
    target = handin_path(folder, exercise)
    failure = handin_path(folder, exercise, ERROR)
    try:
        data = cloudpickle.dumps(obj)
    except Exception as error:  # e.g. a generator or an open file among its globals
        failure.write_text(f"{type(error).__name__}: {error}"[:2000], encoding="utf-8")
        target.unlink(missing_ok=True)
    else:
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        failure.unlink(missing_ok=True)
    raise HandedIn(f"{exercise}: handed in; `course grade` checks it outside this notebook")
