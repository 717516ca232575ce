"""The check of notebook 06's ``class LeNet5(nn.Module)``.

``check_lenet5`` judges a model class by what it computes, not by how its code is laid
out: it copies the reference's weights into the student's layers (matched by their
number of weights) and compares the outputs, for every activation, norm and pooling the
contract names. A wrong output is compared against the classic mistakes (max pooling,
ReLU, no padding, an activation or softmax on the output, pooling before the
activation) so the message can name the mistake.

Everything done to the student's class happens in a *probe* (``_probe_*``): a function
of the class that builds the net, runs it and returns plain data (shapes, logits,
flags, error lines). The judging code only reads that data. In a notebook the probes
run right here; under ``course grade`` they run in a sandbox with the hand-in, and the
judging runs in the grader (:mod:`course_lib.grading.replay`).
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.checks import answers
from course_lib.checks.core import Checker, _call_guarded, _last_frame_line
from course_lib.checks.lenet import one_thread
from course_lib.lab import lenet_training

reference = answers.reference("lenet")  # the right answers (see checks/answers.py)

#: Input shape after each stage of the classic net, without the batch axis.
_STAGES = {
    (6, 28, 28): "C1's output (28x28 stays 28x28 with padding 2)",
    (6, 14, 14): "S2's output",
    (16, 10, 10): "C3's output",
    (16, 5, 5): "S4's output",
    (120,): "C5's output",
    (84,): "F6's output",
}
_ACTIVATION_NAMES = reference.LENET_ACTIVATIONS
_NO_PADDING_COUNT = 61_706 - (400 - 16 * 4 * 4) * 120
#: Numbers of weights of LeNet-5's hidden layers (C1, C3, C5, F6), whose bias a net with
#: normalization may leave out (the norm's shift takes its place).
_HIDDEN_NUMELS = (150, 2400, 48_000, 10_080)
#: Accuracy the short training run in :func:`check_lenet5` must reach on held-out digits;
#: the reference gets 93-95 % depending on the seed (tests/test_lenet.py), a linear model 89 %.
QUICK_TRAIN_THRESHOLD = 0.90

_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm,
               nn.modules.instancenorm._InstanceNorm)


class _Failure(Exception):
    """Internal: carries a failure message out of a helper."""


# ------------------------------------------------------------------ layers and weights


def _weighted_layers(model: nn.Module) -> list[tuple[str, torch.Tensor, torch.Tensor | None]]:
    """``(name, weight, bias)`` of every conv/linear layer, found by weights of >= 2 dims.

    Norm layers are skipped: ``nn.LayerNorm((6, 28, 28))`` has a 3-D weight too.
    """
    layers = []
    for name, module in model.named_modules():
        if isinstance(module, _NORM_TYPES):
            continue
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.dim() >= 2:
            bias = getattr(module, "bias", None)
            layers.append((name, weight, bias if isinstance(bias, torch.Tensor) else None))
    if layers:
        return layers
    params = dict(model.named_parameters())  # functional style: raw nn.Parameter attributes
    for name, weight in params.items():
        if weight.dim() >= 2:
            bias = params.get(name.replace("weight", "bias")) if "weight" in name else None
            layers.append((name, weight, bias))
    return layers


def _biasless(model: nn.Module) -> tuple[int, ...]:
    """Numbers of weights of the layers that have no bias, sorted."""
    return tuple(sorted(w.numel() for _, w, b in _weighted_layers(model) if b is None))


@torch.no_grad()
def _weights_of(model: nn.Module) -> list[tuple[int, np.ndarray, np.ndarray | None]]:
    """``(number of weights, weight, bias)`` of each conv/linear layer, as arrays."""
    return [(weight.numel(), weight.detach().numpy().copy(),
             None if bias is None else bias.detach().numpy().copy())
            for _, weight, bias in _weighted_layers(model)]


@torch.no_grad()
def _copy_weights(weights: list[tuple], target: nn.Module) -> None:
    """Copy ``weights`` (from :func:`_weights_of`) into ``target``'s layers with as many.

    Raises:
        _Failure: the layers do not hold the same numbers of weights and biases.
    """
    source = {numel: (weight, bias) for numel, weight, bias in weights}
    layers = _weighted_layers(target)
    expected, found = sorted(source), sorted(w.numel() for _, w, _ in layers)
    if found != expected:
        raise _Failure(
            f"expected 5 layers with weights (C1, C3, C5, F6, output) holding {expected} "
            f"weights; your model's layers hold {found}"
        )
    for _, weight, bias in layers:
        src_weight, src_bias = source[weight.numel()]
        weight.copy_(torch.from_numpy(src_weight).reshape(weight.shape))
        if bias is not None and bias.numel() != src_bias.size:
            raise _Failure(f"a layer with {weight.numel()} weights has {bias.numel()} biases, "
                           f"expected {src_bias.size}")
        if bias is not None:
            bias.copy_(torch.from_numpy(src_bias).reshape(bias.shape))


# ------------------------------------------------------------------ the reference's runs


@answers.stored
def reference_run(options: tuple, seed: int, biasless: tuple[int, ...]) -> dict:
    """What the reference ``LeNet5(**dict(options))`` computes on the check's input.

    The student's net gets these weights (layers matched by their number of weights;
    the layers the student's net has without bias, given by ``biasless``, get no bias
    here either) and must give these logits, in training and then in eval mode. The
    classic mistakes' logits come along, to name the one a wrong net matches.

    Returns:
        ``{"weights": [(numel, weight, bias)], "x": (8, 1, 28, 28), "train": (8, 10),
        "eval": (8, 10), "train_mistakes" / "eval_mistakes": [(logits, what, hint)]}``.
    """
    kwargs = dict(options)
    torch.manual_seed(seed)
    ref = reference.LeNet5(**kwargs)
    with torch.no_grad():
        for _, weight, bias in _weighted_layers(ref):
            if weight.numel() in biasless:
                bias.zero_()
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    run = {"weights": _weights_of(ref), "x": x.numpy()}
    for mode in ("train", "eval"):  # eval uses batch norm's running statistics
        ref.train(mode == "train")
        with torch.no_grad():
            run[mode] = ref(x).numpy()
            # on a copy: a forward in training mode updates batch norm's running statistics
            run[f"{mode}_mistakes"] = [(out.numpy(), what, hint) for out, what, hint
                                       in _mistaken_outputs(copy.deepcopy(ref), kwargs, x)]
    return run


def _mistaken_outputs(ref: nn.Module, kwargs: dict, x: torch.Tensor) -> list[tuple]:
    """``(output, description, hint)`` of the classic mistakes, with ``ref``'s weights."""
    default = not kwargs
    out = ref(x)
    wrong = [
        (torch.softmax(out, dim=1), "a softmax on the output",
         "return the logits: nn.CrossEntropyLoss applies log-softmax itself"),
        (torch.log_softmax(out, dim=1), "a log-softmax on the output",
         "return the logits: nn.CrossEntropyLoss applies log-softmax itself"),
        (torch.tanh(out), "an activation after the output layer",
         "the last nn.Linear(84, 10) gives the logits directly, with no activation"),
        (torch.relu(out), "a ReLU after the output layer",
         "the last nn.Linear(84, 10) gives the logits directly, with no activation"),
    ]
    variants = []
    if default:
        variants += [
            (dict(pooling="max"), "max pooling in the default net",
             "the classic LeNet-5 averages: nn.AvgPool2d(2, stride=2) by default"),
            (dict(activation="relu"), "ReLU in the default net",
             "the classic LeNet-5 uses tanh by default"),
            (dict(activation="sigmoid"), "sigmoid in the default net",
             "the classic LeNet-5 uses tanh by default"),
        ]
    for change, description, hint in variants:
        variant = reference.LeNet5(**{**kwargs, **change})
        _copy_weights(_weights_of(ref), variant)
        wrong.append((variant(x), description, hint))
    pool_first = _pool_before_activation(ref, x)
    wrong.append((pool_first, "pooling before the activation",
                  "apply each hidden layer as conv -> norm -> activation -> pool"))
    return wrong


