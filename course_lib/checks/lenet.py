"""Checks for notebook 06 (LeNet-5): ``conv_output_size``, ``count_parameters``, ``LeNet5``.

``check_lenet5`` judges a model class by what it computes, not by how its code is
laid out: it copies the reference's weights into the student's layers (matched by
their number of weights) and compares the outputs, for every activation, norm and
pooling the contract names. A wrong output is compared against the classic mistakes
(max pooling, ReLU, no padding, an activation or softmax on the output, pooling
before the activation) so the message can name the mistake.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from course_lib.checks import answers
from course_lib.checks.core import Checker, _call_guarded, _last_frame_line, show
from course_lib.checks.mistakes.lenet import (
    CONV_OUTPUT_SIZE_MISTAKES,
    COUNT_PARAMETERS_MISTAKES,
    LAYER_OUTPUT_SHAPES_MISTAKES,
)
from course_lib.lab import lenet_training

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
        cases += [("the classic LeNet-5 (61,706)", reference.LeNet5()),
                  ("LeNet-5 with batch norm", reference.LeNet5(norm="batch"))]
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


def _shape_case(checker: Checker, description: str, model: nn.Module,
                input_shape: tuple[int, ...]) -> None:
    expected = reference.layer_output_shapes(model, input_shape)
    training = model.training
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    run = checker.run_student((model, input_shape))
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
    left = _hooks_left(model)
    if left:
        checker.fail(description, f"hooks are still registered on {left[:3]} after your "
                     "function returned", args=args,
                     hint="keep the handles from register_forward_hook and call "
                     "handle.remove() in a finally: block")
    if model.training != training:
        checker.fail(description, "the model's train/eval mode changed", args=args,
                     hint="remember model.training and restore it with model.train(...)")
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, buffers[k])]
    if changed:
        checker.fail(description, f"the model's state changed ({changed[:3]})", args=args,
                     hint="run the forward pass in eval mode so batch norm keeps its "
                     "running statistics")
    checker.passed()


def check_layer_output_shapes(layer_output_shapes: Callable, *, seed: int = 0,
                              thorough: bool = False) -> None:
    """Check ``layer_output_shapes(model, input_shape)``: leaf layers' shapes via hooks."""
    checker = Checker("layer_output_shapes", layer_output_shapes,
                      reference.layer_output_shapes, forbidden=("course_lib",))
    torch.manual_seed(seed)
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")
        _shape_case(checker, "a small CNN as a named nn.Sequential on (1, 28, 28)",
                    _small_cnn(), (1, 28, 28))
        _shape_case(checker, "nested nn.Sequential blocks on (3, 28, 28)", _nested(),
                    (3, 28, 28))
        _shape_case(checker, "a layer that runs twice", _shared_layer(), (6,))
        model = _small_cnn(norm=True).train()
        _shape_case(checker, "a CNN with batch norm, in training mode", model, (1, 28, 28))
        _shape_case(checker, "a CNN with batch norm, in eval mode", model.eval(), (1, 28, 28))
        wrong_input = _small_cnn()
        run = checker.run_student((wrong_input, (1, 21, 21)))
        if run.error is None:
            checker.fail("an input the model cannot take, (1, 21, 21)", "expected the "
                         "forward pass's error to come through, but your function returned")
        left = _hooks_left(wrong_input)
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


# ------------------------------------------------------------------------ LeNet5

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


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run on one thread: the check's tensors are tiny, and a grader runs many kernels
    side by side, where competing thread pools make small ops many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm,
               nn.modules.instancenorm._InstanceNorm)


class _Failure(Exception):
    """Internal: carries a failure message out of a helper."""


