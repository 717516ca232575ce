"""Every notebook of the student distribution runs in the student edition alone.

In the bundle's own venv (no references, no grading code; tests/bundle_fixture.py):

* with the solutions' answers put into the released notebooks, each runs top to bottom in
  normal mode, the run a self-study learner makes with full-size experiments: no cell
  raises, nothing reaches stderr, every visible check prints its success line. Notebook
  06 runs at grading size here: at full size it trains LeNet-5 on all of MNIST and a
  three-seed ablation, about ten minutes on a loaded two-core CI machine, which alone
  would take a third of CI's budget; its full-size run is ``course claims 06_lenet5_lab
  --full`` (every claim judged at full size) and ``benchmarks/bench_lenet.py``;
* with the released blanks, in grading mode, every test cell shows the one friendly
  "not written yet" message, rendered short (no traceback through course_lib).
"""

from __future__ import annotations

import time

import nbformat
import pytest
from bundle_fixture import kernelspec
from nbclient import NotebookClient

import course_lib
from course_lib.grading.course import repo_root
from course_lib.grading.samples import answered_notebook


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _run(notebook, folder, student_bundle, monkeypatch, *, grading: bool, allow_errors: bool):
    kernels = folder / "jupyter"
    name = kernelspec(kernels, student_bundle.python)
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    if grading:
        monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    else:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    client = NotebookClient(notebook, timeout=900, kernel_name=name, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(folder)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


#: Run at grading size in CI (see the module's docstring).
FULL_SIZE_ELSEWHERE = ("06_lenet5_lab",)


@pytest.mark.slow
@pytest.mark.parametrize("slug", course_lib.SLUGS)
def test_answered_notebook_runs_in_the_student_edition(slug, student_bundle, monkeypatch):
    notebook = answered_notebook(repo_root(), slug)
    folder = student_bundle.folder / "notebooks" / slug
    grading = slug in FULL_SIZE_ELSEWHERE
    seconds = _run(notebook, folder, student_bundle, monkeypatch, grading=grading,
                   allow_errors=False)
    mode = "grading" if grading else "normal"
    print(f"{slug}: {seconds:.0f} s in {mode} mode, student edition")
    stderr = [(i, o.text) for i, c in enumerate(notebook.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"cells wrote to stderr (nbgrader would score a test 0): {stderr[:3]}"
    for cell in filter(_is_test_cell, notebook.cells):
        printed = "".join(o.get("text", "") for o in cell.outputs)
        assert "✔" in printed, f"test cell {cell.metadata.nbgrader['grade_id']} said: {printed!r}"


@pytest.mark.slow
@pytest.mark.parametrize("slug", course_lib.SLUGS)
def test_blank_notebook_says_not_written_yet_for_every_exercise(slug, student_bundle,
                                                                 monkeypatch):
    folder = student_bundle.folder / "notebooks" / slug
    notebook = nbformat.read(folder / f"{slug}.ipynb", as_version=4)
    _run(notebook, folder, student_bundle, monkeypatch, grading=True, allow_errors=True)
    tests = list(filter(_is_test_cell, notebook.cells))
    assert len(tests) == len(course_lib.notebook(slug).exercises)
    for cell in tests:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert len(errors) == 1, f"{cell.metadata.nbgrader['grade_id']}: {cell.outputs}"
        error = errors[0]
        assert error.ename == "CheckFailure"
        assert "failed on case 1:" in error.evalue.splitlines()[0]
        assert "is not written yet (it raises NotImplementedError): replace " \
               "`raise NotImplementedError()` with your code" in error.evalue
        assert "hint:" not in error.evalue  # no spoilers before a first attempt
        shown = "\n".join(error.traceback)
        assert "Traceback" not in shown and "course_lib/checks" not in shown, shown
        assert len(error.traceback) == len(error.evalue.splitlines())
