"""Checks for notebook 06's helpers: ``conv_output_size``, ``count_parameters`` and
``layer_output_shapes`` (``LeNet5`` itself: :mod:`course_lib.checks.lenet_model`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from course_lib.checks import answers
from course_lib.checks.core import Checker, Observer, show
from course_lib.checks.mistakes.lenet import (
    CONV_OUTPUT_SIZE_MISTAKES,
    COUNT_PARAMETERS_MISTAKES,
    LAYER_OUTPUT_SHAPES_MISTAKES,
)

reference = answers.reference("lenet")  # the right answers (see checks/answers.py)

# ------------------------------------------------------------------ conv_output_size

_SIZE_HINT = "out = (size + 2*padding - kernel_size) // stride + 1, an int"


def _expect_error(checker: Checker, description: str, args: tuple, kwargs: dict,
                  allowed: tuple[str, ...], hint: str) -> None:
    """The student's function must raise one of ``allowed`` (exception class names)."""
    run = checker.run_student(args, kwargs)
    if run.error is None:
        got = run.outputs[0] if run.outputs else None
        checker.fail(description, f"expected {' or '.join(allowed)}, but your function "
                     f"returned {got!r}", args=args, kwargs=kwargs, hint=hint)
    if run.error.split(":")[0] not in allowed:
        checker.fail(description, f"expected {' or '.join(allowed)}, got {run.error}",
                     args=args, kwargs=kwargs, hint=hint)
    checker.passed()


def check_conv_output_size(conv_output_size: Callable, *, seed: int = 0,
                           thorough: bool = False) -> None:
    """Check ``conv_output_size(size, kernel_size, stride=1, padding=0)``."""
    checker = Checker("conv_output_size", conv_output_size, reference.conv_output_size,
                      kind="int", mistakes=CONV_OUTPUT_SIZE_MISTAKES)
    cases = [
        ("C1 of LeNet-5: 28x28 input, 5x5 kernel, padding 2", (28, 5, 1, 2), {}),
        ("the defaults: stride 1, no padding (28, 5)", (28, 5), {}),
        ("S2: 2x2 pooling with stride 2", (28, 2, 2), {}),
        ("C3: 14x14 input, 5x5 kernel", (14, 5), {}),
        ("S4: 2x2 pooling with stride 2 on 10x10", (10, 2, 2), {}),
        ("a stride that does not divide evenly (28, 3, stride 2)", (28, 3, 2), {}),
        ("keyword arguments, the paper's 32x32 input", (), dict(size=32, kernel_size=5,
                                                                  stride=1, padding=0)),
        ("a kernel exactly as large as the input", (5, 5), {}),
        ("'same' padding: 3x3 kernel, padding 1", (32, 3, 1, 1), {}),
        ("AlexNet's first layer: 227, 11x11, stride 4", (227, 11, 4), {}),
    ]
    for description, args, kwargs in cases:
        checker.case(description, *args, hint=_SIZE_HINT, **kwargs)
    _expect_error(checker, "a 5x5 kernel on a 3x3 input does not fit (3, 5)", (3, 5), {},
                  ("ValueError",), "raise ValueError when kernel_size > size + 2*padding "
                  "(the output would have no positions)")
    _expect_error(checker, "negative padding (28, 5, 1, -1)", (28, 5, 1, -1), {},
                  ("ValueError",), "raise ValueError for padding < 0")
    _expect_error(checker, "a float size (28.0, 5)", (28.0, 5), {},
                  ("TypeError", "ValueError"), "sizes are whole numbers: raise TypeError "
                  "for a non-int argument")
    rng = np.random.default_rng(seed)
    for _ in range(200 if thorough else 20):
        kernel, stride, padding = (int(rng.integers(1, 8)), int(rng.integers(1, 5)),
                                   int(rng.integers(0, 4)))
        size = int(rng.integers(max(1, kernel - 2 * padding), 64))
        checker.case(f"random sizes ({size}, {kernel}, {stride}, {padding})",
                     size, kernel, stride, padding, hint=_SIZE_HINT)
    checker.done()


# ------------------------------------------------------------------ count_parameters

_COUNT_HINT = "p.numel() is the number of elements of a tensor; return a Python int"


def _frozen_first_layer() -> nn.Module:
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
    model[0].requires_grad_(False)  # a frozen "pretrained" layer
    return model


def _tied_weights() -> nn.Module:
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8))
    model[2].weight = model[0].weight  # one tensor used by two layers
    return model


def _random_mlp(rng: np.random.Generator) -> nn.Module:
    widths = [int(w) for w in rng.integers(1, 40, size=int(rng.integers(2, 6)))]
    layers: list[nn.Module] = []
    for fan_in, fan_out in pairwise(widths):
        layers.append(nn.Linear(fan_in, fan_out, bias=bool(rng.integers(0, 2))))
        if rng.integers(0, 2):
            layers.append(nn.BatchNorm1d(fan_out))
    model = nn.Sequential(*layers)
    for parameter in model.parameters():
        parameter.requires_grad_(bool(rng.random() < 0.8))
    return model


