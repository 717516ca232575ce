"""Read notebooks, turning every way a file can be broken into one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from course_lib.errors import CourseError


class NotebookError(CourseError):
    """A notebook file is missing or malformed; the message is one line naming the file."""


def read_notebook(path: str | Path):
    """Read and validate an nbformat-4 notebook.

    Raises:
        NotebookError: the file is missing, is not JSON, is not a notebook, or is not
            nbformat 4.
    """
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such notebook file")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not a notebook (not UTF-8 text)") from None
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path}: not a notebook (invalid JSON at line {error.lineno}, "
            f"column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise NotebookError(f"{path}: not a notebook (JSON without a 'cells' list)")
    version = raw.get("nbformat")
    if version != 4:
        raise NotebookError(
            f"{path}: nbformat {version!r} is not supported; expected nbformat 4 "
            "(re-save it with Jupyter 4 or newer)"
        )
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        first_line = str(error).strip().splitlines()[0]
        raise NotebookError(f"{path}: invalid notebook ({first_line})") from None
    return notebook
