"""Tests for the notebook-06 checks: right answers pass, classic mistakes fail with the
message that names them, nothing reaches stderr, and the reference cannot be smuggled in.

The "students" below are written the way the notebook's solutions are: plain Python and
torch.nn, defined outside course_lib (a check refuses code that calls course_lib).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.checks import (
    CheckFailure,
    check_conv_output_size,
    check_count_parameters,
    check_layer_output_shapes,
    check_lenet5,
)
from course_lib.reference import lenet


@pytest.fixture(autouse=True)
def _one_thread():
    """LeNet-sized work runs faster on one thread, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ conv_output_size


def good_conv_output_size(size, kernel_size, stride=1, padding=0):
    for name, value, low in (("size", size, 1), ("kernel_size", kernel_size, 1),
                             ("stride", stride, 1), ("padding", padding, 0)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}: expected an int, got {value!r}")
        if value < low:
            raise ValueError(f"{name}: expected an int >= {low}, got {value}")
    if kernel_size > size + 2 * padding:
        raise ValueError("kernel_size: does not fit")
    return (size + 2 * padding - kernel_size) // stride + 1


def _unchecked(formula):
    """A student who validates correctly but computes ``formula``."""
    def conv_output_size(size, kernel_size, stride=1, padding=0):
        good_conv_output_size(size, kernel_size, stride, padding)  # raises on bad input
        return formula(size, kernel_size, stride, padding)
    return conv_output_size


def test_conv_output_size_check_passes_a_correct_answer(capsys):
    check_conv_output_size(good_conv_output_size)
    check_conv_output_size(good_conv_output_size, seed=5, thorough=True)
    out, err = capsys.readouterr()
    assert out.count("✔ conv_output_size: all") == 2
    assert err == ""


