"""The grader's calls of a student's function, made in a sandbox; results written as data.

``course grade`` never calls a student's function in its own process. It runs a check
with a stand-in for the function (:mod:`course_lib.grading.replay`), collects the calls
the check makes (:class:`Request`), and has this module make them, in a fresh sandbox
that holds the hand-ins (:mod:`course_lib.checks.handin`) but neither the references
nor, for a NumPy exercise, PyTorch or SciPy::

    python -m course_lib.checks.recorder REQUESTS.pkl HANDIN_DIR OUT_DIR

Each answer goes to ``OUT_DIR/<id>.json`` (and ``<id>.npz``), in the requests' order,
as soon as it is known: a :class:`~course_lib.checks.core._Run` for a call, data for a
probe (:mod:`course_lib.checks.wire`). The requests file is the grader's (trusted); the
answers are the student's code's (hostile): the grader decodes them as data only, and
decides every verdict itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.checks import wire
from course_lib.checks.core import LocalSubject, Observer, _last_frame_line, _Run
from course_lib.checks.handin import ERROR, handin_path


@dataclasses.dataclass
class Request:
    """One call of a student's object the grader needs the result of.

    Args:
        id: names the answer's files (unique within a grading run of one submission).
        exercise: names the hand-in, e.g. ``"sigmoid"``.
        kind: ``"call"`` (the function on ``args``; a :class:`_Run` comes back) or
            ``"probe"`` (``probe(obj, *args)``; data comes back).
        args, kwargs: the inputs.
        forbidden: packages the student's code may not use (absent from the sandbox of a
            call or probe that forbids ``torch``).
        observer: looks at the arguments after a call.
        probe: a module-level function of ``course_lib.checks``.
    """

    id: str
    exercise: str
    kind: str
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)
    forbidden: tuple[str, ...] = ()
    observer: Observer | None = None
    probe: Callable[..., Any] | None = None

    @property
    def needs_torch(self) -> bool:
        """Must its sandbox hold PyTorch (an exercise where torch is allowed)?"""
        return "torch" not in self.forbidden


class Unloadable(Exception):
    """The hand-in could not be loaded (not picklable, or it needs a forbidden package)."""


def _forbidden_import(error: str, forbidden: tuple[str, ...]) -> str | None:
    """The forbidden package a ``ModuleNotFoundError`` message names, if any."""
    for name in forbidden:
        if error.startswith("ModuleNotFoundError") and (f"'{name}'" in error
                                                       or f"'{name}." in error):
            return name
    return None


def load(handins: Path, exercise: str) -> Any:
    """The handed-in object of ``exercise``.

    Raises:
        Unloadable: with the reason, in words for the student.
    """
    failure = handin_path(handins, exercise, ERROR)
    if failure.is_file():
        raise Unloadable(f"it could not be copied out of your notebook "
                         f"({failure.read_text(encoding='utf-8', errors='replace')[:500]}); "
                         "keep the function's globals to modules, numbers, arrays and functions")
    try:
        with open(handin_path(handins, exercise), "rb") as handle:
            return pickle.load(handle)
    except Exception as error:
        raise Unloadable(f"it could not be loaded in the grader ({_last_frame_line(error)})"
                         ) from None


def answer(request: Request, obj: Any) -> dict:
    """The result of ``request`` on the student's object, as a JSON-ready dict (arrays
    still inside; see :func:`write`)."""
    subject = LocalSubject(obj)
    if request.kind == "call":
        run = subject.call(request.args, request.kwargs, forbidden=request.forbidden,
                           observer=request.observer)
        package = _forbidden_import(run.error or "", request.forbidden)
        if package:  # the package is not in this sandbox: the function reached for it
            run = _Run(delegated_to=f"{package} (it is not available to this exercise)")
        # Not dataclasses.asdict: it would deep-copy the student's outputs.
        return {"kind": "run", "run": {f.name: getattr(run, f.name)
                                       for f in dataclasses.fields(run)}}
    try:
        return {"kind": "value", "value": request.probe(obj, *request.args)}
    except Exception as error:  # a probe catches the student's errors; this is sabotage
        return {"kind": "error", "message": _last_frame_line(error)}


def write(out: Path, request_id: str, result: dict) -> None:
    """``<id>.npz`` then ``<id>.json`` (renamed into place last: whole or absent)."""
    tree, arrays = wire.encode(result, foreign=True)
    np.savez(out / f"{request_id}.npz", **{f"a{i}": a for i, a in enumerate(arrays)})
    partial = out / f".{request_id}.json.partial"
    partial.write_text(json.dumps(tree), encoding="utf-8")
    os.replace(partial, out / f"{request_id}.json")


def record(requests: list[Request], handins: Path, out: Path) -> None:
    """Answer every request in order (see the module's docstring)."""
    if any(request.needs_torch for request in requests):
        import torch

        torch.set_num_threads(1)  # as the checks run: same sums in the same order
    loaded: dict[str, Any] = {}
    for request in requests:
        if request.exercise not in loaded:
            try:
                loaded[request.exercise] = load(handins, request.exercise)
            except Unloadable as error:
                loaded[request.exercise] = error
        obj = loaded[request.exercise]
        if isinstance(obj, Unloadable):
            package = _forbidden_import(str(obj).split("(", 1)[-1], request.forbidden)
            message = (f"your code uses {package}, which this exercise does not allow: "
                       "write the computation yourself" if package else str(obj))
            write(out, request.id, {"kind": "unloadable", "message": message})
            continue
        write(out, request.id, answer(request, obj))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m course_lib.checks.recorder REQUESTS.pkl HANDIN_DIR OUT_DIR",
              file=sys.stderr)
        return 2
    with open(argv[0], "rb") as handle:
        requests = pickle.load(handle)
    record(requests, Path(argv[1]), Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
