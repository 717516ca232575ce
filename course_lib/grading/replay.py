"""The grader's side of a check: the student's function stands here as a :class:`RemoteSubject`.

``course grade`` runs each check of a test cell in its own process, with a
:class:`RemoteSubject` where the student's function would be. Every call the check makes
(``checker.run_student``, ``checker.probe``) is looked up in a :class:`Session`: the
results of calls made earlier in a sandbox (:mod:`course_lib.checks.recorder`). A call
not made yet becomes a :class:`~course_lib.checks.recorder.Request`, and the check goes
on with the result a right answer would give (the stand-in: the reference), so that one
pass collects every call a right answer leads to. The sandbox then makes the requested
calls, and the check runs again; it is done when a pass needs no new call. A wrong
answer usually fails at its first wrong result, so two passes are the rule.

A call is known by where it happens (the check's n-th call) and what it is given (a
digest of its arguments): the same check with the same results takes the same path, so
the answers of one pass serve the next.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.checks import core, wire
from course_lib.checks.core import CheckFailure, Description, Observer, Subject, _Run
from course_lib.checks.handin import ERROR, handin_path
from course_lib.checks.recorder import Request


class Pending(BaseException):
    """A check needs a result that has not been recorded and cannot be guessed.

    A ``BaseException``: no check's ``except Exception`` may swallow it.
    """


# ------------------------------------------------------------------ digests


def _feed(digest, value: Any) -> None:
    """Feed a description of ``value`` into ``digest`` (equal inputs, equal bytes)."""
    if isinstance(value, np.ndarray):
        digest.update(f"A{value.dtype.str}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (tuple, list)):
        digest.update(f"{type(value).__name__}{len(value)}(".encode())
        for item in value:
            _feed(digest, item)
        digest.update(b")")
    elif isinstance(value, dict):
        digest.update(f"dict{len(value)}(".encode())
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
        digest.update(b")")
    elif isinstance(value, np.random.Generator):
        digest.update(f"G{value.bit_generator.state!r}".encode())
    else:
        _feed_other(digest, value)


def _feed_other(digest, value: Any) -> None:
    import torch

    if isinstance(value, torch.Tensor):
        _feed(digest, value.detach().cpu().numpy())
    elif isinstance(value, torch.nn.Module):
        digest.update(f"M{type(value).__qualname__}{value!r}{value.training}".encode())
        for name, tensor in value.state_dict(keep_vars=True).items():
            digest.update(f"{name}:{getattr(tensor, 'requires_grad', False)}".encode())
            _feed(digest, tensor.detach().cpu().numpy())
    elif callable(value) or isinstance(value, Observer):
        digest.update(f"F{getattr(value, '__module__', '')}."
                      f"{getattr(value, '__qualname__', type(value).__qualname__)}".encode())
    else:
        digest.update(f"{type(value).__qualname__}:{value!r}".encode())


def digest_of(*parts: Any) -> str:
    """A short hex digest of ``parts`` (arrays by content, models by structure and weights)."""
    digest = hashlib.sha256()
    for part in parts:
        _feed(digest, part)
    return digest.hexdigest()[:24]


# ------------------------------------------------------------------ answers


def _description(data: Any) -> Description:
    if not (isinstance(data, dict) and set(data) == {"callable", "is_class", "type_name"}
            and type(data["callable"]) is bool and type(data["is_class"]) is bool
            and type(data["type_name"]) is str):
        raise wire.WireError("not a description")
    return Description(**data)


def _strings(value: Any, what: str) -> list[str]:
    if not (isinstance(value, list) and all(type(v) is str for v in value)):
        raise wire.WireError(f"{what}: expected a list of strings")
    return value


def _optional_string(value: Any, what: str) -> str | None:
    if value is not None and type(value) is not str:
        raise wire.WireError(f"{what}: expected a string or null")
    return value


def _run(data: Any) -> _Run:
    """A :class:`_Run` from the recorder's data, every field checked."""
    names = {"outputs", "error", "warnings", "delegated_to", "mutated", "observed"}
    if not (isinstance(data, dict) and set(data) == names):
        raise wire.WireError("not a run")
    if data["outputs"] is not None and type(data["outputs"]) is not tuple:
        raise wire.WireError("outputs: expected a tuple or null")
    return _Run(outputs=data["outputs"], error=_optional_string(data["error"], "error"),
                warnings=_strings(data["warnings"], "warnings"),
                delegated_to=_optional_string(data["delegated_to"], "delegated_to"),
                mutated=_strings(data["mutated"], "mutated"), observed=data["observed"])