@pytest.mark.parametrize(("formula", "message"), [
    (lambda n, k, s, p: (n + p - k) // s + 1, "padding added once instead of on both sides"),
    (lambda n, k, s, p: (n + 2 * p - k) // s, r"the \+ 1 is missing"),
    (lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1, "rounding up instead of down"),
    (lambda n, k, s, p: (n + 2 * p - k + 1) // s, r"the \+ 1 is (missing|inside the division)"),
    (lambda n, k, s, p: (n + 2 * p - k) / s + 1, "expected an int, got float"),
])
def test_conv_output_size_check_names_the_mistake(formula, message):
    with pytest.raises(CheckFailure, match=message):
        check_conv_output_size(_unchecked(formula))


def test_conv_output_size_check_requires_errors_for_impossible_sizes():
    def no_validation(size, kernel_size, stride=1, padding=0):
        return (size + 2 * padding - kernel_size) // stride + 1

    with pytest.raises(CheckFailure, match=r"(?s)a 5x5 kernel on a 3x3 input.*expected ValueError, "
                       r"but your function returned -1"):
        check_conv_output_size(no_validation)


def test_conv_output_size_check_refuses_the_reference():
    with pytest.raises(CheckFailure, match="called course_lib.reference.lenet.conv_output_size"):
        check_conv_output_size(lenet.conv_output_size)


# ------------------------------------------------------------------ count_parameters


def good_count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_count_parameters_check_passes_a_correct_answer(capsys):
    check_count_parameters(good_count_parameters)
    check_count_parameters(good_count_parameters, seed=2, thorough=True)
    out, err = capsys.readouterr()
    assert out.count("✔ count_parameters: all") == 2
    assert err == ""


@pytest.mark.parametrize(("student", "message"), [
    (lambda m: len(list(m.parameters())), "counting parameter tensors instead of their elements"),
    (lambda m: sum(p.numel() for p in m.parameters()), "counting frozen parameters"),
    (lambda m: sum(t.numel() for t in m.state_dict().values()), "counting buffers"),
    (lambda m: sum(p.numel() for _, p in m.named_parameters(remove_duplicate=False)
                   if p.requires_grad), "counting a shared weight once per layer"),
    (lambda m: sum((p.numel() for p in m.parameters() if p.requires_grad), torch.tensor(0)),
     "expected an int, got torch.Tensor"),
])
def test_count_parameters_check_names_the_mistake(student, message):
    with pytest.raises(CheckFailure, match=message):
        check_count_parameters(student)


def test_count_parameters_check_refuses_the_reference():
    with pytest.raises(CheckFailure, match="called course_lib.reference.lenet.count_parameters"):
        check_count_parameters(lenet.count_parameters)


# --------------------------------------------------------------- layer_output_shapes


def make_shapes(*, batch_axis=False, top_level=False, keep_hooks=False, no_finally=False,
                train_mode=False, inputs=False):
    """A student's layer_output_shapes, correct unless an argument plants a mistake."""

    def layer_output_shapes(model, input_shape):
        shapes = []

        def recorder(name):
            def hook(module, args, output):
                tensor = args[0] if inputs else output
                shape = tuple(tensor.shape) if batch_axis else tuple(tensor.shape[1:])
                shapes.append((name, shape))
            return hook

        modules = (model.named_children() if top_level else
                   ((n, m) for n, m in model.named_modules() if not list(m.children())))
        handles = [m.register_forward_hook(recorder(n)) for n, m in modules]
        was_training = model.training
        if no_finally:
            model.eval()
            with torch.no_grad():
                model(torch.zeros(1, *input_shape))
            for handle in handles:
                handle.remove()
            model.train(was_training)
            return shapes
        try:
            if not train_mode:
                model.eval()
            with torch.no_grad():
                model(torch.zeros(1, *input_shape))
        finally:
            if not keep_hooks:
                for handle in handles:
                    handle.remove()
            model.train(was_training)
        return shapes

    return layer_output_shapes


def test_layer_output_shapes_check_passes_a_correct_answer(capsys):
    check_layer_output_shapes(make_shapes())
    check_layer_output_shapes(make_shapes(), seed=3, thorough=True)
    out, err = capsys.readouterr()
    assert out.count("✔ layer_output_shapes: all") == 2
    assert err == ""


@pytest.mark.parametrize(("mistake", "message"), [
    (dict(batch_axis=True), "(?s)known mistake: the shapes include the batch axis"),
    (dict(top_level=True), "(?s)known mistake: only the top-level children"),
    (dict(keep_hooks=True), "(?s)hooks are still registered on.*handle.remove"),
    (dict(no_finally=True), "(?s)after the error, hooks are still registered.*finally"),
    (dict(train_mode=True), "(?s)the model's state changed.*eval mode"),
    (dict(inputs=True), r"(?s)expected \[\('c1', \(4, 28, 28\)\)"),
])
def test_layer_output_shapes_check_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailure, match=message):
        check_layer_output_shapes(make_shapes(**mistake))


def test_layer_output_shapes_check_refuses_the_reference():
    with pytest.raises(CheckFailure, match="called course_lib.reference.lenet"):
        check_layer_output_shapes(lenet.layer_output_shapes)


# ------------------------------------------------------------------------ LeNet5

_ACTS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
         "elu": nn.ELU}


def make_lenet(*, padding=2, default_act="tanh", default_pool="avg", output=None,
               pool_first=False, groups=2, ignore="", plain_list=False, detach=False,
               no_conv_bias=False):
    """A student's LeNet5 class, correct unless one of the arguments plants a mistake."""

    class LeNet5(nn.Module):
        def __init__(self, activation=default_act, norm="none", pooling=default_pool):
            super().__init__()
            activation = "tanh" if "activation" in ignore else activation
            norm = "none" if "norm" in ignore else norm
            pooling = "avg" if "pooling" in ignore else pooling
            act = _ACTS[activation]
            pool = nn.AvgPool2d if pooling == "avg" else nn.MaxPool2d

            def norm_layer(c, conv):
                if norm == "batch":
                    return nn.BatchNorm2d(c) if conv else nn.BatchNorm1d(c)
                if norm == "group":
                    return nn.GroupNorm(groups, c)
                if norm == "layer":
                    return nn.GroupNorm(1, c)
                return nn.Identity()

            side = (28 + 2 * padding - 4) // 2 - 4
            flat = 16 * (side // 2) ** 2
            bias = not (no_conv_bias and norm != "none")
            self.c1 = nn.Conv2d(1, 6, 5, padding=padding, bias=bias)
            self.n1, self.a1, self.s2 = norm_layer(6, True), act(), pool(2, 2)
            self.c3 = nn.Conv2d(6, 16, 5, bias=bias)
            self.n3, self.a3, self.s4 = norm_layer(16, True), act(), pool(2, 2)
            layers = [nn.Linear(flat, 120), norm_layer(120, False), act(),
                      nn.Linear(120, 84), norm_layer(84, False), act(), nn.Linear(84, 10)]
            if plain_list:
                self.head = layers  # a plain list: its parameters are never registered
            else:
                self.head = nn.Sequential(*layers)

        def forward(self, x):
            h = self.n1(self.c1(x))
            h = self.a1(self.s2(h)) if pool_first else self.s2(self.a1(h))
            h = self.n3(self.c3(h))
            h = self.a3(self.s4(h)) if pool_first else self.s4(self.a3(h))
            h = h.flatten(1)
            if detach:
                h = h.detach()
            for layer in self.head:
                h = layer(h)
            if output == "softmax":
                return torch.softmax(h, dim=1)
            if output == "implicit softmax":
                return nn.Softmax()(h)  # no dim: PyTorch warns
            if output == "tanh":
                return torch.tanh(h)
            return h

    return LeNet5


def test_lenet5_check_passes_a_correct_answer(capsys):
    check_lenet5(make_lenet())
    check_lenet5(make_lenet(no_conv_bias=True), seed=4)  # bias=False before a norm is fine
    out, err = capsys.readouterr()
    assert out.count("✔ LeNet5: all") == 2
    assert err == ""


def test_lenet5_check_accepts_layer_norm_written_as_nn_layer_norm():
    """nn.LayerNorm((C, H, W)) normalizes like GroupNorm(1, C); at PyTorch's initial
    scale 1 and shift 0 the two compute the same function, and its 3-D weight must not be
    mistaken for a conv layer's."""

    class Student(make_lenet()):
        def __init__(self, activation="tanh", norm="none", pooling="avg"):
            super().__init__(activation, norm, pooling)
            if norm == "layer":
                self.n1, self.n3 = nn.LayerNorm((6, 28, 28)), nn.LayerNorm((16, 10, 10))
                self.head[1], self.head[4] = nn.LayerNorm(120), nn.LayerNorm(84)

    check_lenet5(Student)


@pytest.mark.mnist
def test_lenet5_thorough_check_passes_a_correct_answer_and_trains_it(capsys):
    check_lenet5(make_lenet(), seed=1, thorough=True)
    out, err = capsys.readouterr()
    assert "✔ LeNet5: all" in out
    assert err == ""


@pytest.mark.parametrize(("mistake", "message"), [
    (dict(padding=0), r"(?s)got 44,426.*without padding C1 turns 28x28 into 24x24"),
    (dict(padding=1), r"(?s)got 44,426.*C1 has padding=1: 28x28 becomes 26x26.*S4 4x4"),
    (dict(default_pool="max"), "matches max pooling in the default net"),
    (dict(default_act="relu"), "matches ReLU in the default net"),
    (dict(default_act="sigmoid"), "matches sigmoid in the default net"),
    (dict(output="softmax"), "matches a softmax on the output"),
    (dict(output="tanh"), "matches an activation after the output layer"),
    (dict(pool_first=True), "matches pooling before the activation"),
    (dict(plain_list=True), r"(?s)got 2,572 .*not in a plain Python list"),
    (dict(ignore="activation"), r"LeNet5\(activation='sigmoid'\) with the reference's weights"),
    (dict(ignore="pooling"), r"(?s)LeNet5\(pooling='max'\).*differ by up to"),
    (dict(ignore="norm"), r"(?s)LeNet5\(norm='batch'\).*differ by up to"),
    (dict(groups=1), r"(?s)LeNet5\(norm='group'\).*nn.GroupNorm\(2, C\)"),
    (dict(detach=True), r"(?s)gradients of LeNet5\(\).*c1.weight got no gradient"),
])
def test_lenet5_check_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailure, match=message):
        check_lenet5(make_lenet(**mistake))


def test_lenet5_check_explains_padding_1_when_c5_was_sized_for_padding_2():
    """padding=1 with C5 = Linear(400, 120): the count is right, the forward pass fails."""

    class Student(make_lenet(padding=1)):
        def __init__(self, activation="tanh", norm="none", pooling="avg"):
            super().__init__(activation, norm, pooling)
            self.head[0] = nn.Linear(400, 120)

    with pytest.raises(CheckFailure, match=r"(?s)forward pass raised.*C1 has padding=1"):
        check_lenet5(Student)


def test_lenet5_check_keeps_warnings_off_stderr(capsys):
    with pytest.raises(CheckFailure, match="softmax on the output"):
        check_lenet5(make_lenet(output="implicit softmax"))
    assert capsys.readouterr().err == ""


def test_lenet5_check_wants_the_class():
    with pytest.raises(CheckFailure, match="expected the class itself, got LeNet5"):
        check_lenet5(make_lenet()())


def test_lenet5_check_refuses_the_reference():
    with pytest.raises(CheckFailure, match="called course_lib.reference.lenet"):
        check_lenet5(lenet.LeNet5)

    class Wrapped(lenet.LeNet5):
        pass

    with pytest.raises(CheckFailure, match="called course_lib.reference.lenet"):
        check_lenet5(Wrapped)


def test_lenet5_check_catches_a_random_forward():
    class Noisy(make_lenet()):
        def forward(self, x):
            return super().forward(x) + 0.01 * torch.randn(len(x), 10)

    with pytest.raises(CheckFailure, match="differ by up to"):
        check_lenet5(Noisy)


def test_lenet5_check_catches_an_untrainable_net(monkeypatch):
    """A net whose forward is right but whose parameters never change fails the training
    run: the visible checks cannot see it, the thorough one does."""
    import course_lib.checks.lenet_model as checks

    monkeypatch.setattr(checks.lenet_training, "quick_train_accuracy", lambda model, seed: 0.11)
    with pytest.raises(CheckFailure, match=r"(?s)accuracy on 1000 held-out digits 11.0%, expected "
                       r"at least 90%"):
        checks._check_training(checks.Checker("LeNet5", make_lenet(), lenet.LeNet5), seed=0)