def _construct(checker: Checker, cls: Callable, kwargs: dict) -> nn.Module:
    """``cls(**kwargs)``, guarded against calling the reference."""
    call = f"LeNet5({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    try:
        model, delegated = _call_guarded(cls, (), kwargs, ("course_lib",))
    except Exception as exc:
        checker.fail_unless_written(f"building {call}", _last_frame_line(exc), what="class")
        checker.fail(f"building {call}", f"it raised {_last_frame_line(exc)}",
                     hint="LeNet5 takes keyword arguments activation=..., norm=..., "
                     "pooling=... (see the docstring)")
    if delegated:
        checker.fail(f"building {call}", f"your class called {delegated}; build the layers "
                     "yourself from torch.nn, not from course_lib")
    if not isinstance(model, nn.Module):
        checker.fail(f"building {call}", f"expected a torch.nn.Module, got "
                     f"{type(model).__name__}", hint="write class LeNet5(nn.Module) and call "
                     "super().__init__() first")
    return model


def _forward(checker: Checker, model: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    try:
        out, delegated = _call_guarded(model, (x,), {}, ("course_lib",))
    except Exception as exc:
        checker.fail(what, f"the forward pass raised {_last_frame_line(exc)}",
                     hint="print the shape after each layer to find where it breaks")
    if delegated:
        checker.fail(what, f"your forward called {delegated}; compute it with torch.nn layers")
    if not isinstance(out, torch.Tensor):
        checker.fail(what, f"expected a torch.Tensor, got {type(out).__name__}")
    return out


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


#: Numbers of weights of LeNet-5's hidden layers (C1, C3, C5, F6), whose bias a net with
#: normalization may leave out (the norm's shift takes its place).
_HIDDEN_NUMELS = (150, 2400, 48_000, 10_080)


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


def _compare(checker: Checker, got: torch.Tensor, want: torch.Tensor, what: str,
             mistakes: Callable[[], list[tuple]], hint: str) -> None:
    """Pass if ``got`` matches ``want``; else fail, naming a matching mistake if one does.

    ``mistakes`` is called only on a mismatch: most variants pass, and building the wrong
    nets for every one of them would double the check's time.
    """
    if got.shape != want.shape:
        checker.fail(what, f"expected output shape {tuple(want.shape)}, got {tuple(got.shape)}",
                     hint=hint)
    got64, want64 = got.detach().double().numpy(), want.detach().double().numpy()
    if np.allclose(got64, want64, rtol=1e-4, atol=1e-5):
        checker.passed(float(np.max(np.abs(got64 - want64))))
        return
    with torch.no_grad():
        wrong = mistakes()
    for output, description, mistake_hint in wrong:
        if np.allclose(got64, output.detach().double().numpy(), rtol=1e-4, atol=1e-5):
            checker.fail(what, f"with the reference's weights your output differs; it "
                         f"matches {description}", hint=mistake_hint)
    worst = float(np.max(np.abs(got64 - want64)))
    checker.fail(what, f"with the reference's weights copied into your layers the logits "
                 f"differ by up to {worst:.3g} (first row expected "
                 f"{np.round(want64[0], 4)}, got {np.round(got64[0], 4)})", hint=hint)


def _variant_hint(kwargs: dict) -> str:
    return ("each hidden layer is conv/linear -> norm -> activation (-> pool); norm='batch' "
            "is nn.BatchNorm2d/1d, 'group' nn.GroupNorm(2, C), 'layer' nn.GroupNorm(1, C); "
            "activations with PyTorch's defaults; the output layer stays linear")


def _check_against_reference(checker: Checker, cls: Callable, kwargs: dict, seed: int) -> None:
    """Same weights as the reference -> same logits, in training and in eval mode."""
    what = f"LeNet5({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) with the " \
           "reference's weights"
    model = _construct(checker, cls, kwargs)
    options = tuple(sorted(kwargs.items()))
    biasless = tuple(sorted(w.numel() for _, w, b in _weighted_layers(model) if b is None))
    if answers.is_recording():  # the student edition also answers nets without hidden biases
        reference_run(options, seed, _HIDDEN_NUMELS)
    run = reference_run(options, seed, biasless)
    try:
        _copy_weights(run["weights"], model)
    except _Failure as failure:
        checker.fail(what, str(failure), hint="define C1, C3, C5, F6 and the output as "
                     "nn.Conv2d / nn.Linear layers stored as attributes (or in nn.Sequential)")
    x = torch.from_numpy(run["x"])
    hint = _variant_hint(kwargs)
    for mode in ("train", "eval"):
        model.train(mode == "train")
        with torch.no_grad():
            got = _forward(checker, model, x, f"{what}, {mode} mode")
        mistakes = [(torch.from_numpy(out), what_, hint_)
                    for out, what_, hint_ in run[f"{mode}_mistakes"]]
        _compare(checker, got, torch.from_numpy(run[mode]), f"{what}, {mode} mode",
                 lambda mistakes=mistakes: mistakes, hint)


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


def _check_default(checker: Checker, cls: Callable, seed: int) -> nn.Module:
    """The classic net: parameter count, shapes, dtype, layer shapes."""
    torch.manual_seed(seed)
    model = _construct(checker, cls, {})
    shapes = [tuple(p.shape) for p in model.parameters() if p.requires_grad]
    count = sum(math.prod(shape) for shape in shapes)
    if count != 61_706:
        hint = ("C1 = nn.Conv2d(1, 6, 5, padding=2), C3 = nn.Conv2d(6, 16, 5), C5 = "
                "nn.Linear(16*5*5, 120), F6 = nn.Linear(120, 84), output = nn.Linear(84, 10)")
        if count == _NO_PADDING_COUNT:
            hint = ("without padding C1 turns 28x28 into 24x24 and C5 gets 16*4*4 inputs; "
                    "pad C1 by 2 (padding=2) so C5 gets 16*5*5 = 400")
        elif count == 0 or _layers_in_plain_containers(model):
            hint = ("layers kept in a plain Python list or dict are invisible to PyTorch: "
                    "store them as attributes (self.c1 = ...) or in nn.Sequential / "
                    "nn.ModuleList, not in a plain Python list")
        checker.fail("LeNet5() parameter count", f"expected 61,706 trainable parameters, got "
                     f"{count:,} (your parameter shapes: {shapes})", hint=hint)
    checker.passed()
    for batch in (1, 3, 64):
        x = torch.randn(batch, 1, 28, 28)
        out = _forward(checker, model, x, f"LeNet5() on a batch of {batch}")
        if tuple(out.shape) != (batch, 10):
            checker.fail(f"LeNet5() on input (N, 1, 28, 28) with N = {batch}",
                         f"expected output shape ({batch}, 10), got {tuple(out.shape)}",
                         hint="flatten with x.flatten(1) (keeps the batch axis) before C5")
        if out.dtype != torch.float32:
            checker.fail(f"LeNet5() on a float32 batch of {batch}",
                         f"expected float32 logits, got {out.dtype}")
        if not torch.isfinite(out).all():
            checker.fail(f"LeNet5() on a batch of {batch}", "the output has NaN or inf")
        checker.passed()
    seen = _shapes_seen(model, torch.randn(2, 1, 28, 28))
    if seen is not None:
        for shape, stage in _STAGES.items():
            if shape not in seen:
                checker.fail(
                    "LeNet5() layer shapes (seen by forward hooks on your layers)",
                    f"no layer produced or received (N, {', '.join(map(str, shape))}), "
                    f"{stage}; shapes seen: {sorted(seen, key=len)}",
                    hint="C1 keeps 28x28 with padding=2; each 2x2 pooling with stride 2 "
                    "halves the size")
        checker.passed()
    return model


def _check_gradients(checker: Checker, cls: Callable, kwargs: dict, seed: int) -> None:
    model = _construct(checker, cls, kwargs)
    model.train()
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (16,), generator=generator)
    what = f"gradients of LeNet5({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    loss = nn.functional.cross_entropy(_forward(checker, model, x, what), y)
    loss.backward()
    for name, param in model.named_parameters():
        if param.grad is None:
            checker.fail(what, f"parameter {name} got no gradient",
                         hint="every layer must be used in forward, without .detach() or "
                         "torch.no_grad()")
        if not torch.isfinite(param.grad).all():
            checker.fail(what, f"the gradient of {name} has NaN or inf")
        if param.dim() >= 2 and not param.grad.abs().sum() > 0:
            checker.fail(what, f"the gradient of {name} is all zeros")
    checker.passed()


