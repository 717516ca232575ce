"""The sample-submission corpus: submissions defined as edits of the solution notebook.

Nothing in the corpus is a stored notebook. A sample says how a student's
notebook differs from a fully answered one (the released notebook with the
solution's answer cells); :func:`materialise` builds it into nbgrader's layout,
``submitted/<student>/<slug>/<slug>.ipynb``. Generic samples (unanswered, kernel
crash, infinite loop, deleted or edited test cell, patched check, patched numpy,
an always-equal object, delegation to the reference, broken files) are made for
every assignment from its notebook's structure; each assignment's spec in
``course_lib/grading/samples/<slug>.py`` (beside this module) adds its classic bugs and
cheats. The format is in ``course_lib/grading/samples/README.md``.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.grading.course import release_dir, source_dir

#: The folder of the assignments' specs (``<slug>.py``), beside this module.
SPEC_DIR = Path(__file__).resolve().parent

#: Modules searched, in order, for a reference implementation named like an exercise.
REFERENCE_MODULES = tuple(f"course_lib.reference.{module}" for module in (
    "linear", "regions", "activations", "relu_variants", "init", "dead_relu", "norms", "lenet"))


@dataclass
class Exercise:
    """An answer cell and the test cell that grades it."""

    name: str
    test: str
    points: float
    check_module: str | None = None


@dataclass
class Sample:
    """One sample submission and the score nbgrader must give it."""

    student: str
    description: str
    edits: list[dict[str, Any]] = field(default_factory=list)
    fails: list[str] = field(default_factory=list)
    score: float | None = None
    error: str = ""

    def expected_scores(self, exercises: list[Exercise],
                        written: Sequence[str] = ()) -> dict[str, float]:
        """``{grade_id: points expected}`` of each test cell and each ``written`` answer
        (free-response answers score 0 until a TA grades them)."""
        scores = {ex.test: 0.0 if ex.test in self.fails else float(ex.points)
                  for ex in exercises}
        return scores | dict.fromkeys(written, 0.0)


# ---------------------------------------------------------------- notebook structure


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def exercises(notebook) -> list[Exercise]:
    """Graded exercises of a notebook: each answer cell with the test cell after it."""
    found, answer = [], None
    for cell in notebook.cells:
        meta = _meta(cell)
        if meta.get("solution") and not meta.get("grade"):
            answer = meta["grade_id"]
        elif meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            match = re.search(r"from\s+([\w.]+)\s+import\s+check_\w+", cell.source)
            found.append(Exercise(answer or meta["grade_id"], meta["grade_id"],
                                  float(meta.get("points", 0)),
                                  match.group(1) if match else None))
            answer = None
    return found


def written_answers(notebook) -> list[str]:
    """``grade_id`` of each free-response answer: a graded answer cell a TA scores by hand."""
    return [_meta(cell)["grade_id"] for cell in notebook.cells
            if _meta(cell).get("grade") and _meta(cell).get("solution")]


def _cell(notebook, grade_id: str):
    for cell in notebook.cells:
        if _meta(cell).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def resolve_reference(name: str, references: dict[str, str]) -> str | None:
    """Dotted path of the reference implementation of exercise ``name``, if any."""
    if name in references:
        return references[name]
    for module_name in REFERENCE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if callable(getattr(module, name, None)):
            return f"{module_name}.{name}"
    return None


# ------------------------------------------------------------------ generic samples


def _always_equal(name: str) -> str:
    return (
        "class AlwaysEqual:\n"
        '    """Compares equal to anything."""\n\n'
        "    def __eq__(self, other):\n        return True\n\n"
        "    def __ne__(self, other):\n        return False\n\n\n"
        f"def {name}(*args, **kwargs):\n    return AlwaysEqual()\n"
    )


def _forwarder(name: str, target: str) -> str:
    module, attribute = target.rsplit(".", 1)
    return (
        "import importlib\n\n\n"
        f"def {name}(*args, **kwargs):\n"
        f"    reference = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "    return reference(*args, **kwargs)\n"
    )


def failing(broken: list[str], exs: list[Exercise], depends: dict[str, list[str]]) -> list[str]:
    """Tests that fail when the exercises ``broken`` are wrong: theirs and their dependents'.

    Args:
        broken: exercise names whose answers are wrong.
        exs: the notebook's exercises.
        depends: ``{exercise: [exercises its solution calls]}``, e.g. ``sigmoid_grad``
            calls the student's ``sigmoid``.
    """
    bad = set(broken)
    changed = True
    while changed:
        changed = False
        for name, uses in depends.items():
            if name not in bad and bad & set(uses):
                bad.add(name)
                changed = True
    return [ex.test for ex in exs if ex.name in bad]


def generic_samples(exs: list[Exercise], references: dict[str, str],
                    skip: tuple[str, ...] = (),
                    depends: dict[str, list[str]] | None = None) -> list[Sample]:
    """The samples every assignment gets, built from its exercises."""
    depends = depends or {}
    tests = [ex.test for ex in exs]
    first, last = exs[0], exs[-1]
    samples = [
        Sample("correct", "every exercise answered correctly"),
        Sample("unanswered", "the released notebook, nothing answered",
               [{"unanswered": True}], tests),
        Sample("crash", "the last answer cell calls os._exit(1): the kernel dies",
               [{"prepend": last.name, "source": "import os\nos._exit(1)\n"}], tests,
               error="kernel died"),
        Sample("infinite_loop", f"an infinite loop before {first.name} is defined",
               [{"prepend": first.name, "source": "while True:\n    pass\n"}],
               failing([first.name], exs, depends)),
        Sample("deleted_test", f"correct answers, the test cell {first.test} deleted "
               "(nbgrader puts it back)", [{"delete": first.test}]),
        Sample("edited_test", f"{first.name} unanswered and its test cell replaced by a print",
               [{"stub": first.name},
                {"replace": first.test, "source": 'print("all cases passed")'}],
               failing([first.name], exs, depends)),
        Sample("fake_eq", f"{first.name} returns an object whose __eq__ is always True",
               [{"replace": first.name, "source": _always_equal(first.name)}],
               failing([first.name], exs, depends)),
        Sample("patched_numpy", f"{last.name} unanswered, np.testing and np.allclose "
               "patched to no-ops (the verdict is reached outside the notebook)",
               [{"stub": last.name}, {"prepend": last.name, "source": (
                   "import numpy as np\n"
                   "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
                   "np.allclose = lambda *args, **kwargs: True\n")}],
               failing([last.name], exs, depends)),
        Sample("broken_json", "the notebook file is not valid JSON", [{"file": "invalid_json"}],
               tests, error="invalid JSON"),
        Sample("old_nbformat", "the notebook claims nbformat 3", [{"file": "nbformat3"}],
               tests, error="nbformat 3"),
        Sample("missing_file", "the submission folder has no notebook", [{"file": "missing"}],
               tests, error="missing"),
    ]
    if len(exs) > 1:
        half = math.ceil(len(exs) / 2)
        samples.append(Sample("partial", f"the first {half} exercise(s) answered, the rest not",
                              [{"stub": ex.name} for ex in exs[half:]],
                              failing([ex.name for ex in exs[half:]], exs, depends)))
    if first.check_module:
        samples.append(Sample(
            "patched_check", f"{first.name} unanswered, check_{first.name} patched to a no-op",
            [{"stub": first.name}, {"prepend": first.name, "source": (
                f"import {first.check_module}\n{first.check_module}.check_{first.name} = "
                "lambda *args, **kwargs: print('all cases passed')\n")}],
            failing([first.name], exs, depends)))
    delegable = [ex for ex in exs if resolve_reference(ex.name, references)]
    if delegable:
        ex = delegable[0]
        target = resolve_reference(ex.name, references)
        samples.append(Sample("delegates_reference", f"{ex.name} calls the reference {target}",
                              [{"replace": ex.name, "source": _forwarder(ex.name, target)}],
                              failing([ex.name], exs, depends)))
    return [s for s in samples if s.student not in skip]


# ------------------------------------------------------------------ specs


def load_spec(slug: str, spec_dir: Path = SPEC_DIR) -> dict[str, Any]:
    """An assignment's spec (``SAMPLES``, ``REFERENCES``, ``SKIP``, ``DEPENDS``); empty if none."""
    path = spec_dir / f"{slug}.py"
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(f"_course_samples_{slug}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"samples": getattr(module, "SAMPLES", []),
            "references": getattr(module, "REFERENCES", {}),
            "skip": tuple(getattr(module, "SKIP", ())),
            "depends": dict(getattr(module, "DEPENDS", {}))}


