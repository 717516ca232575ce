"""Verdicts reached outside the student's interpreter (course_lib.grading.verdicts, .replay,
course_lib.checks.handin, .recorder, .wire): the same words as a check run in a notebook,
from results that crossed as data."""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import course_lib
import course_lib.checks as checks
from course_lib.checks import core, handin, recorder, wire
from course_lib.checks.handin import HANDIN_ENV, HandedIn
from course_lib.grading import replay, verdicts
from course_lib.grading.student_edition import mistakes_of, reference_of, visible_calls
from course_lib.grading.verdicts import CheckCall, TestCellError, check_calls, test_cells

REPO = Path(course_lib.__file__).resolve().parents[1]

# ------------------------------------------------------------------ the wire


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
                    st.text(max_size=20))
arrays = hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.bool_,
                                     np.complex128]),
                    hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
numpy_scalars = st.builds(lambda v: np.float32(v), st.floats(width=32)) | st.builds(
    np.int64, st.integers(-(2**62), 2**62))
values = st.recursive(scalars | arrays | numpy_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=12)


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and np.isnan(a):
        return np.isnan(b)
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (np.isnan(a) and np.isnan(b)))
    return a == b


@settings(max_examples=200, deadline=None)
@given(values)
def test_values_cross_the_wire_with_their_exact_types(value):
    tree, found = wire.encode(value)
    back = wire.decode(json.loads(json.dumps(tree)),
                       {f"a{i}": a for i, a in enumerate(found)})
    assert _same(value, back)


def test_other_types_cross_as_their_names_only():
    import torch

    class FakeEq:
        def __eq__(self, other):
            return True

        def __repr__(self):
            raise RuntimeError("hostile repr")

    tree, _ = wire.encode((torch.ones(2), FakeEq(), np.matrix([[1.0]])), foreign=True)
    tensor, fake, matrix = wire.decode(json.loads(json.dumps(tree)), {})
    assert tensor.type_name == "torch.Tensor" and "tensor" in tensor.text
    assert fake.type_name.endswith("FakeEq") and "repr raised RuntimeError" in fake.text
    assert matrix.type_name == "numpy.matrix"
    assert core._type_name(tensor) == "torch.Tensor"
    with pytest.raises(TypeError, match="cannot encode a torch.Tensor"):
        wire.encode(torch.ones(1))


@pytest.mark.parametrize("tree", [
    {"$pickle": "gASV"}, {"$array": 3}, {"$array": "a0"}, {"$tuple": "no"},
    {"$dict": [[1]]}, {"$dict": [[[1], 2]]}, {"$float": "1e400x"}, {"$scalar": 0},
    {"$fingerprint": "x"}, {"$foreign": 1, "text": "x"}, {"a": 1, "b": 2, "c": 3},
    json.loads("[" * 70 + "0" + "]" * 70),
])
def test_a_forged_tree_is_refused_not_interpreted(tree):
    with pytest.raises(wire.WireError):
        wire.decode(tree, {"a0": np.zeros((2,))})


def test_an_answer_that_cannot_be_read_is_an_error_for_the_student(tmp_path):
    (tmp_path / "r1.json").write_text('{"kind": "run"', encoding="utf-8")
    (tmp_path / "r2.json").write_text(json.dumps({"$dict": [["kind", "run"]]}))
    np.savez(tmp_path / "r2.npz")
    (tmp_path / "r3.json").write_text(json.dumps({"$array": 0}))
    np.save(tmp_path / "r3.npz.npy", np.array([object()], dtype=object), allow_pickle=True)
    for name in ("r1", "r2", "r3"):
        answer = replay.read_answer(tmp_path, name)
        assert answer["kind"] == "error" and "could not be read" in answer["message"]
    assert replay.read_answer(tmp_path, "absent") is None


# ------------------------------------------------------------------ test cells