def read_answer(folder: Path, request_id: str) -> dict | None:
    """The recorder's answer to one request, decoded as data, or None if it has none.

    Returns:
        ``{"kind": "run" | "value" | "unloadable" | "error", ...}``; an answer that is not
        what the recorder writes becomes ``{"kind": "error", "message": ...}``.
    """
    tree_path = folder / f"{request_id}.json"
    if not tree_path.is_file():
        return None
    try:
        if tree_path.stat().st_size > 64 << 20:
            raise wire.WireError("larger than 64 MiB")
        tree = json.loads(tree_path.read_text(encoding="utf-8"))
        with np.load(folder / f"{request_id}.npz", allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        answer = wire.decode(tree, arrays)
        if not isinstance(answer, dict) or answer.get("kind") not in (
                "run", "value", "unloadable", "error"):
            raise wire.WireError("no kind")
        if answer["kind"] == "run":
            answer = {"kind": "run", "run": _run(answer.get("run"))}
        elif answer["kind"] in ("unloadable", "error"):
            answer = {"kind": answer["kind"],
                      "message": _optional_string(answer.get("message"), "message") or ""}
        return answer
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {"kind": "error", "message": f"its result could not be read ({error})"}


@dataclass
class Session:
    """The recorded answers of one submission's calls, gathered over passes.

    Args:
        handins: the folder the notebook handed its functions in to.
        cell_errors: ``{grade_id: "ErrorName: message"}``: how a test cell ended in the
            notebook, to explain a missing hand-in.
    """

    handins: Path
    cell_errors: dict[str, str] = field(default_factory=dict)
    answers: dict[str, dict] = field(default_factory=dict)
    pending: dict[str, Request] = field(default_factory=dict)

    def lookup(self, request: Request) -> dict | None:
        answer = self.answers.get(request.id)
        if answer is None:
            self.pending.setdefault(request.id, request)
        return answer

    def take(self, folder: Path, requests: list[Request], stopped: str) -> None:
        """Keep the answers the recorder wrote into ``folder``. The first request without
        one is the call it stopped in (``stopped`` says how); the rest wait for a pass."""
        for request in requests:
            answer = read_answer(folder, request.id)
            if answer is None:
                self.answers[request.id] = {"kind": "error", "message": stopped}
                break
            self.answers[request.id] = answer


class RemoteSubject(Subject):
    """The student's object in the grader: results come from a :class:`Session`.

    Args:
        session: this submission's recorded answers.
        label: where the check runs, e.g. ``"test_sigmoid/1"`` (the test cell's second
            check); the grade id before the slash names the cell.
    """

    def __init__(self, session: Session, label: str) -> None:
        self.session = session
        self.label = label
        self.exercise = ""
        self.calls = 0
        self.guessed = False  # did this run go on with a stand-in's result?

    def bind(self, exercise: str) -> None:
        self.exercise = exercise
        if not handin_path(self.session.handins, exercise).is_file() and \
                not handin_path(self.session.handins, exercise, ERROR).is_file():
            cell = self.label.split("/")[0]
            why = self.session.cell_errors.get(cell)
            raise CheckFailure(
                f"{exercise}: nothing was handed in to the grader: the test cell stopped "
                f"before its check ran{f' ({why})' if why else ''}. Run your notebook from "
                "the top (Kernel > Restart & Run All) and make sure every cell runs.")

    def _request(self, kind: str, args: tuple, kwargs: dict, **extra: Any) -> Request:
        self.calls += 1
        key = digest_of(self.label, self.calls, kind, self.exercise, args, kwargs,
                        extra.get("probe"), extra.get("observer"), extra.get("forbidden"))
        return Request(key, self.exercise, kind, args, kwargs, **extra)

    def _answer(self, request: Request) -> Any | None:
        answer = self.session.lookup(request)
        if answer is None:
            self.guessed = True
            return None
        if answer["kind"] == "unloadable":
            raise CheckFailure(f"{self.exercise}: the grader could not use what you handed "
                               f"in: {answer['message']}")
        if answer["kind"] == "error":
            raise CheckFailure(f"{self.exercise}: the grader's run of your code failed: "
                               f"{answer['message']}")
        return answer

    def describe(self, stand_in: Callable[[], Any], forbidden=()) -> Description:
        data = self.probe(core.description_data, (), stand_in, forbidden=forbidden)
        try:
            return _description(data)
        except wire.WireError as error:
            raise CheckFailure(f"{self.exercise}: the grader could not read what you handed "
                               f"in ({error})") from None

    def call(self, args: tuple, kwargs: dict, *, forbidden, observer, stand_in) -> _Run:
        request = self._request("call", args, kwargs, forbidden=tuple(forbidden),
                                observer=observer)
        answer = self._answer(request)
        if answer is not None:
            if answer["kind"] != "run":
                raise CheckFailure(f"{self.exercise}: the grader got no result of your "
                                   "function")
            return copy.deepcopy(answer["run"])
        # What a right answer gives, so the check carries on and asks for its other calls.
        with core.standing_in():
            return core.LocalSubject(stand_in()).call(copy.deepcopy(args),
                                                      copy.deepcopy(kwargs), forbidden=(),
                                                      observer=observer)

    def probe(self, fn, args, stand_in, guess=None, forbidden=()) -> Any:
        request = self._request("probe", args, {}, probe=fn, forbidden=tuple(forbidden))
        answer = self._answer(request)
        if answer is not None:
            if answer["kind"] != "value":
                raise CheckFailure(f"{self.exercise}: the grader got no result of its look "
                                   "at your code")
            return copy.deepcopy(answer["value"])
        if guess is not None:
            return guess()
        if stand_in is None:
            raise Pending(request.id)
        with core.standing_in():
            return fn(stand_in(), *copy.deepcopy(args))

