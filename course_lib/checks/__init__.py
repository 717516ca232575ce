"""Checks that notebooks' test cells call with the student's function.

``check_sigmoid(sigmoid)`` runs deterministic and random cases against the
reference; on success it prints one line, on failure it raises an
``AssertionError`` that says which case failed, on which input, what was
expected, what came, and what to change. See :mod:`course_lib.checks.core`.

Every check has the signature ``check_<exercise>(student_fn, *, seed=0, thorough=False)``:
``student_fn`` is the student's function (or class), ``seed`` seeds the random cases and
``thorough=True`` (the hidden tests) adds views, more values and larger inputs. It raises
:class:`CheckFailure` on the first wrong case, with the input, the expected and the
received values, the known mistake it matches, and a hint.

Each check is imported on first use, so a NumPy notebook never pays for PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

from course_lib.checks.core import (
    Checker,
    CheckFailure,
    Mistake,
    gradient_check,
    numerical_gradient,
    rel_error,
)

# check name -> submodule of course_lib.checks that defines it (one per reference module)
_CHECKS = {
    "check_collapse_linear": "linear",
    "check_count_linear_pieces": "regions",
    "check_xor_relu_weights": "regions",
    "check_xavier_std": "init",
    "check_dead_unit_fraction": "dead_relu",
    "check_dead_layer_probability": "dead_relu",
    **{f"check_{name}": "activations" for name in (
        "sigmoid", "sigmoid_grad", "tanh_grad", "relu", "relu_grad", "relu_backward")},
    **{f"check_{name}": "relu_variants" for name in (
        "leaky_relu", "prelu", "prelu_backward", "rrelu", "elu", "elu_grad")},
    "check_prelu_autograd": "prelu_autograd",
    **{f"check_{name}": "norms" for name in (
        "batch_norm", "batch_norm_backward", "batch_norm_backward_graph", "layer_norm",
        "instance_norm", "group_norm", "rms_norm", "fold_batch_norm",
    )},
    **{f"check_{name}": "lenet" for name in (
        "conv_output_size", "count_parameters", "layer_output_shapes",
    )},
    "check_lenet5": "lenet_model",
}

__all__ = [
    "CheckFailure",
    "Checker",
    "Mistake",
    "gradient_check",
    "numerical_gradient",
    "rel_error",
    *_CHECKS,
]


def __getattr__(name: str) -> Any:
    if name in _CHECKS:
        module = importlib.import_module(f"course_lib.checks.{_CHECKS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'course_lib.checks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CHECKS))
