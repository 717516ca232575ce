"""Classic wrong LeNet-5 arithmetic and helpers (notebook 06), to name in a failed check.

See :mod:`course_lib.checks.mistakes` for what a mistake is and how it is used.
The mistakes of ``LeNet5`` itself are variants of the reference network: see
:func:`course_lib.checks.lenet_model.reference_run`.
"""

from __future__ import annotations

import torch

from course_lib.checks.core import Mistake
from course_lib.reference import lenet as reference


def _padding_once(size, kernel_size, stride=1, padding=0):
    return (size + padding - kernel_size) // stride + 1


def _no_plus_one(size, kernel_size, stride=1, padding=0):
    return (size + 2 * padding - kernel_size) // stride


def _rounds_up(size, kernel_size, stride=1, padding=0):
    return -(-(size + 2 * padding - kernel_size) // stride) + 1


def _stride_after_plus_one(size, kernel_size, stride=1, padding=0):
    return (size + 2 * padding - kernel_size + 1) // stride


CONV_OUTPUT_SIZE_MISTAKES = (
    Mistake("padding added once instead of on both sides", _padding_once,
            "padding adds `padding` zeros on each side: size + 2*padding"),
    Mistake("the + 1 is missing", _no_plus_one,
            "count the first window too: ... // stride + 1"),
    Mistake("rounding up instead of down", _rounds_up,
            "a window that would stick out of the input is dropped: use floor division //"),
    Mistake("the + 1 is inside the division", _stride_after_plus_one,
            "divide first, then add one: (size + 2*padding - kernel_size) // stride + 1"),
)


def _counts_tensors(model):
    return len(list(model.parameters()))


def _counts_frozen(model):
    return sum(p.numel() for p in model.parameters())


def _counts_buffers(model):
    return sum(t.numel() for t in model.state_dict().values())


def _counts_shared_twice(model):
    return sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False)
               if p.requires_grad)


COUNT_PARAMETERS_MISTAKES = (
    Mistake("counting parameter tensors instead of their elements", _counts_tensors,
            "add up p.numel() over the parameters, not the number of tensors"),
    Mistake("counting frozen parameters (requires_grad=False)", _counts_frozen,
            "only trainable parameters count: skip p with p.requires_grad == False"),
    Mistake("counting a shared weight once per layer that uses it", _counts_shared_twice,
            "model.parameters() yields each shared tensor once; iterate over it"),
    Mistake("counting buffers (e.g. batch norm's running mean and variance) from the "
            "state_dict", _counts_buffers,
            "use model.parameters(): buffers are not trained"),
)


def _with_batch_axis(model, input_shape):
    return [(n, (1, *s)) for n, s in reference.layer_output_shapes(model, input_shape)]


def _top_level_only(model, input_shape):
    shapes = []
    handles = [module.register_forward_hook(
        lambda module, inputs, output, name=name: shapes.append((name, tuple(output.shape[1:]))))
        for name, module in model.named_children()]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return shapes


LAYER_OUTPUT_SHAPES_MISTAKES = (
    Mistake("the shapes include the batch axis", _with_batch_axis,
            "drop the batch axis: tuple(output.shape[1:])"),
    Mistake("only the top-level children are recorded", _top_level_only,
            "hook every leaf module: those in model.named_modules() with no children"),
)


