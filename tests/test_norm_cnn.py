"""course_lib.lab.models: the small CNN with a normalization chosen by name."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.lab.models import small_cnn

EXPECTED_NORM = {"none": nn.Identity, "batch": nn.BatchNorm2d, "layer": nn.GroupNorm,
                 "instance": nn.InstanceNorm2d, "group": nn.GroupNorm}


@pytest.mark.parametrize("norm", list(EXPECTED_NORM))
def test_shapes_layers_and_one_training_step(norm):
    torch.manual_seed(0)
    model = small_cnn(norm, width=4, num_groups=2)
    assert [name for name, _ in model.named_children()] == [
        "conv1", "norm1", "act1", "pool1", "conv2", "norm2", "act2", "pool2", "flatten", "out"]
    assert isinstance(model.norm1, EXPECTED_NORM[norm])
    assert model.conv2.out_channels == 8
    assert (model.conv1.bias is None) == (norm != "none")
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    out = model(x)
    assert out.shape == (4, 10)
    nn.functional.cross_entropy(out, y).backward()
    assert model.conv1.weight.grad.abs().sum() > 0


def test_group_sizes_and_layer_norm_is_one_group():
    assert small_cnn("group", width=8, num_groups=4).norm2.num_groups == 4
    assert small_cnn("layer", width=8).norm1.num_groups == 1


def test_batch_norm_output_depends_on_batch_mates_in_training_only():
    torch.manual_seed(0)
    model = small_cnn("batch", width=4)
    x = torch.randn(4, 1, 28, 28)
    other = torch.cat([x[:1], torch.randn(3, 1, 28, 28)])
    model.train()
    assert not torch.allclose(model(x)[0], model(other)[0])
    model.eval()
    torch.testing.assert_close(model(x)[0], model(other)[0])


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"norm": "batchnorm"}, ValueError, r"norm: expected one of 'none', .*got 'batchnorm'"),
    ({"norm": "group", "width": 6, "num_groups": 4}, ValueError,
     r"num_groups: expected a divisor of width = 6, got 4"),
    ({"width": 0}, ValueError, r"width"),
    ({"width": 2.5}, TypeError, r"width"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        small_cnn(**kwargs)
