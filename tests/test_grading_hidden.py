"""Hidden tests' defences: fresh checks, genuine numpy, the tampering scan."""

from __future__ import annotations

import sys

import nbformat
import numpy as np
import pytest
from grading_fixture import CHECKS

import course_lib.checks
from course_lib.grading import hidden
from course_lib.grading.hidden import TamperingDetected, fresh_checks, load_fresh
from course_lib.grading.scan import suspicious_code


def stable_sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def naive_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_genuine_environment_has_nothing_tampered():
    assert hidden.tampered_names() == []


def test_fresh_check_ignores_a_check_patched_to_a_no_op(monkeypatch):
    monkeypatch.setattr(course_lib.checks, "check_sigmoid", lambda fn, **kw: None, raising=False)
    from course_lib.checks import check_sigmoid

    assert check_sigmoid(naive_sigmoid) is None  # the patched visible check is fooled
    with pytest.raises(AssertionError, match="sigmoid failed on case"):
        fresh_checks().check_sigmoid(naive_sigmoid, seed=1, thorough=True)


def test_fresh_check_uses_a_fresh_reference_and_core(monkeypatch, capsys):
    import course_lib.checks.core
    import course_lib.reference.activations

    # The notebook makes the reference agree with a wrong function and the
    # comparison accept anything: the fresh check sees neither.
    monkeypatch.setattr(course_lib.reference.activations, "sigmoid", lambda x: np.zeros_like(x))
    monkeypatch.setattr(course_lib.checks.core, "within_tolerance", lambda *a, **k: True)
    fresh_checks().check_sigmoid(stable_sigmoid, seed=2, thorough=True)
    assert "sigmoid: all" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="sigmoid failed"):
        fresh_checks().check_sigmoid(lambda x: np.zeros_like(x), seed=2, thorough=True)


def test_fresh_checks_leave_the_notebooks_modules_in_place():
    before = {name: id(mod) for name, mod in sys.modules.items() if name.startswith("course_lib")}
    fresh_checks().check_sigmoid(stable_sigmoid, seed=3)
    after = {name: id(mod) for name, mod in sys.modules.items()
             if name.startswith("course_lib") and name in before}
    assert after == before


def test_fresh_check_still_detects_delegation_to_the_reference():
    def delegating(x):
        import course_lib.reference.activations

        return course_lib.reference.activations.sigmoid(x)

    with pytest.raises(AssertionError, match="course_lib.reference.activations"):
        fresh_checks().check_sigmoid(delegating, seed=4, thorough=True)


def test_unknown_check_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no check named 'check_nothing'"):
        fresh_checks().check_nothing  # noqa: B018


@pytest.mark.parametrize("module, name, replacement", [
    ("numpy.testing", "assert_allclose", lambda *a, **k: None),
    ("numpy", "allclose", lambda *a, **k: True),
    ("numpy", "all", all),
    ("numpy.random", "default_rng", lambda seed=None: np.random.Generator(np.random.PCG64(0))),
    ("sys", "setprofile", lambda fn: None),
])
def test_replaced_numpy_or_sys_functions_are_detected(monkeypatch, module, name, replacement):
    monkeypatch.setattr(sys.modules[module], name, replacement)
    assert f"{module}.{name}" in hidden.tampered_names()
    with pytest.raises(TamperingDetected, match=rf"replaced .*{module}\.{name}"):
        fresh_checks()


def test_load_fresh_runs_a_checks_file_with_fresh_course_lib(tmp_path, capsys):
    path = tmp_path / "tiny_checks.py"
    path.write_text(CHECKS)
    module = load_fresh(path)
    module.check_double(lambda x: 2 * x, seed=5, thorough=True)
    assert "double: all 4 cases passed" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="double failed"):
        module.check_double(lambda x: 3 * x, seed=5, thorough=True)


def _notebook(*sources: str, locked: tuple[int, ...] = ()) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, source in enumerate(sources):
        meta = {"nbgrader": {"locked": True, "grade": True}} if i in locked else {}
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata=meta))
    return nb


@pytest.mark.parametrize(("source", "flag"), [
    ("import sys\nsys.modules.pop('numpy')", "touches sys.modules"),
    ("import sys\nsys.setprofile(None)", "changes the profiler or tracer"),
    ("import threading\nthreading.settrace(print)", "changes the profiler or tracer"),
    ("import sys\nframe = sys._getframe(1)", "inspects call frames"),
    ("def f(frame):\n    return frame.f_back.f_locals", "inspects call frames"),
    ("import gc\nobjects = gc.get_objects()", "walks the garbage collector"),
    ("from course_lib.grading import grade", "refers to the grading code"),
    ("import builtins\nbuiltins.len = lambda x: 0", "touches builtins"),
    ("__builtins__['abs'] = abs", "touches builtins"),
    ("np.testing.assert_allclose = print", "reassigns numpy.testing"),
    ("numpy.testing.assert_equal = print", "reassigns numpy.testing"),
    ("course_lib.checks.check_relu = print", "reassigns a check"),
    ("import os\nos._exit(0)", "calls os._exit"),
])
def test_every_scan_pattern_flags_its_tool(source, flag):
    assert suspicious_code(_notebook(source)) == [flag]


def test_scan_leaves_honest_code_and_locked_cells_alone():
    honest = _notebook("import numpy as np\ndef relu(x):\n    return np.maximum(x, 0.0)")
    assert suspicious_code(honest) == []
    locked = _notebook("import sys\nsys.modules.clear()")
    locked.cells[0].metadata["nbgrader"] = {"locked": True}
    assert suspicious_code(locked) == []


def test_scan_flags_tools_no_exercise_needs():
    nb = _notebook(
        "import sys\nsys.modules['course_lib.grading.hidden'] = None",
        "import course_lib.checks\ncourse_lib.checks.check_relu = lambda f: None",
        "np.testing.assert_allclose = lambda *a: None",
        "frame = sys._getframe(1)",
    )
    flags = suspicious_code(nb)
    for expected in ("touches sys.modules", "reassigns a check", "reassigns numpy.testing",
                     "inspects call frames", "refers to the grading code"):
        assert expected in flags


def test_scan_ignores_ordinary_code_and_locked_test_cells():
    nb = _notebook(
        "def relu(x):\n    return np.maximum(x, 0)",
        "from course_lib.grading.hidden import fresh_checks",
        locked=(1,),
    )
    assert suspicious_code(nb) == []

