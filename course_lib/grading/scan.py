"""Flag submissions whose code reaches for the tools that could fool the checks.

The hidden tests defend against patched checks and numpy (see
:mod:`course_lib.grading.hidden`), but code running in the same Python process
can always go deeper: replace modules in ``sys.modules``, inspect the checker's
frames, switch off the profiler that detects delegation. None of that is needed
to solve an exercise, so :func:`suspicious_code` reports it and ``course grade``
marks such notebooks as flagged in nbgrader's gradebook for a human to look at.
Flags never change a score.
"""

from __future__ import annotations

import re

#: (pattern, what it is) pairs searched for in the code cells a student can edit.
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bsys\.modules\b", "touches sys.modules"),
    (r"\bsetprofile\b|\bsettrace\b", "changes the profiler or tracer"),
    (r"\b_getframe\b|\bf_back\b|\bf_locals\b", "inspects call frames"),
    (r"\bimport\s+gc\b|\bgc\.get_", "walks the garbage collector"),
    (r"course_lib\.grading|fresh_checks|load_fresh", "refers to the grading code"),
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