def samples_for(root: Path, slug: str, spec: dict[str, Any] | None = None) -> list[Sample]:
    """Generic and spec samples of one assignment, with checked expected scores.

    Raises:
        ValueError: a spec entry's ``score`` disagrees with its ``fails``, or a
            student id is used twice.
    """
    spec = load_spec(slug) if spec is None else spec
    exs = exercises(_read(source_dir(root) / slug / f"{slug}.ipynb"))
    found = generic_samples(exs, spec.get("references", {}), tuple(spec.get("skip", ())),
                            spec.get("depends", {}))
    found += [Sample(**entry) for entry in spec.get("samples", [])]
    seen: set[str] = set()
    for sample in found:
        if sample.student in seen:
            raise ValueError(f"{slug}: sample student {sample.student!r} is used twice")
        seen.add(sample.student)
        total = sum(sample.expected_scores(exs).values())
        if sample.score is not None and not math.isclose(sample.score, total):
            raise ValueError(f"{slug}: sample {sample.student!r} says score {sample.score} but "
                             f"its fails {sample.fails} give {total}")
        sample.score = total
    return found


# ------------------------------------------------------------------ materialising


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def answered_notebook(root: Path, slug: str):
    """The released notebook with every answer cell taken from the solution."""
    released = _read(release_dir(root) / slug / f"{slug}.ipynb")
    solution = _read(source_dir(root) / slug / f"{slug}.ipynb")
    for cell in released.cells:
        meta = _meta(cell)
        if meta.get("solution"):
            cell.source = _cell(solution, meta["grade_id"]).source
    return released