def _pool_before_activation(ref: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The reference net with each activation moved after its pooling layer."""
    stages = list(ref.features)
    for i, module in enumerate(stages):
        if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
            stages[i - 1], stages[i] = module, stages[i - 1]
    for module in stages:
        x = module(x)
    return ref.classifier(x)


# ------------------------------------------------------------------ probes (student side)


def _call(kwargs: dict) -> str:
    return f"LeNet5({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def _build(cls: Any, kwargs: dict) -> tuple[nn.Module | None, dict]:
    """``cls(**kwargs)``, guarded against calling the reference; the model (None unless an
    nn.Module built without the reference) and a report ``{"error", "delegated",
    "module", "type"}``."""
    try:
        model, delegated = _call_guarded(cls, (), kwargs, ("course_lib",))
    except Exception as exc:
        return None, {"error": _last_frame_line(exc), "delegated": None, "module": False,
                      "type": ""}
    is_module = isinstance(model, nn.Module)
    report = {"error": None, "delegated": delegated, "module": is_module,
              "type": type(model).__name__}
    return (model if is_module and not delegated else None), report


def _run(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor | None, dict]:
    """The forward pass, guarded; the output if it is a tensor, and a report."""
    try:
        out, delegated = _call_guarded(model, (x,), {}, ("course_lib",))
    except Exception as exc:
        return None, {"error": _last_frame_line(exc), "delegated": None, "type": ""}
    report = {"error": None, "delegated": delegated, "type": type(out).__name__}
    return (out if isinstance(out, torch.Tensor) and not delegated else None), report


def _probe_default(cls: Any, seed: int) -> dict:
    """The classic net: parameter shapes, outputs on three batches, shapes seen by hooks."""
    torch.manual_seed(seed)
    model, built = _build(cls, {})
    found: dict[str, Any] = {"built": built}
    if model is None:
        return found
    found["shapes"] = [tuple(p.shape) for p in model.parameters() if p.requires_grad]
    found["plain_containers"] = _layers_in_plain_containers(model)
    found["c1_padding"] = _first_conv_padding(model)
    found["batches"] = []
    for batch in (1, 3, 64):
        out, report = _run(model, torch.randn(batch, 1, 28, 28))
        if out is not None:
            report.update(shape=tuple(out.shape), dtype=str(out.dtype),
                          finite=bool(torch.isfinite(out).all()))
        found["batches"].append(report)
        if out is None:
            return found
    seen = _shapes_seen(model, torch.randn(2, 1, 28, 28))
    found["seen"] = None if seen is None else sorted(seen, key=len)
    return found


def _first_conv_padding(model: nn.Module) -> list | str | None:
    """The padding of the first convolution that reads the image (one input channel)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == 1:
            padding = module.padding
            return padding if isinstance(padding, str) else [int(p) for p in padding]
    return None


def _padding_hint(padding: list | str | None) -> str | None:
    """What C1's padding does to the sizes, if it is not the classic 2 (None otherwise)."""
    if padding == [1, 1]:
        return ("C1 has padding=1: 28x28 becomes 26x26, S2 13x13, C3 9x9 and S4 4x4 (the "
                "floor of 9 / 2), so C5 gets 16*4*4 = 256 inputs, the same as without "
                "padding; pad C1 by 2 (padding=2) to keep 28x28, so that C5 gets 16*5*5 = 400")
    if padding == [0, 0]:
        return ("without padding C1 turns 28x28 into 24x24 and C5 gets 16*4*4 inputs; "
                "pad C1 by 2 (padding=2) so C5 gets 16*5*5 = 400")
    if padding is not None and padding != [2, 2]:
        return (f"C1 has padding={padding}; the classic net pads by 2 (padding=2) so that C1 "
                "keeps 28x28 and C5 gets 16*5*5 = 400 inputs")
    return None


def _probe_structure(cls: Any, kwargs: dict) -> dict:
    """What is built, and which of its conv/linear layers have no bias."""
    model, built = _build(cls, kwargs)
    return {"built": built, "biasless": None if model is None else _biasless(model)}


def _probe_logits(cls: Any, kwargs: dict, weights: list[tuple], x: np.ndarray) -> dict:
    """The net's logits with ``weights`` copied in, in training then in eval mode."""
    model, built = _build(cls, kwargs)
    found: dict[str, Any] = {"built": built}
    if model is None:
        return found
    try:
        _copy_weights(weights, model)
    except _Failure as failure:
        found["copy_failure"] = str(failure)
        return found
    for mode in ("train", "eval"):
        model.train(mode == "train")
        with torch.no_grad():
            out, report = _run(model, torch.from_numpy(x))
        report["logits"] = None if out is None else out.detach().double().numpy()
        found[mode] = report
        if out is None:
            break
    return found


def _probe_gradients(cls: Any, kwargs: dict, seed: int) -> dict:
    """One backward pass of cross-entropy on a random batch: each parameter's gradient."""
    model, built = _build(cls, kwargs)
    found: dict[str, Any] = {"built": built}
    if model is None:
        return found
    model.train()
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (16,), generator=generator)
    out, found["forward"] = _run(model, x)
    if out is None:
        return found
    try:
        nn.functional.cross_entropy(out, y).backward()
    except Exception as exc:
        found["backward_error"] = _last_frame_line(exc)
        return found
    found["parameters"] = [
        {"name": name, "missing": p.grad is None, "dim": p.dim(),
         "finite": p.grad is None or bool(torch.isfinite(p.grad).all()),
         "nonzero": p.grad is None or bool(p.grad.abs().sum() > 0)}
        for name, p in model.named_parameters()]
    return found