def _as_sequential(model: nn.Module) -> nn.Sequential:
    """The same layers in a plain nn.Sequential: a model the grader's sandbox can rebuild
    without the class that made it (the reference is not there)."""
    from collections import OrderedDict

    return nn.Sequential(OrderedDict(model.named_children()))


def check_count_parameters(count_parameters: Callable, *, seed: int = 0,
                           thorough: bool = False) -> None:
    """Check ``count_parameters(model)``: trainable parameter elements, an int."""
    checker = Checker("count_parameters", count_parameters, reference.count_parameters,
                      kind="int", mistakes=COUNT_PARAMETERS_MISTAKES, forbidden=("course_lib",))
    torch.manual_seed(seed)
    cases = [
        ("nn.Linear(3, 4): 3*4 weights + 4 biases", nn.Linear(3, 4)),
        ("an empty nn.Sequential()", nn.Sequential()),
        ("a small CNN (conv, pooling, linear layers)", _small_cnn()),
        ("conv + batch norm: running statistics are buffers, not parameters",
         nn.Sequential(nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6))),
        ("a frozen first layer (requires_grad=False)", _frozen_first_layer()),
        ("two layers sharing one weight tensor", _tied_weights()),
        ("a small CNN with batch norm", _small_cnn(norm=True)),
    ]
    if thorough:  # the reference net only on the grader's side, where the reference is
        cases += [("the classic LeNet-5 (61,706)", _as_sequential(reference.LeNet5())),
                  ("LeNet-5 with batch norm", _as_sequential(reference.LeNet5(norm="batch")))]
    for description, model in cases:
        checker.case(description, model, hint=_COUNT_HINT)
    rng = np.random.default_rng(seed)
    for i in range(30 if thorough else 5):
        checker.case(f"random MLP {i + 1} with some frozen tensors", _random_mlp(rng),
                     hint=_COUNT_HINT)
    checker.done()


# --------------------------------------------------------------- layer_output_shapes


def _small_cnn(norm: bool = False) -> nn.Sequential:
    """A small CNN for (1, 28, 28) inputs as one nn.Sequential with named layers. Not
    LeNet-5 on purpose: the student edition ships this code, and LeNet5 is an exercise."""
    from collections import OrderedDict

    layers = [("c1", nn.Conv2d(1, 4, 3, padding=1))]
    layers += [("n1", nn.BatchNorm2d(4))] if norm else []
    layers += [("a1", nn.ReLU()), ("s2", nn.MaxPool2d(2)), ("c3", nn.Conv2d(4, 8, 3)),
               ("a3", nn.Tanh()), ("s4", nn.AvgPool2d(2)), ("flat", nn.Flatten()),
               ("fc", nn.Linear(8 * 6 * 6, 32)), ("a5", nn.ReLU()), ("out", nn.Linear(32, 10))]
    return nn.Sequential(OrderedDict(layers))


def _nested() -> nn.Sequential:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(8, 4, 3, stride=2), nn.ELU()),
        nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 5)),  # 28 -> 14 -> 6
    )


def _shared_layer() -> nn.Sequential:
    square = nn.Linear(6, 6)
    return nn.Sequential(square, nn.Tanh(), square, nn.Linear(6, 2))  # square runs twice


def _hooks_left(model: nn.Module) -> list[str]:
    return [name or "the model" for name, m in model.named_modules()
            if m._forward_hooks or m._forward_pre_hooks]


def _normalised(result: object) -> list | None:
    """``[(str, tuple of ints)]`` from a list of pairs, or None if it is not one."""
    if not isinstance(result, (list, tuple)):
        return None
    pairs = []
    for item in result:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            return None
        name, shape = item
        if not isinstance(name, str) or not isinstance(shape, (tuple, list)):
            return None
        pairs.append((name, tuple(int(d) for d in shape)))
    return pairs


class ModelAfterCall(Observer):
    """What a call did to its model argument: hooks left on it, mode, changed state."""

    def before(self, args: tuple, kwargs: dict) -> tuple[bool, dict]:
        model = args[0]
        return model.training, {k: v.clone() for k, v in model.state_dict().items()}

    def after(self, args: tuple, kwargs: dict, before: tuple[bool, dict]) -> dict:
        model, (training, state) = args[0], before
        return {"hooks_left": _hooks_left(model), "mode_changed": model.training != training,
                "changed": [k for k, v in model.state_dict().items()
                            if k not in state or not torch.equal(v, state[k])]}


