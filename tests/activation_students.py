"""Students for the activation checks' tests: correct solutions, written two ways.

A check refuses a function that calls into ``course_lib`` (delegation), so the
reference itself cannot be handed to a check as it is. :func:`reference_as_student`
runs the reference modules' source again under another package name, which gives
the reference's exact code as a student would have typed it. ``ALTERNATIVES``
are correct solutions written differently from the reference, without PyTorch.
"""

from __future__ import annotations

import sys
import types
from functools import cache
from pathlib import Path

import numpy as np

import course_lib


@cache
def student_copy(*names: str) -> types.SimpleNamespace:
    """Reference modules (``"reference.norms"``...), re-run from their source as package
    ``student_lib`` with their own copy of the argument checks: the reference's exact code,
    as a student would have typed it, which the checks do not see as delegation.

    Returns:
        A namespace of the public names of the modules in ``names``.
    """
    root = Path(course_lib.__file__).parent
    modules: dict[str, types.ModuleType] = {"student_lib": types.ModuleType("student_lib")}
    modules["student_lib"].__path__ = []
    sys.modules.update(modules)
    try:
        for name in ("_validate", "reference", *names):
            module = types.ModuleType(f"student_lib.{name}")
            path = root / (f"{name.replace('.', '/')}/__init__.py"
                           if (root / name.replace(".", "/")).is_dir()
                           else f"{name.replace('.', '/')}.py")
            if path.name == "__init__.py":
                module.__path__ = []
            sys.modules[module.__name__] = modules[module.__name__] = module
            parent, _, child = module.__name__.rpartition(".")
            setattr(modules[parent], child, module)
            source = path.read_text().replace("course_lib", "student_lib")
            exec(compile(source, f"student_lib/{name}.py", "exec"), module.__dict__)
    finally:
        for name in [n for n in sys.modules if n.startswith("student_lib")]:
            del sys.modules[name]
    return types.SimpleNamespace(**{
        attribute: getattr(modules[f"student_lib.{name}"], attribute) for name in names
        for attribute in modules[f"student_lib.{name}"].__all__})


def reference_as_student() -> types.SimpleNamespace:
    """The activation references as a student's code (see :func:`student_copy`)."""
    return student_copy("reference.activations", "reference.relu_variants")


# -------------------------------------------- correct, written unlike the reference


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # sigmoid(x) = (1 + tanh(x/2)) / 2


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def tanh_grad(x):
    return 1 - np.tanh(x) ** 2


def relu(x):
    return x * (x > 0)


def relu_grad(x):
    return np.heaviside(x, 0.0).astype(x.dtype)


def leaky_relu(x, negative_slope=0.01):
    return np.maximum(x, 0) + negative_slope * np.minimum(x, 0)


def _per_channel(weight, x):
    return weight.reshape([1, -1] + [1] * (x.ndim - 2)) if x.ndim >= 2 else weight


def prelu(x, weight):
    return np.maximum(x, 0) + _per_channel(weight, x) * np.minimum(x, 0)


def prelu_backward(dout, x, weight):
    negative = x <= 0
    dx = dout * np.where(negative, _per_channel(weight, x), 1).astype(x.dtype)
    terms = np.moveaxis(x * dout * negative, 1, 0) if x.ndim >= 2 else x * dout * negative
    per_channel = terms.reshape(len(terms), -1).sum(axis=1) if x.ndim >= 2 else terms.sum()
    dweight = per_channel.reshape(-1)[: weight.size] if weight.size > 1 else np.sum(terms)
    return dx, np.asarray(dweight, dtype=x.dtype).reshape(weight.shape)


def rrelu(x, lower=1 / 8, upper=1 / 3, training=False, rng=None):
    negative = x < 0
    if not training:
        return np.where(negative, x * ((lower + upper) / 2), x)
    rng = np.random.default_rng() if rng is None else rng
    out = x.copy()
    out[negative] = x[negative] * rng.uniform(lower, upper, int(negative.sum()))
    return out


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.clip(x, None, 0)))


def elu_grad(x, alpha=1.0):
    return np.where(x > 0, 1, elu(x, alpha) + alpha).astype(x.dtype)


ALTERNATIVES = {
    "sigmoid": sigmoid,
    "sigmoid_grad": sigmoid_grad,
    "tanh_grad": tanh_grad,
    "relu": relu,
    "relu_grad": relu_grad,
    "leaky_relu": leaky_relu,
    "prelu": prelu,
    "prelu_backward": prelu_backward,
    "rrelu": rrelu,
    "elu": elu,
    "elu_grad": elu_grad,
}

#: The exercises that have a check, in course order.
EXERCISES = tuple(ALTERNATIVES)
