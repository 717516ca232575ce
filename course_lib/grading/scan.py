"""Flag submissions whose code reaches for tools no exercise needs.

Scores cannot be forged from inside a notebook: the grader judges every test cell
outside it (:mod:`course_lib.grading.verdicts`), and the notebook runs in a sandbox
(:mod:`course_lib.grading.isolation`). Code that tries anyway (replacing modules in
``sys.modules``, inspecting frames, patching checks, numpy or the hand-in) still says
something about a submission, so :func:`suspicious_code` reports it and ``course
grade`` marks such notebooks as flagged in nbgrader's gradebook for a human to look
at. Flags never change a score.
"""

from __future__ import annotations

import re

#: (pattern, what it is) pairs searched for in the code cells a student can edit.
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bsys\.modules\b", "touches sys.modules"),
    (r"\bsetprofile\b|\bsettrace\b", "changes the profiler or tracer"),
    (r"\b_getframe\b|\bf_back\b|\bf_locals\b", "inspects call frames"),
    (r"\bimport\s+gc\b|\bgc\.get_", "walks the garbage collector"),
    (r"course_lib\.grading|\bhand_?in\b|HandedIn|COURSE_HANDIN", "refers to the grading code"),
    (r"\bbuiltins\b|__builtins__", "touches builtins"),
    (r"\bnp\.testing\.\w+\s*=|\bnumpy\.testing\.\w+\s*=", "reassigns numpy.testing"),
    (r"\.check_\w+\s*=", "reassigns a check"),
    (r"\bos\._exit\b", "calls os._exit"),
)


def suspicious_code(notebook) -> list[str]:
    """What the editable code cells of ``notebook`` do that no exercise needs."""
    found = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked"):
            continue
        for pattern, what in PATTERNS:
            if re.search(pattern, cell.source) and what not in found:
                found.append(what)
    return found
