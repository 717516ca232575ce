"""``course claims``: run the notebooks on several seeds; which of their claims held.

Each notebook's experiment cells seed themselves from ``$COURSE_SEED``
(:func:`course_lib.lab.claims.experiment_seed`) and state their conclusions as claims
(:func:`course_lib.lab.claims.claim`), which append to ``$COURSE_CLAIMS_LOG``. This
module executes the course's source notebooks (answers filled in) once per seed, at
grading size (``NBGRADER_EXECUTION`` set: what CI runs) or at full size, and gathers
the claims into a table: claim | seeds held | measured values.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.lab.claims import LOG_ENV, SEED_ENV

#: Per-cell time limit when executing a notebook for its claims, in seconds.
CELL_TIMEOUT = 1800


@dataclass
class ClaimRow:
    """One claim of one notebook across seeds."""

    slug: str
    text: str
    held: dict[int, bool | None] = field(default_factory=dict)
    measured: dict[int, dict] = field(default_factory=dict)

    @property
    def judged(self) -> list[bool]:
        return [h for h in self.held.values() if h is not None]

    @property
    def summary(self) -> str:
        judged = self.judged
        if not judged:
            return "not judged"
        return f"{sum(judged)}/{len(judged)}"


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(path: Path, seed: int, *, full: bool) -> list[dict]:
    """Execute a copy of the notebook at ``path`` with ``seed``; the claims it made.

    Raises:
        CourseError: a cell failed (with the cell's error line).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    work = Path(tempfile.mkdtemp(prefix="course-claims-"))
    try:
        for item in path.parent.iterdir():  # helper files beside the notebook
            if item.is_file() and item.suffix != ".ipynb":
                shutil.copy2(item, work / item.name)
        log = work / "claims.jsonl"
        notebook = nbformat.read(path, as_version=4)
        env = {SEED_ENV: str(seed), LOG_ENV: str(log),
               "NBGRADER_EXECUTION": None if full else "autograde"}
        with _environment(env):
            client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                    resources={"metadata": {"path": str(work)}})
            try:
                client.execute()
            except CellExecutionError as error:
                lines = [line for line in str(error).splitlines() if line.strip()]
                raise CourseError(f"{path.name} (seed {seed}): a cell failed: "
                                  f"{lines[-1] if lines else 'no message'}") from None
        if not log.is_file():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_claims(notebooks: dict[str, Path], seeds: Sequence[int], *, full: bool = False,
               progress: bool = True) -> list[ClaimRow]:
    """Every claim of ``notebooks`` (``{slug: path}``) on every seed, in notebook order."""
    from tqdm.auto import tqdm

    if not seeds:
        raise CourseError("--seeds: expected at least one seed")
    rows: dict[tuple[str, str], ClaimRow] = {}
    runs = [(slug, seed) for slug in notebooks for seed in seeds]
    for slug, seed in tqdm(runs, desc="claims", unit="run", disable=not progress,
                           file=sys.stderr):
        for entry in run_notebook(notebooks[slug], seed, full=full):
            row = rows.setdefault((slug, entry["text"]), ClaimRow(slug, entry["text"]))
            row.held[seed] = entry["held"]
            row.measured[seed] = entry["measured"]
    return list(rows.values())


def table(rows: list[ClaimRow]) -> str:
    """The claims as a text table: notebook, claim, seeds held, measured values per seed."""
    if not rows:
        return "no claims"
    lines = []
    for row in rows:
        lines.append(f"{row.slug}  {row.summary:>10}  {row.text}")
        for seed, values in sorted(row.measured.items()):
            shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
            mark = {True: "held", False: "FAILED", None: "not judged"}[row.held[seed]]
            lines.append(f"{'':>4}seed {seed}: {mark}  {shown}")
    return "\n".join(lines)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)