def _probe_determinism(cls: Any, seed: int) -> dict:
    """Two nets built after the same seed: their parameters, and two eval forward passes."""
    torch.manual_seed(seed)
    first, built = _build(cls, {})
    torch.manual_seed(seed)
    second, built_again = _build(cls, {})
    found: dict[str, Any] = {"built": built, "built_again": built_again}
    if first is None or second is None:
        return found
    found["differs"] = next((name for (name, a), b in zip(first.named_parameters(),
                                                          second.parameters())
                             if not torch.equal(a, b)), None)
    x = torch.randn(4, 1, 28, 28)
    first.eval()
    with torch.no_grad():
        outs = [_run(first, x) for _ in range(2)]
    found["forward"] = [report for _, report in outs]
    found["same"] = all(out is not None for out, _ in outs) and torch.equal(outs[0][0],
                                                                            outs[1][0])
    return found


def _probe_training(cls: Any, seed: int) -> dict:
    """A short real training run on an MNIST subset: the held-out accuracy."""
    torch.manual_seed(seed)
    model, built = _build(cls, {})
    if model is None:
        return {"built": built}
    try:
        return {"built": built, "accuracy": float(lenet_training.quick_train_accuracy(
            model, seed=seed))}
    except Exception as exc:
        return {"built": built, "error": _last_frame_line(exc)}


