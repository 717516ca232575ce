"""Plain-text tables of a grading batch, for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from course_lib.grading.submissions import Outcome


def render(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, the first row a header underlined with dashes."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def outcome_table(outcomes: Sequence[Outcome]) -> str:
    """One row per submission, then each student's total over all assignments."""
    rows = [("student", "assignment", "score", "seconds", "notes")]
    for o in outcomes:
        waiting = (f"{o.awaiting_ta:g} point{'s await' if o.awaiting_ta != 1 else ' awaits'} "
                   "a TA (written answers)") if o.awaiting_ta else ""
        notes = "; ".join(filter(None, ["timed out" if o.timed_out else "", o.error, o.late,
                                        waiting, *(f"flagged: {f}" for f in o.flags)]))
        rows.append((o.student, o.slug, f"{o.score:g}/{o.max_score:g}", f"{o.seconds:.1f}",
                     notes))
    totals: dict[str, list[float]] = {}
    for o in outcomes:
        total = totals.setdefault(o.student, [0.0, 0.0])
        total[0] += o.score
        total[1] += o.max_score
    total_rows = [("student", "total")]
    total_rows += [(student, f"{score:g}/{possible:g}")
                   for student, (score, possible) in sorted(totals.items())]
    return render(rows) + "\n\nTotals per student\n" + render(total_rows)
