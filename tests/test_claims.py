"""Claims a notebook makes about its runs (course_lib.lab.claims) and ``course claims``."""

from __future__ import annotations

import json

import grading_fixture as fixture
import nbformat
import pytest

from course_lib.cli import main
from course_lib.lab import claims
from course_lib.lab.claims import claim, experiment_seed, say


def test_an_experiment_starts_from_the_seed_it_is_given(monkeypatch):
    monkeypatch.delenv(claims.SEED_ENV, raising=False)
    assert experiment_seed() == 0 and experiment_seed(7) == 7
    monkeypatch.setenv(claims.SEED_ENV, "3")
    assert experiment_seed(7) == 3
    for bad in ("x", "-1"):
        monkeypatch.setenv(claims.SEED_ENV, bad)
        with pytest.raises(ValueError, match="COURSE_SEED: expected an int >= 0"):
            experiment_seed()


def test_a_claim_prints_its_verdict_with_the_numbers_and_logs_them(tmp_path, monkeypatch,
                                                                   capsys):
    import numpy as np

    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(claims.LOG_ENV, str(log))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    accuracy = np.float32(0.9123)
    assert claim("batch norm helps", accuracy > 0.9, accuracy=accuracy).held is True
    assert claim("it trains in one epoch", False, epochs=[3, 4]).held is False
    out = capsys.readouterr().out.splitlines()
    assert out == ["✔ holds: batch norm helps  (accuracy = 0.9123)",
                   "✘ DOES NOT HOLD in this run: it trains in one epoch  (epochs = [3, 4])"]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries[0] == {"text": "batch norm helps", "held": True,
                          "measured": {"accuracy": pytest.approx(0.9123, rel=1e-6)},
                          "seed": 0}
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert claim("99 % after 8 epochs", False, at_full_size=True).held is None
    assert "not judged at grading size" in capsys.readouterr().out
    with pytest.raises(ValueError, match="text: expected the claim"):
        claim("", True)


def test_say_fills_in_the_runs_values(capsys):
    assert say("reached {acc:.1%} in {n} epochs", acc=0.9912, n=8) == "reached 99.1% in 8 epochs"
    assert capsys.readouterr().out == "reached 99.1% in 8 epochs\n"
    with pytest.raises(ValueError, match="names 'loss' but no such value"):
        say("loss {loss}", acc=1)


def test_course_claims_tabulates_each_claim_over_seeds(tmp_path, capsys):
    root = fixture.make_course(tmp_path / "course", release=False)
    path = root / "solutions" / fixture.SLUG / f"{fixture.SLUG}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "from course_lib.lab.claims import claim, experiment_seed\n"
        "seed = experiment_seed()\n"
        "claim('double doubles', bool((double(np.arange(3.0)) == [0, 2, 4]).all()))\n"
        "claim('the seed is even', seed % 2 == 0, seed=seed)\n"))
    nbformat.write(notebook, path)
    code = main(["claims", fixture.SLUG, "--course-dir", str(root), "--seeds", "0", "1", "2",
                 "--no-progress", "--json", str(tmp_path / "claims.json")])
    out = capsys.readouterr().out
    assert code == 1  # one claim failed on a seed
    assert f"{fixture.SLUG}         3/3  double doubles" in out
    assert f"{fixture.SLUG}         2/3  the seed is even" in out
    assert "seed 1: FAILED  seed=1" in out
    assert "2 claims, 3 seeds, grading size: 1 held on every seed, 1 did not" in out
    rows = json.loads((tmp_path / "claims.json").read_text())
    assert rows[1]["held"] == {"0": True, "1": False, "2": True}