def apply_edits(notebook, released, edits: list[dict[str, Any]]):
    """A copy of ``notebook`` with ``edits`` applied (see course_lib/samples/README.md)."""
    nb = copy.deepcopy(notebook)
    for edit in edits:
        if edit.get("unanswered"):
            nb = copy.deepcopy(released)
        elif "stub" in edit:
            _cell(nb, edit["stub"]).source = _cell(released, edit["stub"]).source
        elif "replace" in edit:
            _cell(nb, edit["replace"]).source = edit["source"]
        elif "prepend" in edit:
            cell = _cell(nb, edit["prepend"])
            cell.source = edit["source"] + cell.source
        elif "append" in edit:
            cell = _cell(nb, edit["append"])
            cell.source = cell.source + "\n" + edit["source"]
        elif "sub" in edit:
            cell = _cell(nb, edit["sub"])
            if edit["old"] not in cell.source:
                raise ValueError(f"sample edit {edit!r}: {edit['old']!r} is not in the cell")
            cell.source = cell.source.replace(edit["old"], edit["new"])
        elif "delete" in edit:
            nb.cells.remove(_cell(nb, edit["delete"]))
        elif "file" not in edit:
            raise ValueError(f"unknown sample edit {edit!r}")
    return nb


def _write(notebook, path: Path, edits: list[dict[str, Any]]) -> None:
    import nbformat

    kind = next((edit["file"] for edit in edits if "file" in edit), None)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "missing":
        (path.parent / "notes.txt").write_text("I forgot to upload my notebook.\n")
    elif kind == "invalid_json":
        path.write_text(nbformat.writes(notebook)[:-200] + "\n", encoding="utf-8")
    elif kind == "nbformat3":
        raw = json.loads(nbformat.writes(notebook))
        raw["nbformat"] = 3
        path.write_text(json.dumps(raw), encoding="utf-8")
    elif kind is None:
        nbformat.write(notebook, path)
    else:
        raise ValueError(f"unknown file edit {kind!r}")


def materialise(root: Path, slug: str, samples: list[Sample], destination: Path) -> list[Path]:
    """Write each sample to ``destination/submitted/<student>/<slug>/<slug>.ipynb``."""
    base = answered_notebook(root, slug)
    released = _read(release_dir(root) / slug / f"{slug}.ipynb")
    written = []
    for sample in samples:
        path = destination / "submitted" / sample.student / slug / f"{slug}.ipynb"
        _write(apply_edits(base, released, sample.edits), path, sample.edits)
        written.append(path)
    return written
