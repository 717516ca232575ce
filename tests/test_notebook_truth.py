"""Every number in the notebooks' prose comes from the run, and the runs can be trusted.

* No markdown cell types a measured-looking number (a decimal with a fraction, a
  percentage, a ratio like ``4.5x``) outside maths and code, unless the line cites its
  source: what a run measured is shown by ``claim``/``say`` cells (course_lib.lab.claims).
* Each notebook, run at grading size, prints the same thing from every experiment cell
  (tag ``experiment``) when that cell runs again after the whole notebook: experiments
  seed their own data order and weights. Every claim judged at that size holds.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

import course_lib
from course_lib.grading.course import repo_root
from course_lib.lab.claims import LOG_ENV, SEED_ENV

REPO = repo_root()
#: A citation on the same line: (Author, 2018), (Author et al., 2016), (A & B, 2019).
CITATION = re.compile(r"\([A-Z][^()]*?(?:et al\.|&| and )?[^()]*?,? (?:19|20)\d\d[a-z]?\)")
#: Numbers that look measured: 0.89, 13 %, 99.1%, 4.5x, 0.3×.
MEASURED = re.compile(r"(?<![\w.])(\d+\.\d+|\d+(?:\.\d+)?\s?%|\d+(?:\.\d+)?\s?[x×](?![\w]))")
MATH_OR_CODE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", re.DOTALL)


def measured_numbers(markdown: str) -> list[tuple[str, str]]:
    """``(number, line)`` of every measured-looking number outside maths, code and lines
    that cite their source."""
    text = MATH_OR_CODE.sub(" ", markdown)
    found = []
    for line in text.splitlines():
        if CITATION.search(line) or re.search(r"https?://", line) or line.startswith("#"):
            continue  # cited, linked, or a heading ("### 2.1 · ..." numbers a section)
        found += [(m.group(0), line.strip()) for m in MEASURED.finditer(line)]
    return found


def test_the_scanner_finds_typed_numbers_and_leaves_the_rest():
    assert measured_numbers("Best accuracy 0.89 at lr 0.3.") == [
        ("0.89", "Best accuracy 0.89 at lr 0.3."), ("0.3", "Best accuracy 0.89 at lr 0.3.")]
    assert measured_numbers("kills 20-40 % of units, 4.5x slower")[0][0] == "40 %"
    assert measured_numbers("GN stays at 24.1 % (Wu & He, 2018).") == []
    assert measured_numbers("### 2.1 · Gradient check") == []
    assert measured_numbers("with $\\eta = 0.1$ and `lr=0.3`, 61,706 parameters, 10 epochs") == []


@pytest.mark.parametrize("slug", course_lib.SLUGS)
def test_no_measured_number_is_typed_into_the_prose(slug):
    notebook = nbformat.read(REPO / "solutions" / slug / f"{slug}.ipynb", as_version=4)
    typed = [(index, number, line) for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "markdown"
             for number, line in measured_numbers(cell.source)]
    assert typed == [], "\n".join(f"cell {i}: {n!r} in: {line}" for i, n, line in typed[:10])


def _text(cell) -> str:
    """What a cell printed, without timing lines (they start with "time:")."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            data = output.get("data", {})
            parts.append(data.get("text/markdown") or data.get("text/plain", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return "\n".join(line for line in "".join(parts).splitlines()
                     if not line.startswith("time:") and "it/s" not in line)


@pytest.mark.slow
@pytest.mark.parametrize("slug", course_lib.SLUGS)
def test_experiments_print_the_same_when_run_again_and_their_claims_hold(slug, tmp_path,
                                                                         monkeypatch):
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO / "solutions" / slug / f"{slug}.ipynb", as_version=4)
    experiments = [i for i, cell in enumerate(notebook.cells)
                   if "experiment" in cell.get("metadata", {}).get("tags", [])]
    assert experiments, f"{slug} tags no cell as an experiment"
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.delenv(SEED_ENV, raising=False)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        first = {i: _text(notebook.cells[i]) for i in experiments}
        again = {}
        for i in experiments:
            copy = nbformat.from_dict(json.loads(json.dumps(notebook.cells[i])))
            client.execute_cell(copy, i)
            again[i] = _text(copy)
    differ = [i for i in experiments if first[i] != again[i]]
    assert not differ, "\n".join(f"cell {i}:\nfirst:\n{first[i]}\nagain:\n{again[i]}"
                                 for i in differ[:2])
    claims = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert claims, f"{slug} states no claim"
    failed = [c for c in claims if c["held"] is False]
    assert not failed, f"claims that did not hold at grading size: {failed}"