def test_every_test_cell_of_the_course_is_two_literal_check_calls():
    found = {}
    for slug in course_lib.SLUGS:
        notebook = nbformat.read(REPO / "solutions" / slug / f"{slug}.ipynb", as_version=4)
        found.update(test_cells(notebook))
    assert len(found) == sum(len(nb.exercises) for nb in course_lib.NOTEBOOKS)
    for grade_id, calls in found.items():
        visible, hidden = calls
        assert visible.check == hidden.check and visible.argument == hidden.argument
        assert visible.kwargs == () and dict(hidden.kwargs)["thorough"] is True, grade_id


@pytest.mark.parametrize(("source", "message"), [
    ("assert sigmoid(0) == 0.5", "may only import checks and call them"),
    ("from course_lib.checks import check_sigmoid\ncheck_sigmoid(sigmoid, seed=SEED)",
     "check arguments must be literals"),
    ("from course_lib.checks import check_sigmoid\ncheck_sigmoid(lambda x: x)",
     "may only import checks"),
    ("import os\n", "may only import checks"),
    ("from course_lib.checks import check_sigmoid as c\nc(sigmoid)", "may only import checks"),
    ("def f(:\n", "not valid Python"),
])
def test_a_test_cell_the_grader_cannot_run_outside_is_refused_by_line(source, message):
    with pytest.raises(TestCellError, match=message) as error:
        check_calls(source, "test cell test_sigmoid")
    assert "test cell test_sigmoid" in str(error.value)


def test_visible_and_hidden_calls_are_read_in_order():
    source = textwrap.dedent("""\
        from course_lib.checks import check_sigmoid
        check_sigmoid(sigmoid)
        ### BEGIN HIDDEN TESTS
        check_sigmoid(sigmoid, seed=2021, thorough=True)
        ### END HIDDEN TESTS""")
    assert check_calls(source, "t") == [
        CheckCall("course_lib.checks", "check_sigmoid", "sigmoid"),
        CheckCall("course_lib.checks", "check_sigmoid", "sigmoid",
                  (("seed", 2021), ("thorough", True)))]


# ------------------------------------------------------------------ handing in


def test_a_check_under_course_grade_hands_the_function_in(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDIN_ENV, str(tmp_path))
    offset = 3.0

    def shifted(x):
        return x + offset  # a closure: cloudpickle carries its value along

    with pytest.raises(HandedIn, match="sigmoid: handed in"):
        checks.check_sigmoid(shifted)
    loaded = recorder.load(tmp_path, "sigmoid")
    assert loaded(np.array([1.0]))[0] == 4.0


def test_what_cannot_be_handed_in_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDIN_ENV, str(tmp_path))
    stream = (i for i in range(3))

    def uses_a_generator(x):
        return x * next(stream)

    with pytest.raises(HandedIn):
        checks.check_relu(uses_a_generator)
    with pytest.raises(recorder.Unloadable, match="could not be copied out of your notebook"):
        recorder.load(tmp_path, "relu")
    with pytest.raises(ValueError, match="expected an identifier"):
        handin.handin_path(tmp_path, "../escape")


# ------------------------------------------------------------------ replaying checks


def _in_process(check, student, kwargs) -> str:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            check(student, **kwargs)
    except AssertionError as failure:
        return f"FAILED {failure}"
    return out.getvalue()


def _replayed(call: CheckCall, student, folder: Path, monkeypatch) -> str:
    """The verdict the grader reaches: hand in, record calls here, judge from data."""
    handins = folder / "handins"
    handins.mkdir(parents=True)
    with monkeypatch.context() as patch:
        patch.setenv(HANDIN_ENV, str(handins))
        with pytest.raises(HandedIn):
            getattr(checks, call.check)(student, **dict(call.kwargs))
    session = replay.Session(handins)
    rounds = iter(range(100))

    def record(requests):
        out = folder / f"answers{next(rounds)}"
        out.mkdir()
        recorder.record(pickle.loads(pickle.dumps(requests)), handins, out)
        session.take(out, requests, "stopped")

    judged = verdicts.judge({"cell": [call]}, verdicts.resolver(folder), session, record)
    (outcome,) = judged["cell"].outcomes
    return outcome.printed if outcome.passed else f"FAILED {outcome.failure}"