def _check_determinism(checker: Checker, cls: Callable, seed: int) -> None:
    what = "two LeNet5() built after torch.manual_seed(seed)"
    torch.manual_seed(seed)
    first = _construct(checker, cls, {})
    torch.manual_seed(seed)
    second = _construct(checker, cls, {})
    for (name, a), b in zip(first.named_parameters(), second.parameters()):
        if not torch.equal(a, b):
            checker.fail(what, f"parameter {name} differs between them",
                         hint="draw random numbers only from torch's seeded generator")
    x = torch.randn(4, 1, 28, 28)
    first.eval()
    with torch.no_grad():
        if not torch.equal(_forward(checker, first, x, what), _forward(checker, first, x, what)):
            checker.fail(what, "two forward passes in eval mode on the same input differ",
                         hint="no randomness (e.g. dropout) in eval mode")
    checker.passed()


def _check_training(checker: Checker, cls: Callable, seed: int) -> None:
    """A short real training run on a small MNIST subset must beat a stated accuracy."""
    torch.manual_seed(seed)
    model = _construct(checker, cls, {})
    accuracy = lenet_training.quick_train_accuracy(model, seed=seed)
    threshold = QUICK_TRAIN_THRESHOLD
    if not accuracy >= threshold:
        checker.fail(
            f"training LeNet5() on {lenet_training.QUICK_TRAIN_SIZE} MNIST digits for "
            f"{lenet_training.QUICK_TRAIN_EPOCHS} epochs (Adam)",
            f"test accuracy on {lenet_training.QUICK_TEST_SIZE} held-out digits {accuracy:.1%}, "
            f"expected at least {threshold:.0%}",
            hint="the net must train: parameters registered, logits out, no detach")
    checker.passed()


