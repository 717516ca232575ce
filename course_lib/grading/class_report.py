"""``course report SLUG --out DIR``: the class's results on one assignment, for the lecturer.

One HTML page (``DIR/<slug>-report.html``, self-contained: its plots are embedded) and one
CSV (``DIR/<slug>-report.csv``, one row per student) from what ``course grade`` stored:

- the score distribution of every test cell (a plot per exercise);
- how many students made each classic mistake the checks named, and who;
- time-outs, crashes and other errors, flags, late and extended work, answers still
  waiting for a TA (free-response questions);
- pairs of students whose answers to an exercise are near-identical after names,
  literals and layout are normalised (:mod:`course_lib.grading.similarity`), side by side.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.grading import gradebook, records, similarity
from course_lib.grading.course import release_dir
from course_lib.grading.submissions import Outcome, find_submissions


@dataclass
class ClassResults:
    """What the report shows, gathered from the gradebook, the records and the files."""

    slug: str
    cells: dict[str, float]  # test and manual cells -> points possible
    scores: dict[str, dict[str, float]]  # student -> cell -> score
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    verdicts: dict[str, dict] = field(default_factory=dict)  # student -> grade_id -> summary
    manual: dict[str, list[str]] = field(default_factory=dict)  # student -> cells to grade
    pairs: list[similarity.Pair] = field(default_factory=list)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)

    def mistakes(self) -> dict[tuple[str, str], list[str]]:
        """``{(grade_id, mistake): [students]}``, most common first."""
        found: dict[tuple[str, str], list[str]] = defaultdict(list)
        for student, cells in sorted(self.verdicts.items()):
            for grade_id, verdict in cells.items():
                if verdict.get("mistake"):
                    found[grade_id, verdict["mistake"]].append(student)
        return dict(sorted(found.items(), key=lambda item: -len(item[1])))


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path
    summary: str


def gather(root: Path, slug: str, threshold: float = 0.6) -> ClassResults:
    """Everything about ``slug``'s graded submissions.

    Raises:
        CourseError: nothing of ``slug`` is graded yet.
    """
    url, course = gradebook.db_url(root), gradebook.course_id(root)
    cells, manual, answers = {}, {}, set()
    with gradebook.opened(url, course) as gb:
        if slug not in {a.name for a in gb.assignments}:
            raise CourseError(f"the gradebook has no assignment {slug!r}")
        for notebook in gb.find_assignment(slug).notebooks:
            cells.update({cell.name: float(cell.max_score) for cell in notebook.grade_cells})
            answers |= {cell.name for cell in notebook.solution_cells}  # graded by hand
        for submission in gb.assignment_submissions(slug):
            waiting = [g.name for nb in submission.notebooks for g in nb.grades
                       if g.needs_manual_grade and g.manual_score is None
                       and g.name in answers]
            if waiting:
                manual[submission.student.id] = waiting
    scores = gradebook.scores(root, slug)
    if not scores:
        raise CourseError(f"no graded submission of {slug}; run `course grade {slug}` first")
    results = ClassResults(slug, cells, scores, manual=manual)
    for student in scores:
        record = records.load(root, slug, student) or {}
        if "outcome" in record:
            results.outcomes[student] = Outcome(**record["outcome"])
        results.verdicts[student] = record.get("verdicts", {})
    results.answers = _answers(root, slug, set(scores))
    results.pairs = similarity.similar_pairs(results.answers, threshold,
                                             templates=_answers_of(_released(root, slug)))
    return results


def _released(root: Path, slug: str) -> Path:
    return release_dir(root) / slug / f"{slug}.ipynb"


def _answers_of(path: Path) -> dict[str, str]:
    """``{grade_id: source}`` of a notebook's answer cells (empty if it cannot be read)."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError, AttributeError):
        return {}
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
            if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {})
            .get("solution")}


def _answers(root: Path, slug: str, students: set[str]) -> dict[str, dict[str, str]]:
    return {s.student: _answers_of(s.folder / f"{slug}.ipynb")
            for s in find_submissions(root, [slug]) if s.student in students}