@pytest.fixture
def unguarded(monkeypatch):
    """The reference and the mistakes (course_lib code) may stand in as students."""
    import course_lib.checks.lenet_model

    original = core._call_guarded
    monkeypatch.setattr(core, "_call_guarded",
                        lambda fn, args, kwargs, forbidden: original(fn, args, kwargs, ()))
    monkeypatch.setattr(course_lib.checks.lenet_model, "_call_guarded", core._call_guarded)


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _students(call: CheckCall) -> dict[str, object]:
    found = {"reference": reference_of(call.argument), "stub": _stub}
    found.update({f"mistake: {m.description}": m.fn for m in mistakes_of(call.check)})
    return found


def _course_calls() -> list[CheckCall]:
    return [call for slug in course_lib.SLUGS for call in visible_calls(nbformat.read(
        REPO / "notebooks" / slug / f"{slug}.ipynb", as_version=4))]


def test_replayed_visible_checks_say_what_they_say_in_a_notebook(tmp_path, monkeypatch,
                                                                 unguarded):
    """Every visible check, with the reference, the stub and every classic mistake as the
    student: judged outside from recorded data, the words are the notebook's own."""
    differ, failed = [], 0
    for n, call in enumerate(_course_calls()):
        for m, (label, student) in enumerate(_students(call).items()):
            here = _in_process(getattr(checks, call.check), student, dict(call.kwargs))
            there = _replayed(call, student, tmp_path / f"{n}-{m}", monkeypatch)
            failed += here.startswith("FAILED")
            if here != there:
                differ.append(f"{call.check} with {label}:\n  here:  {here}\n  there: {there}")
    assert not differ, "\n".join(differ[:3])
    assert failed >= 80  # the stubs and the mistakes fail, with their own words


@pytest.mark.slow
def test_replayed_hidden_checks_say_what_they_say_in_a_notebook(tmp_path, monkeypatch,
                                                                unguarded):
    differ = []
    for slug in course_lib.SLUGS:
        notebook = nbformat.read(REPO / "solutions" / slug / f"{slug}.ipynb", as_version=4)
        for grade_id, (_, hidden) in test_cells(notebook).items():
            students = _students(hidden)
            picked = {k: students[k] for k in list(students)[:3]}  # reference, stub, a mistake
            for m, (label, student) in enumerate(picked.items()):
                here = _in_process(getattr(checks, hidden.check), student, dict(hidden.kwargs))
                there = _replayed(hidden, student, tmp_path / f"{grade_id}-{m}", monkeypatch)
                if here != there:
                    differ.append(f"{grade_id} with {label}:\n  here:  {here}\n  there: {there}")
    assert not differ, "\n".join(differ[:3])


