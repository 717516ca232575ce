"""``course bundle``: the student distribution holds no answer key, installs on its own, and
its visible checks judge exactly as the full edition's do."""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import json
import sys
import zipfile

from bundle_fixture import wheel_names

import course_lib
from course_lib.grading.student_edition import reference_of

# ------------------------------------------------------------------ no answer key


#: Bodies smaller than this (AST nodes) are compared only as written: with every name
#: made the same, ``return helper(x)`` would match any one-line wrapper.
RENAMED_MIN_NODES = 25


def _normalised(body: list[ast.stmt]) -> tuple[str, str | None]:
    """A function body's AST as written, and with every local name made the same (None for
    bodies too small to tell apart that way)."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    module = ast.Module(body=body, type_ignores=[])
    raw = ast.dump(module, annotate_fields=False)
    renamed = ast.parse(ast.unparse(module))
    nodes = sum(1 for _ in ast.walk(renamed))
    for node in ast.walk(renamed):
        if isinstance(node, ast.Name):
            node.id = "_"
        elif isinstance(node, ast.arg):
            node.arg = "_"
    return raw, ast.dump(renamed, annotate_fields=False) if nodes >= RENAMED_MIN_NODES else None


def _bodies(tree: ast.AST) -> dict[str, tuple[str, str | None]]:
    return {node.name: _normalised(node.body) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _reference_bodies() -> dict[str, tuple[str, str | None]]:
    """The body of every function and method of the reference modules (the exercises and
    the helpers they call), named ``module.function``."""
    from course_lib.grading.student_edition import TOPICS

    found = {}
    for topic in TOPICS:
        module = importlib.import_module(f"course_lib.reference.{topic}")
        for function, body in _bodies(ast.parse(inspect.getsource(module))).items():
            found[f"{topic}.{function}"] = body
    return found


def _code_of(notebook_json: str) -> str:
    """A notebook's code cells as one Python source (IPython's % and ! lines dropped)."""
    cells = json.loads(notebook_json)["cells"]
    code = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return "\n".join(line for line in code.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def _bundle_sources(bundle) -> dict[str, str]:
    """Every Python file of the wheel and every code cell of the bundle's notebooks."""
    sources = {}
    with zipfile.ZipFile(bundle.wheel) as wheel:
        for name in wheel.namelist():
            if name.endswith(".py"):
                sources[name] = wheel.read(name).decode()
            elif name.endswith(".ipynb"):
                sources[name] = _code_of(wheel.read(name).decode())
    for path in (bundle.folder / "notebooks").rglob("*.ipynb"):
        sources[str(path)] = _code_of(path.read_text())
    return sources


def test_no_function_in_the_bundle_has_a_references_body(student_bundle):
    references = _reference_bodies()
    exercises = {name for notebook in course_lib.NOTEBOOKS for name in notebook.exercises}
    assert {name.split(".")[1] for name in references} >= exercises - {"LeNet5"}
    found = []
    for where, source in _bundle_sources(student_bundle).items():
        for function, (raw, renamed) in _bodies(ast.parse(source)).items():
            for reference, (ref_raw, ref_renamed) in references.items():
                if raw == ref_raw or (renamed is not None and renamed == ref_renamed):
                    found.append(f"{where}: {function} has the body of {reference}")
    assert not found, found


def test_the_body_comparison_finds_a_copied_reference():
    """The test above can fail: a reference copied with renamed variables is caught."""
    from course_lib.reference import activations

    source = inspect.getsource(inspect.unwrap(activations.sigmoid)).replace("z", "t")
    copied = {b[1] for b in _bodies(ast.parse(source)).values()}
    assert "activations.sigmoid" in {name for name, body in _reference_bodies().items()
                                     if body[1] is not None and body[1] in copied}


def test_the_bundle_has_no_solutions_hidden_tests_or_grading(student_bundle):
    names = wheel_names(student_bundle.wheel)
    assert not [n for n in names
                if n.startswith(("course_lib/reference/", "course_lib/grading/"))]
    assert "course_lib/commands/grading.py" not in names
    assert "course_lib/checks/answers_data/answers.npz" in names
    files = [p.relative_to(student_bundle.folder) for p in student_bundle.folder.rglob("*")]
    assert not [p for p in files if "solutions" in p.parts]
    sources = _bundle_sources(student_bundle)
    notebooks = "\n".join(text for where, text in sources.items() if where.endswith(".ipynb"))
    for secret in ("### BEGIN HIDDEN TESTS", "### BEGIN SOLUTION", "thorough=True"):
        assert secret not in notebooks, secret
    code = "\n".join(sources.values())
    assert "fresh_checks" not in code and "course_lib.grading" not in notebooks
    with zipfile.ZipFile(student_bundle.wheel) as wheel:
        mistakes = wheel.read("course_lib/checks/mistakes/activations.py").decode()
    assert "lambda" not in mistakes and "def " not in mistakes  # descriptions, not code
    assert (student_bundle.folder.parent / "bundle.zip").is_file()