def _histograms(results: ClassResults) -> str:
    """One bar chart per cell: how many students got each score; a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results.cells)
    columns = min(4, len(names)) or 1
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows),
                                squeeze=False)
    for ax, name in zip(axes.flat, names):
        values = [cells.get(name, 0.0) for cells in results.scores.values()]
        levels = sorted(set(values) | {0.0, results.cells[name]})
        ax.bar([f"{v:g}" for v in levels], [values.count(v) for v in levels], color="#4c72b0")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f"points (of {results.cells[name]:g})", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>" if rows else "<p>None.</p>"


def _problems(results: ClassResults) -> list[list[str]]:
    rows = []
    for student, outcome in sorted(results.outcomes.items()):
        notes = [("timed out" if outcome.timed_out else ""), outcome.error, outcome.late,
                 *(f"flagged: {f}" for f in outcome.flags)]
        notes = [html.escape(n) for n in notes if n]
        if student in results.manual:
            notes.append(f"awaiting a TA: {html.escape(', '.join(results.manual[student]))}")
        if notes:
            rows.append([html.escape(student), "<br>".join(notes)])
    return rows


def _pairs_html(results: ClassResults) -> str:
    blocks = []
    for pair in results.pairs:
        left = html.escape(results.answers[pair.a].get(pair.exercise, ""))
        right = html.escape(results.answers[pair.b].get(pair.exercise, ""))
        blocks.append(
            f"<h3>{html.escape(pair.exercise)}: {html.escape(pair.a)} and "
            f"{html.escape(pair.b)} (similarity {pair.score:.2f})</h3>"
            f"<div class='pair'><pre>{left}</pre><pre>{right}</pre></div>")
    return "".join(blocks) or "<p>No pair above the threshold.</p>"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:75em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}pre{background:#f8f8f8;
padding:.6em;overflow-x:auto;font-size:85%}"""


def render_html(results: ClassResults) -> str:
    totals = sorted(sum(cells.values()) for cells in results.scores.values())
    possible = sum(results.cells.values())
    median = totals[len(totals) // 2]
    mistakes = [[html.escape(cell), html.escape(mistake), str(len(students)),
                 html.escape(", ".join(students))]
                for (cell, mistake), students in results.mistakes().items()]
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{html.escape(results.slug)}: class report</title><style>{STYLE}</style></head><body>
<h1>{html.escape(results.slug)}: class report</h1>
<p>{len(results.scores)} students graded; total scores from {totals[0]:g} to {totals[-1]:g}
of {possible:g} (median {median:g}).</p>
<h2>Scores per exercise</h2>
<img alt="score distribution per test cell" src="data:image/png;base64,{_histograms(results)}">
<h2>Classic mistakes the checks named</h2>
{_table(["test cell", "mistake", "students", "who"], mistakes)}
<h2>Time-outs, crashes, flags, late work, answers awaiting a TA</h2>
{_table(["student", "notes"], _problems(results))}
<h2>Near-identical answers</h2>
<p>Answers compared after normalising names, literals and layout; the code everyone was
given is left out. Similar is not copied: read the pairs.</p>
{_pairs_html(results)}
</body></html>
"""


def write_csv(results: ClassResults, path: Path) -> None:
    cells = list(results.cells)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "total", *cells, "mistakes", "notes"])
        for student, scores in sorted(results.scores.items()):
            outcome = results.outcomes.get(student)
            mistakes = [f"{g}: {v['mistake']}" for g, v in results.verdicts.get(student, {})
                        .items() if v.get("mistake")]
            notes = [] if outcome is None else [n for n in (
                "timed out" if outcome.timed_out else "", outcome.error, outcome.late,
                *outcome.flags) if n]
            writer.writerow([student, f"{sum(scores.values()):g}",
                             *(f"{scores.get(c, 0.0):g}" for c in cells),
                             "; ".join(mistakes), "; ".join(notes)])


def write_report(root: Path, slug: str, out: Path, *, threshold: float = 0.6) -> ReportFiles:
    """Write the HTML page and the CSV into ``out``; return where, with a summary line."""
    if not 0.0 <= threshold <= 1.0:
        raise CourseError(f"--similarity: expected a number in [0, 1], got {threshold}")
    results = gather(root, slug, threshold)
    out.mkdir(parents=True, exist_ok=True)
    page, table = out / f"{slug}-report.html", out / f"{slug}-report.csv"
    page.write_text(render_html(results), encoding="utf-8")
    write_csv(results, table)
    named = sum(len(students) for students in results.mistakes().values())
    summary = (f"{len(results.scores)} students; {named} named mistakes; "
               f"{len(_problems(results))} with notes; {len(results.pairs)} similar pairs")
    return ReportFiles(page, table, summary)
