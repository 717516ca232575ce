"""Classic wrong ways to wrap NumPy PReLU in a ``torch.autograd.Function`` (notebook 04).

Each mistake is a whole ``prelu_autograd(x, weight)`` built on the reference ``prelu`` and
``prelu_backward`` (which are right), so that only the wrapping is wrong. The check runs
each on its cases and names the one whose behaviour (error, output, gradients) the
student's function repeats. See :mod:`course_lib.checks.mistakes` for the rest.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.checks.core import Mistake
from course_lib.reference import relu_variants as ref


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _function(backward, *, save_output: bool = False) -> type:
    """A PReLU ``torch.autograd.Function`` whose forward is right and whose backward is
    ``backward(ctx, grad_output)``; ``save_output`` saves the output instead of x."""

    class Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight):
            out = torch.from_numpy(ref.prelu(_numpy(x), _numpy(weight)))
            ctx.save_for_backward(out if save_output else x, weight)
            return out

    Wrapped.backward = staticmethod(backward)
    return Wrapped


def _ignores_grad_output(ctx, grad_output):
    x, weight = ctx.saved_tensors
    dx, dweight = ref.prelu_backward(np.ones_like(_numpy(x)), _numpy(x), _numpy(weight))
    return torch.from_numpy(dx), torch.from_numpy(dweight)


def _right_backward(ctx, grad_output):
    x, weight = ctx.saved_tensors  # with save_output, "x" is really the output
    dx, dweight = ref.prelu_backward(_numpy(grad_output), _numpy(x), _numpy(weight))
    return torch.from_numpy(dx), torch.from_numpy(dweight)


def _only_dx(ctx, grad_output):
    return _right_backward(ctx, grad_output)[0]


def _no_dweight(ctx, grad_output):
    return _right_backward(ctx, grad_output)[0], None


def _numpy_gradients(ctx, grad_output):
    x, weight = ctx.saved_tensors
    return ref.prelu_backward(_numpy(grad_output), _numpy(x), _numpy(weight))


_IGNORES_GRAD_OUTPUT = _function(_ignores_grad_output)
_OUTPUT_SAVED = _function(_right_backward, save_output=True)
_ONLY_DX = _function(_only_dx)
_NO_DWEIGHT = _function(_no_dweight)
_NUMPY_GRADIENTS = _function(_numpy_gradients)


class _ForwardReturnsArray(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return ref.prelu(_numpy(x), _numpy(weight))

    @staticmethod
    def backward(ctx, grad_output):
        return _right_backward(ctx, grad_output)


FUNCTION_HINT = ("write class PReLUFunction(torch.autograd.Function) with static methods "
                 "forward(ctx, x, weight) and backward(ctx, grad_output) that call your prelu "
                 "and prelu_backward on NumPy arrays, and return PReLUFunction.apply(x, weight)")
BACKWARD_HINT = ("backward(ctx, grad_output) returns one tensor per input of forward: "
                 "dx, dweight = prelu_backward(grad_output.numpy(), x.numpy(), weight.numpy()) "
                 "with x and weight from ctx.saved_tensors, then "
                 "return torch.from_numpy(dx), torch.from_numpy(dweight)")

PRELU_AUTOGRAD_MISTAKES = [
    Mistake("no torch.autograd.Function: autograd differentiates torch operations, so your "
            "prelu_backward is never called",
            lambda x, weight: torch.nn.functional.prelu(x, weight), FUNCTION_HINT),
    Mistake("the output is computed outside a torch.autograd.Function (from NumPy and back), "
            "so it has no grad_fn and no gradient can flow",
            lambda x, weight: torch.from_numpy(ref.prelu(_numpy(x), _numpy(weight))),
            FUNCTION_HINT),
    Mistake("forward returns a NumPy array, not a tensor",
            lambda x, weight: _ForwardReturnsArray.apply(x, weight),
            "wrap forward's result: return torch.from_numpy(prelu(...))"),
    Mistake("backward returns only dx, but forward had two inputs (x and weight)",
            lambda x, weight: _ONLY_DX.apply(x, weight), BACKWARD_HINT),
    Mistake("backward returns NumPy arrays, not tensors",
            lambda x, weight: _NUMPY_GRADIENTS.apply(x, weight), BACKWARD_HINT),
    Mistake("backward returns None for weight, so the slopes never learn",
            lambda x, weight: _NO_DWEIGHT.apply(x, weight), BACKWARD_HINT),
    Mistake("backward ignores grad_output: prelu_backward gets ones instead of the upstream "
            "gradient", lambda x, weight: _IGNORES_GRAD_OUTPUT.apply(x, weight),
            "pass grad_output (as a NumPy array) as prelu_backward's dout: the chain rule "
            "multiplies by the gradient that arrives from above"),
    Mistake("forward saves its output instead of its input x for the backward",
            lambda x, weight: _OUTPUT_SAVED.apply(x, weight),
            "prelu_backward needs the forward's input: ctx.save_for_backward(x, weight)"),
]
