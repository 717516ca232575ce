"""``prelu_autograd(x, weight)`` (notebook 04): NumPy PReLU wrapped in a
``torch.autograd.Function``. The reference against ``torch.nn.functional.prelu`` (values,
gradients, gradcheck, a whole training run), and the check with each classic mistake."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from activation_students import ALTERNATIVES
from hypothesis import given, settings
from hypothesis import strategies as st

import course_lib.checks as checks
from course_lib.checks import CheckFailure, core
from course_lib.checks.mistakes.prelu_autograd import PRELU_AUTOGRAD_MISTAKES
from course_lib.reference.relu_variants import prelu_autograd


def both(x: np.ndarray, weight: np.ndarray, dout: np.ndarray, fn):
    x_t = torch.tensor(x, requires_grad=True)
    w_t = torch.tensor(weight, requires_grad=True)
    out = fn(x_t, w_t)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), x_t.grad.numpy(), w_t.grad.numpy()


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([(5, 3), (2, 3, 4), (2, 3, 4, 5), (7,), (2, 1, 3)]),
       st.booleans(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31 - 1))
def test_values_and_both_gradients_equal_torch_prelu(shape, shared, dtype, seed):
    rng = np.random.default_rng(seed)
    channels = 1 if shared or len(shape) < 2 else shape[1]
    x = rng.normal(size=shape).astype(dtype)
    x.reshape(-1)[::5] = 0.0  # the kink: PyTorch uses the slope there
    weight = rng.uniform(-1.0, 2.0, channels).astype(dtype)
    dout = rng.normal(size=shape).astype(dtype)
    ours, theirs = both(x, weight, dout, prelu_autograd), both(x, weight, dout,
                                                                torch.nn.functional.prelu)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for mine, torch_value in zip(ours, theirs):
        assert mine.dtype == torch_value.dtype and mine.shape == torch_value.shape
        np.testing.assert_allclose(mine, torch_value, rtol=rtol, atol=rtol)


def test_its_backward_is_a_custom_function_and_passes_gradcheck():
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.tensor([0.25, -0.5, 1.5], dtype=torch.float64, requires_grad=True)
    out = prelu_autograd(x, weight)
    assert isinstance(out.grad_fn, torch.autograd.function.BackwardCFunction)
    assert type(out.grad_fn).__name__ == "PReLUFunctionBackward"
    assert torch.autograd.gradcheck(prelu_autograd, (x, weight))


def test_a_cnn_trained_with_it_follows_nn_prelu():
    """The same net, seed and batches: with nn.PReLU and with prelu_autograd the losses of
    every step agree to float32 rounding."""
    from course_lib.lab.models import prelu_cnn

    class Wrapped(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.weight = torch.nn.Parameter(module.weight.detach().clone())

        def forward(self, x):
            return prelu_autograd(x, self.weight)

    losses = {}
    for kind in ("torch", "numpy"):
        torch.manual_seed(0)
        net = prelu_cnn("channel", channels=(4, 8), hidden=16)
        if kind == "numpy":
            for name in ("act1", "act2", "act3"):
                setattr(net, name, Wrapped(getattr(net, name)))
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        generator = torch.Generator().manual_seed(0)
        losses[kind] = []
        for _ in range(8):
            x = torch.randn(16, 1, 28, 28, generator=generator)
            y = torch.randint(0, 10, (16,), generator=generator)
            loss = torch.nn.functional.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses[kind].append(loss.item())
    np.testing.assert_allclose(losses["numpy"], losses["torch"], rtol=1e-4)


@pytest.mark.parametrize(("args", "error", "match"), [
    ((np.ones((2, 3)), torch.ones(3)), TypeError, "x: expected a torch.Tensor, got ndarray"),
    ((torch.ones(2, 3), [0.25]), TypeError, "weight: expected a torch.Tensor, got list"),
    ((torch.ones(2, 3, dtype=torch.int64), torch.ones(3)), TypeError, "x: expected a float32"),
    ((torch.ones(2, 3), torch.ones(2)), ValueError, r"weight: expected shape \(3,\)"),
])
def test_bad_arguments_are_refused_with_a_message(args, error, match):
    with pytest.raises(error, match=match):
        prelu_autograd(*args)


# ------------------------------------------------------------------ the check


class StudentPReLU(torch.autograd.Function):
    """What the notebook asks for, written as a student would, on the student's NumPy."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return torch.from_numpy(ALTERNATIVES["prelu"](x.detach().numpy(),
                                                      weight.detach().numpy()))

    @staticmethod
    def backward(ctx, grad_output):
        x, weight = ctx.saved_tensors
        dx, dweight = ALTERNATIVES["prelu_backward"](grad_output.numpy(), x.numpy(),
                                                     weight.numpy())
        return torch.from_numpy(dx), torch.from_numpy(dweight)