def _shapes_seen(model: nn.Module, x: torch.Tensor) -> set[tuple[int, ...]] | None:
    """Shapes (without batch axis) entering or leaving any leaf module; None if no leaves."""
    seen: set[tuple[int, ...]] = set()
    leaves = [m for m in model.modules() if not list(m.children())]
    if not leaves or leaves == [model]:
        return None

    def record(module, inputs, output):
        for t in (*inputs, output):
            if isinstance(t, torch.Tensor):
                seen.add(tuple(t.shape[1:]))

    handles = [m.register_forward_hook(record) for m in leaves]
    try:
        with torch.no_grad():
            model(x)
    except Exception:  # the forward pass was judged already; no shapes, no verdict here
        return seen
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _layers_in_plain_containers(model: nn.Module) -> bool:
    """Does any module keep layers in a plain list, tuple or dict (unregistered)?"""
    for module in model.modules():
        for value in vars(module).values():
            items = value.values() if isinstance(value, dict) else value
            if isinstance(value, (list, tuple, dict)) and any(
                    isinstance(item, nn.Module) for item in items):
                return True
    return False


# ------------------------------------------------------------------ judging (grader side)


def _require_module(checker: Checker, built: dict, call: str) -> None:
    """Fail as building ``call`` did (see :func:`_build`), if it did."""
    if built["error"] is not None:
        checker.fail_unless_written(f"building {call}", built["error"], what="class")
        checker.fail(f"building {call}", f"it raised {built['error']}",
                     hint="LeNet5 takes keyword arguments activation=..., norm=..., "
                     "pooling=... (see the docstring)")
    if built["delegated"]:
        checker.fail(f"building {call}", f"your class called {built['delegated']}; build the "
                     "layers yourself from torch.nn, not from course_lib")
    if not built["module"]:
        checker.fail(f"building {call}", f"expected a torch.nn.Module, got {built['type']}",
                     hint="write class LeNet5(nn.Module) and call super().__init__() first")