def _shape_case(checker: Checker, description: str, model: nn.Module,
                input_shape: tuple[int, ...]) -> None:
    expected = reference.layer_output_shapes(model, input_shape)
    run = checker.run_student((model, input_shape), observer=ModelAfterCall())
    args = (model, input_shape)
    checker.fail_unless_written(description, run.error, args=args)
    if run.error is not None or run.delegated_to is not None:
        problem = (f"your function raised {run.error}" if run.error
                   else f"your function called {run.delegated_to}; use register_forward_hook")
        checker.fail(description, problem, args=args)
    got = _normalised(run.outputs[0])
    if got is None:
        checker.fail(description, f"expected a list of (name, shape) pairs, got "
                     f"{show(run.outputs[0])}", args=args,
                     hint="append (name, tuple(output.shape[1:])) in each hook")
    if got != expected:
        for mistake in LAYER_OUTPUT_SHAPES_MISTAKES:
            try:
                wrong = _normalised(mistake.fn(model, input_shape))
            except Exception:  # e.g. not stored in the student edition: not this mistake
                continue
            if got == wrong:
                checker.fail(description, f"your list matches a known mistake: "
                             f"{mistake.description}", args=args, hint=mistake.hint)
        checker.fail(description, f"expected {expected}, got {got}", args=args,
                     hint="one entry per call of a leaf module, in the order they ran, the "
                     "name as in model.named_modules(), the output shape without the batch axis")
    _require_model_untouched(checker, description, args, run.observed)
    checker.passed()


def _require_model_untouched(checker: Checker, description: str, args: tuple,
                             observed: dict) -> None:
    if observed["hooks_left"]:
        checker.fail(description, f"hooks are still registered on {observed['hooks_left'][:3]} "
                     "after your function returned", args=args,
                     hint="keep the handles from register_forward_hook and call "
                     "handle.remove() in a finally: block")
    if observed["mode_changed"]:
        checker.fail(description, "the model's train/eval mode changed", args=args,
                     hint="remember model.training and restore it with model.train(...)")
    if observed["changed"]:
        checker.fail(description, f"the model's state changed ({observed['changed'][:3]})",
                     args=args, hint="run the forward pass in eval mode so batch norm keeps "
                     "its running statistics")


def check_layer_output_shapes(layer_output_shapes: Callable, *, seed: int = 0,
                              thorough: bool = False) -> None:
    """Check ``layer_output_shapes(model, input_shape)``: leaf layers' shapes via hooks."""
    checker = Checker("layer_output_shapes", layer_output_shapes,
                      reference.layer_output_shapes, forbidden=("course_lib",))
    torch.manual_seed(seed)
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        _shape_case(checker, "a small CNN as a named nn.Sequential on (1, 28, 28)",
                    _small_cnn(), (1, 28, 28))
        _shape_case(checker, "nested nn.Sequential blocks on (3, 28, 28)", _nested(),
                    (3, 28, 28))
        _shape_case(checker, "a layer that runs twice", _shared_layer(), (6,))
        model = _small_cnn(norm=True).train()
        _shape_case(checker, "a CNN with batch norm, in training mode", model, (1, 28, 28))
        _shape_case(checker, "a CNN with batch norm, in eval mode", model.eval(), (1, 28, 28))
        run = checker.run_student((_small_cnn(), (1, 21, 21)), observer=ModelAfterCall())
        if run.error is None:
            checker.fail("an input the model cannot take, (1, 21, 21)", "expected the "
                         "forward pass's error to come through, but your function returned")
        left = run.observed["hooks_left"]
        if left:
            checker.fail("an input the model cannot take, (1, 21, 21)", f"after the error, "
                         f"hooks are still registered on {left[:3]}",
                         hint="remove the hooks in a finally: block, so they go even when "
                         "the forward pass fails")
        checker.passed()
        if thorough:
            rng = np.random.default_rng(seed)
            for i in range(5):
                side = int(rng.integers(12, 40))
                _shape_case(checker, f"random nested net {i + 1} on (3, {side}, {side})",
                            _random_conv_net(rng, side), (3, side, side))
    checker.done()


def _random_conv_net(rng: np.random.Generator, side: int) -> nn.Sequential:
    blocks, channels = [], 3
    for _ in range(int(rng.integers(1, 3))):
        out = int(rng.integers(2, 9))
        kernel = 2 * int(rng.integers(0, 3)) + 1  # odd: padding kernel // 2 keeps the size
        blocks.append(nn.Sequential(nn.Conv2d(channels, out, kernel, padding=kernel // 2),
                                    nn.GroupNorm(1, out), nn.ReLU(), nn.MaxPool2d(2)))
        channels, side = out, side // 2
    blocks.append(nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, 3)))
    return nn.Sequential(*blocks)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run on one thread: the check's tensors are tiny, and a grader runs many kernels
    side by side, where competing thread pools make small ops many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


__all__ = ["check_conv_output_size", "check_count_parameters", "check_layer_output_shapes"]