def student(x, weight):
    return StudentPReLU.apply(x, weight)


def test_a_right_answer_passes_visible_and_hidden(capsys):
    checks.check_prelu_autograd(student)
    checks.check_prelu_autograd(student, seed=4047, thorough=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("✔ prelu_autograd: all") for line in lines)


@pytest.fixture
def unguarded(monkeypatch):
    """The classic mistakes are course_lib code: let them stand in as students."""
    original = core._call_guarded
    monkeypatch.setattr(core, "_call_guarded",
                        lambda fn, args, kwargs, forbidden: original(fn, args, kwargs, ()))


@pytest.mark.parametrize("mistake", PRELU_AUTOGRAD_MISTAKES,
                         ids=[m.description[:40] for m in PRELU_AUTOGRAD_MISTAKES])
def test_each_classic_mistake_is_named_on_the_first_case(mistake, unguarded):
    with pytest.raises(CheckFailure) as failure:
        checks.check_prelu_autograd(mistake.fn)
    message = str(failure.value)
    assert message.startswith("prelu_autograd failed on case 1:"), message
    assert f"this is a known mistake: {mistake.description}" in message, message
    assert f"hint: {mistake.hint}" in message


def test_the_stub_is_not_written_yet():
    class Stub(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight):
            raise NotImplementedError()

        @staticmethod
        def backward(ctx, grad_output):
            raise NotImplementedError()

    with pytest.raises(CheckFailure, match="is not written yet"):
        checks.check_prelu_autograd(lambda x, weight: Stub.apply(x, weight))


def test_other_wrong_answers_get_plain_words():
    class DoubleDx(StudentPReLU):
        @staticmethod
        def backward(ctx, grad_output):
            dx, dweight = StudentPReLU.backward(ctx, grad_output)
            return 2 * dx, dweight

    class Float64Out(StudentPReLU):
        @staticmethod
        def forward(ctx, x, weight):
            return StudentPReLU.forward(ctx, x, weight).double()

    def wrong_prelu(x, weight):  # the student's prelu is wrong: values differ
        return StudentPReLU.apply(x, weight) * 1.5

    for wrong, words in [(lambda x, w: DoubleDx.apply(x, w), "x.grad differs"),
                         (lambda x, w: Float64Out.apply(x, w),
                          "the output: expected dtype float32"),
                         (wrong_prelu, "the output differs")]:
        with pytest.raises(CheckFailure) as failure:
            checks.check_prelu_autograd(wrong)
        message = str(failure.value)
        assert words in message and "known mistake" not in message, message
        assert re.search("hint: .*check_prelu and check_prelu_backward must pass first",
                         message), message


def test_calling_course_libs_reference_is_refused():
    with pytest.raises(CheckFailure, match="course_lib.reference.relu_variants"):
        checks.check_prelu_autograd(lambda x, weight: prelu_autograd(x, weight))


def test_a_class_instead_of_the_function_is_refused():
    with pytest.raises(CheckFailure, match="expected the function prelu_autograd, got a class"):
        checks.check_prelu_autograd(StudentPReLU)