def _require_forward(checker: Checker, report: dict, what: str,
                     hint: str | None = None) -> None:
    if report["error"] is not None:
        checker.fail(what, f"the forward pass raised {report['error']}",
                     hint=hint or "print the shape after each layer to find where it breaks")
    if report["delegated"]:
        checker.fail(what, f"your forward called {report['delegated']}; compute it with "
                     "torch.nn layers")
    if report["type"] != "Tensor":
        checker.fail(what, f"expected a torch.Tensor, got {report['type']}")


def _compare(checker: Checker, got: np.ndarray, want: np.ndarray, what: str,
             mistakes: list[tuple], hint: str) -> None:
    """Pass if ``got`` matches ``want``; else fail, naming a matching mistake if one does."""
    if got.shape != want.shape:
        checker.fail(what, f"expected output shape {tuple(want.shape)}, got {tuple(got.shape)}",
                     hint=hint)
    want64 = want.astype(np.float64)
    if np.allclose(got, want64, rtol=1e-4, atol=1e-5):
        checker.passed(float(np.max(np.abs(got - want64))))
        return
    for output, description, mistake_hint in mistakes:
        if np.allclose(got, output.astype(np.float64), rtol=1e-4, atol=1e-5):
            checker.fail(what, f"with the reference's weights your output differs; it "
                         f"matches {description}", hint=mistake_hint)
    worst = float(np.max(np.abs(got - want64)))
    checker.fail(what, f"with the reference's weights copied into your layers the logits "
                 f"differ by up to {worst:.3g} (first row expected "
                 f"{np.round(want64[0], 4)}, got {np.round(got[0], 4)})", hint=hint)


def _variant_hint(kwargs: dict) -> str:
    return ("each hidden layer is conv/linear -> norm -> activation (-> pool); norm='batch' "
            "is nn.BatchNorm2d/1d, 'group' nn.GroupNorm(2, C), 'layer' nn.GroupNorm(1, C); "
            "activations with PyTorch's defaults; the output layer stays linear")


def _check_against_reference(checker: Checker, kwargs: dict, seed: int) -> None:
    """Same weights as the reference -> same logits, in training and in eval mode."""
    what = f"{_call(kwargs)} with the reference's weights"
    structure = checker.probe(_probe_structure, kwargs)
    _require_module(checker, structure["built"], _call(kwargs))
    options = tuple(sorted(kwargs.items()))
    if answers.is_recording():  # the student edition also answers nets without hidden biases
        reference_run(options, seed, _HIDDEN_NUMELS)
    run = reference_run(options, seed, tuple(structure["biasless"]))
    found = checker.probe(_probe_logits, kwargs, run["weights"], run["x"])
    _require_module(checker, found["built"], _call(kwargs))
    if "copy_failure" in found:
        checker.fail(what, found["copy_failure"], hint="define C1, C3, C5, F6 and the output "
                     "as nn.Conv2d / nn.Linear layers stored as attributes (or in "
                     "nn.Sequential)")
    hint = _variant_hint(kwargs)
    for mode in ("train", "eval"):
        report = found[mode]
        _require_forward(checker, report, f"{what}, {mode} mode")
        _compare(checker, report["logits"], run[mode], f"{what}, {mode} mode",
                 run[f"{mode}_mistakes"], hint)