def test_the_student_wheel_installs_alone_and_has_the_learners_commands(student_bundle):
    result = student_bundle.run(
        "import importlib.util, course_lib, course_lib.checks as c, course_lib.cli as cli\n"
        "print(course_lib.__file__)\n"
        "print(importlib.util.find_spec('course_lib.reference'),"
        " importlib.util.find_spec('course_lib.grading'))\n"
        "print(sorted(cli.build_parser()._subparsers._group_actions[0].choices))\n")
    assert result.returncode == 0, result.stderr
    where, missing, commands = result.stdout.splitlines()
    assert where.startswith(str(student_bundle.package))
    assert missing == "None None"
    assert commands == "['check', 'data', 'start']"


# --------------------------------------------------------- the same verdicts, both editions


@contextlib.contextmanager
def student_edition(package):
    """Import the installed student edition as ``course_lib`` in this process, for a while."""
    saved = {name: module for name, module in sys.modules.items()
             if name == "course_lib" or name.startswith("course_lib.")}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(package.parent))
    importlib.invalidate_caches()
    try:
        checks = importlib.import_module("course_lib.checks")
        assert checks.__file__.startswith(str(package))
        yield checks
    finally:
        sys.path.remove(str(package.parent))
        for name in [n for n in sys.modules if n == "course_lib" or n.startswith("course_lib.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def _verdict(check, student) -> str:
    """The check's printed line, or its failure message."""
    import io

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            check(student)
    except AssertionError as failure:
        return f"FAILED {failure}"
    return out.getvalue()


def _students(call) -> dict[str, object]:
    """For one visible check: the reference, each classic mistake, and the stub."""
    from course_lib.checks.core import Mistake
    from course_lib.grading.student_edition import mistakes_of

    def stub(*args, **kwargs):
        raise NotImplementedError()

    students = {"reference": reference_of(call.argument), "stub": stub}
    for mistake in mistakes_of(call.check):
        assert isinstance(mistake, Mistake)
        students[f"mistake: {mistake.description}"] = mistake.fn
    return students


def _unguarded(core):
    """Let a full-edition function stand in as the student (no delegation guard)."""
    original = core._call_guarded
    return lambda fn, args, kwargs, forbidden: original(fn, args, kwargs, ())


def test_visible_checks_judge_the_same_in_both_editions(student_bundle, monkeypatch):
    """Reference, stub and every classic mistake, through every visible check: the student
    edition, answering from stored data, prints or raises exactly what the full one does."""
    import course_lib.checks as checks
    import course_lib.checks.lenet_model
    from course_lib.checks import core
    from course_lib.grading.student_edition import visible_calls
    from course_lib.notebook_files import read_notebook

    calls = [call for slug in course_lib.SLUGS for call in visible_calls(read_notebook(
        student_bundle.folder / "notebooks" / slug / f"{slug}.ipynb"))]
    assert len(calls) == sum(len(nb.exercises) for nb in course_lib.NOTEBOOKS)
    cases = [(call, label, student) for call in calls
             for label, student in _students(call).items()]
    monkeypatch.setattr(core, "_call_guarded", _unguarded(core))
    monkeypatch.setattr(checks.lenet_model, "_call_guarded", core._call_guarded)
    full = [_verdict(getattr(checks, call.check), student) for call, _, student in cases]
    with student_edition(student_bundle.package) as student_checks:
        monkeypatch.setattr(student_checks.core, "_call_guarded",
                            _unguarded(student_checks.core))
        monkeypatch.setattr(importlib.import_module("course_lib.checks.lenet_model"),
                            "_call_guarded", student_checks.core._call_guarded)
        student = [_verdict(getattr(student_checks, call.check), s) for call, _, s in cases]
    differ = [f"{call.check} with {label}:\n  full:    {a}\n  student: {b}"
              for (call, label, _), a, b in zip(cases, full, student) if a != b]
    assert not differ, "\n".join(differ[:5])
    named = sum("this is a known mistake" in verdict for verdict in student)
    assert named >= 60, f"only {named} mistakes were recognised from stored data"


def test_a_check_outside_the_stored_cases_says_so(student_bundle):
    """The student edition holds answers of the visible cases only: another seed is refused
    with a clear error, not judged wrongly."""
    code = ("import numpy as np\nfrom course_lib.checks import check_sigmoid\n"
            "def sigmoid(x):\n    z = np.exp(-np.abs(x))\n"
            "    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype)\n"
            "check_sigmoid(sigmoid)\n"
            "try:\n    check_sigmoid(sigmoid, seed=12345)\n"
            "except Exception as error:\n    print(type(error).__name__, error)\n")
    result = student_bundle.run(code)
    assert result.returncode == 0, result.stderr
    passed, refused = result.stdout.splitlines()
    assert passed.startswith("✔ sigmoid: all 8 cases passed")
    assert refused.startswith("AnswerNotStored the stored answers have no "
                              "reference.activations.sigmoid for these arguments")
