"""Each instructor notebook runs top to bottom in normal (not grading) mode on the CPU:
no cell raises, nothing reaches stderr, every test cell prints its check's success line.

This is the run a self-study learner makes, with the experiments at full size; the
grading-mode runs are covered by the sample corpus (tests/test_grading_corpus.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def _is_test_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_solution_runs_top_to_bottom_in_normal_mode(path, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    print(f"{path.parent.name}: {seconds:.0f} s in normal mode")

    stderr = [(i, o.text) for i, c in enumerate(notebook.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"cells wrote to stderr (nbgrader would score a test 0): {stderr[:3]}"
    for cell in filter(_is_test_cell, notebook.cells):
        printed = "".join(o.get("text", "") for o in cell.outputs)
        assert "✔" in printed, f"test cell {cell.metadata.nbgrader['grade_id']} said: {printed!r}"