def _check_default(checker: Checker, seed: int) -> None:
    """The classic net: parameter count, shapes, dtype, layer shapes."""
    found = checker.probe(_probe_default, seed)
    _require_module(checker, found["built"], "LeNet5()")
    shapes = found["shapes"]
    count = sum(math.prod(shape) for shape in shapes)
    if count != 61_706:
        hint = ("C1 = nn.Conv2d(1, 6, 5, padding=2), C3 = nn.Conv2d(6, 16, 5), C5 = "
                "nn.Linear(16*5*5, 120), F6 = nn.Linear(120, 84), output = nn.Linear(84, 10)")
        if count == _NO_PADDING_COUNT:  # C5 on 16*4*4 inputs: C1 padded by 0 or 1
            hint = _padding_hint(found.get("c1_padding")) or _padding_hint([0, 0])
        elif count == 0 or found["plain_containers"]:
            hint = ("layers kept in a plain Python list or dict are invisible to PyTorch: "
                    "store them as attributes (self.c1 = ...) or in nn.Sequential / "
                    "nn.ModuleList, not in a plain Python list")
        checker.fail("LeNet5() parameter count", f"expected 61,706 trainable parameters, got "
                     f"{count:,} (your parameter shapes: {shapes})", hint=hint)
    checker.passed()
    for batch, report in zip((1, 3, 64), found["batches"]):
        _require_forward(checker, report, f"LeNet5() on a batch of {batch}",
                         _padding_hint(found.get("c1_padding")))
        if tuple(report["shape"]) != (batch, 10):
            checker.fail(f"LeNet5() on input (N, 1, 28, 28) with N = {batch}",
                         f"expected output shape ({batch}, 10), got {tuple(report['shape'])}",
                         hint="flatten with x.flatten(1) (keeps the batch axis) before C5")
        if report["dtype"] != str(torch.float32):
            checker.fail(f"LeNet5() on a float32 batch of {batch}",
                         f"expected float32 logits, got {report['dtype']}")
        if not report["finite"]:
            checker.fail(f"LeNet5() on a batch of {batch}", "the output has NaN or inf")
        checker.passed()
    _check_stages(checker, found["seen"])


def _check_stages(checker: Checker, seen: list | None) -> None:
    """Every stage's shape of the classic net went through some layer."""
    if seen is None:
        return
    shapes = {tuple(shape) for shape in seen}
    for shape, stage in _STAGES.items():
        if shape not in shapes:
            checker.fail(
                "LeNet5() layer shapes (seen by forward hooks on your layers)",
                f"no layer produced or received (N, {', '.join(map(str, shape))}), "
                f"{stage}; shapes seen: {sorted(shapes, key=len)}",
                hint="C1 keeps 28x28 with padding=2; each 2x2 pooling with stride 2 "
                "halves the size")
    checker.passed()


def _check_gradients(checker: Checker, kwargs: dict, seed: int) -> None:
    what = f"gradients of {_call(kwargs)}"
    found = checker.probe(_probe_gradients, kwargs, seed)
    _require_module(checker, found["built"], _call(kwargs))
    _require_forward(checker, found["forward"], what)
    if "backward_error" in found:
        checker.fail(what, f"the backward pass raised {found['backward_error']}",
                     hint="every layer must be a differentiable torch operation")
    for parameter in found["parameters"]:
        name = parameter["name"]
        if parameter["missing"]:
            checker.fail(what, f"parameter {name} got no gradient",
                         hint="every layer must be used in forward, without .detach() or "
                         "torch.no_grad()")
        if not parameter["finite"]:
            checker.fail(what, f"the gradient of {name} has NaN or inf")
        if parameter["dim"] >= 2 and not parameter["nonzero"]:
            checker.fail(what, f"the gradient of {name} is all zeros")
    checker.passed()