def _solution(slug: str, grade_id: str):
    """An exercise's solution as a notebook defines it: in ``__main__``, so it is handed in
    by value and no delegation guard mistakes it for course_lib's."""
    import types

    notebook = nbformat.read(REPO / "solutions" / slug / f"{slug}.ipynb", as_version=4)
    source = next(c.source for c in notebook.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    main = types.ModuleType("__main__")
    exec("import numpy as np\nimport torch\nfrom torch import nn\n" + source, main.__dict__)
    return main.__dict__[grade_id]


@pytest.mark.parametrize(("slug", "name", "check", "kwargs"), [
    ("02_sigmoid_saturation", "sigmoid", "check_sigmoid", ()),
    ("06_lenet5_lab", "LeNet5", "check_lenet5", ()),
    ("06_lenet5_lab", "layer_output_shapes", "check_layer_output_shapes",
     (("seed", 3), ("thorough", True))),
])
def test_a_right_answer_is_judged_in_one_round_of_calls(slug, name, check, kwargs, tmp_path,
                                                       monkeypatch):
    """The reference, standing in while the real results are awaited, leads the check down a
    right answer's whole path: one sandbox round collects every call."""
    rounds = []
    original = recorder.record
    monkeypatch.setattr(recorder, "record", lambda requests, *args: (
        rounds.append(len(requests)), original(requests, *args))[1])
    call = CheckCall("course_lib.checks", check, name, kwargs)
    verdict = _replayed(call, _solution(slug, name), tmp_path, monkeypatch)
    assert verdict.startswith("✔"), verdict
    assert len(rounds) == 1 and rounds[0] > 1


def test_a_function_that_changes_its_answers_cannot_keep_the_grader_waiting(tmp_path,
                                                                           monkeypatch):
    """Results differing from pass to pass lead the check to new calls; after a bounded
    number of passes the cell fails instead of the grader looping."""
    import itertools

    counter = itertools.count()

    def restless(x):
        return np.full_like(x, next(counter), dtype=x.dtype)

    call = CheckCall("course_lib.checks", "check_relu", "relu")
    verdict = _replayed(call, restless, tmp_path, monkeypatch)
    assert verdict.startswith("FAILED relu failed on case 1")


def test_nothing_handed_in_names_how_the_test_cell_ended(tmp_path):
    session = replay.Session(tmp_path, {"test_relu": "NameError: name 'relu' is not defined"})
    call = CheckCall("course_lib.checks", "check_relu", "relu")
    judged = verdicts.judge({"test_relu": [call]}, verdicts.resolver(tmp_path), session,
                            record=lambda requests: pytest.fail("nothing to record"))
    (outcome,) = judged["test_relu"].outcomes
    assert "nothing was handed in" in outcome.failure
    assert "NameError: name 'relu' is not defined" in outcome.failure


def test_a_recorder_that_stops_fails_the_call_it_stopped_in(tmp_path, monkeypatch):
    handins = tmp_path / "handins"
    handins.mkdir()
    monkeypatch.setenv(HANDIN_ENV, str(handins))
    with pytest.raises(HandedIn):
        checks.check_relu(lambda x: np.maximum(x, 0))
    monkeypatch.delenv(HANDIN_ENV)
    session = replay.Session(handins)
    call = CheckCall("course_lib.checks", "check_relu", "relu")
    judged = verdicts.judge({"c": [call]}, verdicts.resolver(tmp_path), session,
                            record=lambda requests: session.take(
                                tmp_path, requests, "your code did not finish within 5 s"))
    (outcome,) = judged["c"].outcomes
    assert "did not finish within 5 s" in outcome.failure


# ------------------------------------------------------------------ the recorder


def _request(kind="call", **fields):
    base = {"id": "r1", "exercise": "relu", "kind": kind, "args": (np.array([-1.0, 2.0]),)}
    return recorder.Request(**{**base, **fields})


def test_a_forbidden_package_the_sandbox_lacks_is_reported_as_delegation():
    def needs_torch(x):
        import torch  # noqa: F401  (in a NumPy exercise's sandbox there is none)

        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    answer = recorder.answer(_request(forbidden=("torch",)), needs_torch)
    assert answer["run"]["delegated_to"].startswith("torch (it is not available")


def test_a_probe_that_breaks_is_an_error_not_a_verdict():
    def broken_probe(obj):
        raise RuntimeError("sabotaged")

    answer = recorder.answer(_request("probe", args=(), probe=broken_probe), object())
    line = broken_probe.__code__.co_firstlineno + 1
    assert answer == {"kind": "error",
                      "message": f"RuntimeError: sabotaged (in broken_probe, line {line})"}


def test_feedback_labels_a_hidden_test_failure_as_such():
    verdict = verdicts.CellVerdict("test_relu", [
        verdicts.Outcome("✔ relu: all 9 cases passed\n"),
        verdicts.Outcome("", "relu failed on case 12: a 200,000-value array\n  problem: x",
                         hidden=True)])
    stream, error = verdicts.verdict_outputs(verdict)
    assert stream["text"] == "✔ relu: all 9 cases passed\n"
    assert error["evalue"].splitlines()[:2] == [
        "hidden test: relu failed on case 12: a 200,000-value array", "  problem: x"]
    assert "cases you have not seen" in error["traceback"][-1]
    visible = verdicts.CellVerdict("test_relu", [verdicts.Outcome("", "relu failed on case 1")])
    assert verdicts.verdict_outputs(visible)[0]["evalue"] == "relu failed on case 1"
