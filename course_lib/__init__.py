"""course_lib: the companion package of the Activations & Normalization course.

Reference implementations (NumPy, following PyTorch's conventions), the checks
that notebooks' test cells call, data loading, training and diagnostics helpers,
and the ``course`` command that releases, checks and grades the notebooks.

Modules import lazily, so ``import course_lib`` stays cheap (no PyTorch) in a
NumPy-only notebook or a grading kernel.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Top-level names of the exercise contract (../shared/DESIGN.md) and where they live.
_LAZY = {
    "collapse_linear": "course_lib.linear",
    "dead_unit_fraction": "course_lib.activation_stats",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