def _check_determinism(checker: Checker, seed: int) -> None:
    what = "two LeNet5() built after torch.manual_seed(seed)"
    found = checker.probe(_probe_determinism, seed)
    _require_module(checker, found["built"], "LeNet5()")
    _require_module(checker, found["built_again"], "LeNet5()")
    if found["differs"] is not None:
        checker.fail(what, f"parameter {found['differs']} differs between them",
                     hint="draw random numbers only from torch's seeded generator")
    for report in found["forward"]:
        _require_forward(checker, report, what)
    if not found["same"]:
        checker.fail(what, "two forward passes in eval mode on the same input differ",
                     hint="no randomness (e.g. dropout) in eval mode")
    checker.passed()


def _check_training(checker: Checker, seed: int) -> None:
    """A short real training run on a small MNIST subset must beat a stated accuracy."""
    found = checker.probe(_probe_training, seed,
                          guess=lambda: {"built": {"error": None, "delegated": None,
                                                   "module": True, "type": "LeNet5"},
                                         "accuracy": 1.0})
    what = (f"training LeNet5() on {lenet_training.QUICK_TRAIN_SIZE} MNIST digits for "
            f"{lenet_training.QUICK_TRAIN_EPOCHS} epochs (Adam)")
    _require_module(checker, found["built"], "LeNet5()")
    if "error" in found:
        checker.fail(what, f"training raised {found['error']}",
                     hint="the net must train: parameters registered, logits out, no detach")
    accuracy = found["accuracy"]
    if not accuracy >= QUICK_TRAIN_THRESHOLD:
        checker.fail(
            what, f"test accuracy on {lenet_training.QUICK_TEST_SIZE} held-out digits "
            f"{accuracy:.1%}, expected at least {QUICK_TRAIN_THRESHOLD:.0%}",
            hint="the net must train: parameters registered, logits out, no detach")
    checker.passed()


def _no_reference(**options: str) -> None:
    """Stands for the reference class in the Checker, which only names inputs after it."""


def check_lenet5(LeNet5: Callable, *, seed: int = 0, thorough: bool = False) -> None:
    """Check ``class LeNet5(nn.Module)``: the classic net and its activation/norm/pooling options.

    Args:
        LeNet5: the student's class (not an instance).
        seed: seeds the inputs and weights used.
        thorough: also the full grid of options and a short training run on real MNIST.
    """
    # No reference function: LeNet5 is judged against stored reference runs (reference_run).
    checker = Checker("LeNet5", LeNet5, _no_reference, forbidden=("course_lib",),
                      stand_in=lambda: reference.LeNet5)
    if not checker.description.is_class:
        checker.fail("LeNet5 is a class", f"expected the class itself, got "
                     f"{checker.description.type_name.rsplit('.', 1)[-1]}",
                     hint="pass the class: check_lenet5(LeNet5)")
    # warnings.catch_warnings: e.g. nn.Softmax() without dim must not reach stderr
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        _check_default(checker, seed)
        _check_against_reference(checker, {}, seed)
        variants = [dict(activation=name) for name in _ACTIVATION_NAMES if name != "tanh"]
        variants += [dict(pooling="max"), dict(norm="none")]
        variants += [dict(norm=kind) for kind in ("batch", "group", "layer")]
        variants += [dict(activation="relu", norm="batch", pooling="max")]
        if thorough:
            variants = [dict(activation=a, norm=n, pooling=p) for a in _ACTIVATION_NAMES
                        for n in reference.LENET_NORMS for p in reference.LENET_POOLINGS]
        for kwargs in variants:
            _check_against_reference(checker, kwargs, seed)
        _check_gradients(checker, {}, seed)
        _check_gradients(checker, dict(activation="relu", norm="batch"), seed)
        _check_determinism(checker, seed)
        if thorough:
            _check_training(checker, seed)
    checker.done()


__all__ = ["check_lenet5"]
