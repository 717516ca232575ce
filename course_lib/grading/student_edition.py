"""The student edition of course_lib: everything a student's notebooks need, no answer key.

Built by ``course bundle`` from this, the full edition:

* **left out:** ``reference/`` (the implementations students write), ``grading/`` (hidden
  tests, samples, the grader) and the instructor's commands;
* **answers as data:** every visible check of the released notebooks runs here once with
  the reference as the student (:func:`course_lib.checks.answers.recording`); each answer
  it used (reference calls, stored check helpers, and the outputs of every classic
  mistake on the same inputs) goes into ``checks/answers_data/``, and
  ``checks/stored_answers.py`` becomes ``checks/answers.py`` to read it. The mistake
  libraries are rewritten as descriptions and hints whose outputs come from that data;
* **added:** the released notebooks, as ``notebooks/<slug>.ipynb`` inside the package,
  for ``course start``.

The check modules themselves are copied unchanged, so a check in the student edition
gives the same verdict and message as in the full edition on the visible cases.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import io
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import course_lib
from course_lib.checks import answers
from course_lib.checks.core import Mistake
from course_lib.checks.stored import AnswerStore
from course_lib.errors import CourseError
from course_lib.grading import verdicts
from course_lib.grading.verdicts import CheckCall

#: Parts of the package a student never gets (paths relative to course_lib/).
LEFT_OUT = ("reference", "grading", "commands/grading.py", "commands/bundle.py",
            "commands/claims.py", "commands/term.py", "checks/stored_answers.py")
#: The reference modules, one per topic.
TOPICS = ("linear", "regions", "activations", "relu_variants", "init", "dead_relu", "norms",
          "lenet")


def visible_calls(notebook) -> list[CheckCall]:
    """The check calls in the test cells of a released notebook, in order."""
    return [call for calls in verdicts.test_cells(notebook).values() for call in calls]


def reference_of(name: str) -> Any:
    """The reference implementation of exercise ``name`` (a function, or LeNet5's class)."""
    for notebook in course_lib.NOTEBOOKS:
        if name in notebook.exercises:
            for topic in notebook.reference:
                module = importlib.import_module(f"course_lib.reference.{topic}")
                if hasattr(module, name):
                    return getattr(module, name)
    raise CourseError(f"no reference implementation of {name!r} in course_lib.NOTEBOOKS")


def _logging_student(fn: Any, calls: list[tuple[tuple, dict]]) -> Any:
    """``fn`` as the student, remembering each call's arguments as they were then."""
    if isinstance(fn, type):  # LeNet5: its answers are whole reference runs, stored as such
        return fn

    def student(*args: Any, **kwargs: Any) -> Any:
        calls.append(copy.deepcopy((args, kwargs)))
        return fn(*args, **kwargs)

    student.__name__ = fn.__name__
    return student


def _mistakes_in(module: Any) -> list[Mistake]:
    return [item for value in vars(module).values() if isinstance(value, (list, tuple))
            for item in value if isinstance(item, Mistake)]


def mistakes_of(check: str) -> list[Mistake]:
    """The classic mistakes ``check`` (e.g. ``"check_sigmoid"``) may name: those of its
    module's library in :mod:`course_lib.checks.mistakes`, if it has one."""
    import course_lib.checks as checks

    name = f"course_lib.checks.mistakes.{checks._CHECKS[check]}"
    if importlib.util.find_spec(name) is None:
        return []
    return _mistakes_in(importlib.import_module(name))


def _record_mistakes(store: AnswerStore, mistakes: list[Mistake],
                     calls: list[tuple[tuple, dict]]) -> None:
    """Each mistake's output on each input the student got (those it may be matched on)."""
    for mistake in mistakes:
        for args, kwargs in calls:
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    output = mistake.fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
            except Exception:  # a mistake that cannot run on an input is never matched there
                continue
            store.record(answers.mistake_name(mistake.description), args, kwargs, output)


def record_answers(notebooks: dict[str, Any]) -> AnswerStore:
    """Run every visible check of ``notebooks`` (``{slug: released notebook}``) with the
    reference as the student, and keep every answer it used.

    Raises:
        CourseError: a check fails with the reference (the store would be wrong).
    """
    import course_lib.checks as checks

    store = AnswerStore()
    for slug, notebook in notebooks.items():
        for call in visible_calls(notebook):
            calls: list[tuple[tuple, dict]] = []
            student = _logging_student(reference_of(call.argument), calls)
            try:
                with answers.recording(store), contextlib.redirect_stdout(io.StringIO()):
                    getattr(checks, call.check)(student, **dict(call.kwargs))
            except AssertionError as failure:
                raise CourseError(f"{slug}: {call.check} fails with the reference, so its "
                                  f"answers cannot be stored: {str(failure).splitlines()[0]}"
                                  ) from None
            _record_mistakes(store, mistakes_of(call.check), calls)
    record_reference_names(store)
    return store


def record_reference_names(store: AnswerStore) -> None:
    """The references' constants (data) and their functions' parameter names."""
    import inspect

    for topic in TOPICS:
        module = importlib.import_module(f"course_lib.reference.{topic}")
        for name, value in vars(module).items():
            key = f"reference.{topic}.{name}"
            if name.startswith("_") or inspect.ismodule(value) or isinstance(value, type):
                continue
            if callable(value) and getattr(value, "__module__", "") == module.__name__:
                store.signatures[key] = list(inspect.signature(value).parameters)
            elif isinstance(value, (tuple, int, float, str)) and name.isupper():
                store.constants[key] = value


# ------------------------------------------------------------------ the package tree


def mistakes_source(module: Any) -> str:
    """The student edition's version of a mistake library: descriptions and hints only."""
    first_line = (module.__doc__ or "").strip().splitlines()[0]
    lines = [f'"""{first_line}', "",
             "Student edition: the mistakes' outputs on the visible cases come from the stored",
             'answers (course_lib.checks.answers); no wrong implementation is shipped."""', "",
             "from course_lib.checks.answers import mistake", ""]
    for name, value in vars(module).items():
        if name.isupper() and isinstance(value, str):
            lines.append(f"{name} = {value!r}")
    for name, value in vars(module).items():
        if isinstance(value, (list, tuple)) and value and all(isinstance(m, Mistake)
                                                              for m in value):
            entries = "".join(f"    mistake({m.description!r}, {m.hint!r}),\n" for m in value)
            opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
            lines.append(f"\n{name} = {opening}\n{entries}{closing}")
    return "\n".join(lines) + "\n"


def _ignored(root: Path) -> Callable[[str, list[str]], set[str]]:
    left_out = {root / part for part in LEFT_OUT}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {name for name in names if Path(folder) / name in left_out
                or name == "__pycache__" or name.endswith(".pyc")}

    return ignore


def write_package(out: Path, store: AnswerStore, released: dict[str, Path]) -> Path:
    """Write the student edition's ``course_lib`` folder into ``out``; return it."""
    source = Path(course_lib.__file__).resolve().parent
    package = out / "course_lib"
    shutil.copytree(source, package, ignore=_ignored(source))
    shutil.copyfile(source / "checks" / "stored_answers.py", package / "checks" / "answers.py")
    store.save(package / "checks" / "answers_data")
    for path in (source / "checks" / "mistakes").glob("*.py"):
        if path.stem != "__init__":
            module = importlib.import_module(f"course_lib.checks.mistakes.{path.stem}")
            (package / "checks" / "mistakes" / path.name).write_text(mistakes_source(module),
                                                                       encoding="utf-8")
    (package / "notebooks").mkdir()
    for slug, path in released.items():
        shutil.copyfile(path, package / "notebooks" / f"{slug}.ipynb")
    return package