#: Accuracy the short training run in :func:`check_lenet5` must reach on held-out digits;
#: the reference gets 93-95 % depending on the seed (tests/test_lenet.py), a linear model 89 %.
QUICK_TRAIN_THRESHOLD = 0.90


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
    checker = Checker("LeNet5", LeNet5, _no_reference, forbidden=("course_lib",))
    if not isinstance(LeNet5, type):
        checker.fail("LeNet5 is a class", f"expected the class itself, got "
                     f"{type(LeNet5).__name__}", hint="pass the class: check_lenet5(LeNet5)")
    # warnings.catch_warnings: e.g. nn.Softmax() without dim must not reach stderr
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")
        _check_default(checker, LeNet5, seed)
        _check_against_reference(checker, LeNet5, {}, seed)
        variants = [dict(activation=name) for name in _ACTIVATION_NAMES if name != "tanh"]
        variants += [dict(pooling="max"), dict(norm="none")]
        variants += [dict(norm=kind) for kind in ("batch", "group", "layer")]
        variants += [dict(activation="relu", norm="batch", pooling="max")]
        if thorough:
            variants = [dict(activation=a, norm=n, pooling=p) for a in _ACTIVATION_NAMES
                        for n in reference.LENET_NORMS for p in reference.LENET_POOLINGS]
        for kwargs in variants:
            _check_against_reference(checker, LeNet5, kwargs, seed)
        _check_gradients(checker, LeNet5, {}, seed)
        _check_gradients(checker, LeNet5, dict(activation="relu", norm="batch"), seed)
        _check_determinism(checker, LeNet5, seed)
        if thorough:
            _check_training(checker, LeNet5, seed)
    checker.done()


__all__ = [
    "check_conv_output_size", "check_count_parameters", "check_layer_output_shapes",
    "check_lenet5",
]
