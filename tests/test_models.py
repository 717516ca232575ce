"""course_lib.lab.models: activation layers by name and the named-layer MLP builder."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.lab.models import ACTIVATION_LAYERS, activation_layer, mlp

EXPECTED_CLASS = {
    "identity": nn.Identity, "linear": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU, "rrelu": nn.RReLU,
    "elu": nn.ELU, "selu": nn.SELU, "gelu": nn.GELU, "silu": nn.SiLU,
    "hardswish": nn.Hardswish, "relu6": nn.ReLU6,
}

FUNCTIONAL = {
    "identity": lambda x: x, "linear": lambda x: x, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu,
    "prelu": lambda x: F.prelu(x, torch.tensor([0.25])),
    "rrelu": lambda x: F.leaky_relu(x, (1 / 8 + 1 / 3) / 2),  # eval mode: the mean slope
    "elu": F.elu, "selu": F.selu, "gelu": F.gelu, "silu": F.silu,
    "hardswish": F.hardswish, "relu6": F.relu6,
}


def test_every_name_is_covered():
    assert set(ACTIVATION_LAYERS) == set(EXPECTED_CLASS) == set(FUNCTIONAL)


@pytest.mark.parametrize("name", sorted(EXPECTED_CLASS))
def test_activation_layer_builds_the_torch_module(name):
    layer = activation_layer(name).eval()
    assert type(layer) is EXPECTED_CLASS[name]
    x = torch.linspace(-8, 8, 101)
    torch.testing.assert_close(layer(x), FUNCTIONAL[name](x))
    assert activation_layer(name) is not activation_layer(name)  # a fresh module each time


def test_activation_layer_names_are_forgiving_and_take_arguments():
    assert type(activation_layer("Leaky-ReLU")) is nn.LeakyReLU
    assert activation_layer("leaky_relu", negative_slope=0.2).negative_slope == 0.2
    assert activation_layer("prelu", num_parameters=7).weight.shape == (7,)
    assert not getattr(activation_layer("relu"), "inplace", False)


def test_activation_layer_bad_names():
    with pytest.raises(ValueError, match=r"activation: expected one of 'identity', .*'relu6', "
                                         r"got 'swish'"):
        activation_layer("swish")
    with pytest.raises(TypeError, match=r"activation: expected one of 'identity'.*got type"):
        activation_layer(nn.ReLU)


def test_mlp_layer_names_and_shapes():
    model = mlp(784, 32, 10, depth=3, activation="tanh")
    assert list(dict(model.named_children())) == [
        "flatten", "fc1", "act1", "fc2", "act2", "fc3", "act3", "out"]
    assert isinstance(model.act2, nn.Tanh)
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert sum(isinstance(m, nn.Linear) for m in model.modules()) == 4


def test_mlp_with_norms_and_a_list_of_widths():
    model = mlp(20, [16, 8], 3, activation="relu", norm="batch")
    assert list(dict(model.named_children())) == [
        "flatten", "fc1", "norm1", "act1", "fc2", "norm2", "act2", "out"]
    assert isinstance(model.norm1, nn.BatchNorm1d) and model.norm2.num_features == 8
    assert model.fc2.in_features == 16 and model.out.in_features == 8
    layer = mlp(20, 16, 3, depth=1, norm="layer", flatten=False)
    assert isinstance(layer.norm1, nn.LayerNorm) and "flatten" not in dict(layer.named_children())
    assert mlp(20, [16, 8], 3, depth=2).fc2.out_features == 8


def test_depth_zero_is_logistic_regression():
    model = mlp(784, 64, 10, depth=0)
    assert list(dict(model.named_children())) == ["flatten", "out"]
    assert model.out.in_features == 784


@pytest.mark.parametrize(("init", "std"), [  # of fc2, a 300 -> 300 layer
    ("xavier", math.sqrt(2 / (300 + 300))),
    ("he", math.sqrt(2 / 300)),
    ("normal", 1.0),
])
def test_mlp_inits_have_the_right_spread(init, std):
    torch.manual_seed(0)
    model = mlp(400, 300, 10, depth=2, init=init)
    weight = model.fc2.weight  # the spread of 90,000 draws is within 2 %
    assert weight.std().item() == pytest.approx(std, rel=0.02)
    assert weight.mean().abs().item() < 0.02 * std
    assert torch.count_nonzero(model.fc1.bias) == 0


def test_default_init_is_pytorchs():
    torch.manual_seed(1)
    ours = mlp(50, 40, 10, depth=1)
    torch.manual_seed(1)
    theirs = nn.Sequential(nn.Flatten(), nn.Linear(50, 40), nn.ReLU(), nn.Linear(40, 10))
    for a, b in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.manual_seed(1)
    assert torch.equal(mlp(50, 40, 10, depth=1, init="default").fc1.weight, ours.fc1.weight)


def test_init_scale_and_bias_init():
    torch.manual_seed(2)
    plain = mlp(30, 20, 5, depth=2, init="he")
    torch.manual_seed(2)
    scaled = mlp(30, 20, 5, depth=2, init="he", init_scale=3.0, bias_init=-1.5)
    torch.testing.assert_close(scaled.fc1.weight, 3.0 * plain.fc1.weight)
    torch.testing.assert_close(scaled.out.weight, 3.0 * plain.out.weight)
    assert torch.all(scaled.fc1.bias == -1.5) and torch.all(scaled.fc2.bias == -1.5)
    assert torch.all(scaled.out.bias == 0.0)  # the output layer keeps its own bias


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"hidden": 16}, TypeError, r"depth: expected the number of hidden layers"),
    ({"hidden": 16, "depth": -1}, ValueError, r"depth: expected an int >= 0, got -1"),
    ({"hidden": [16, 8], "depth": 3}, ValueError, r"depth: expected 2 \(the number of widths"),
    ({"hidden": 0, "depth": 2}, ValueError, r"hidden: expected an int >= 1, got 0"),
    ({"hidden": [16, 0]}, ValueError, r"hidden\[1\]: expected an int >= 1"),
    ({"hidden": "16"}, TypeError, r"hidden: expected an int width or a list of widths"),
    ({"hidden": 8, "depth": 1, "activation": "softmax"}, ValueError,
     r"activation: expected one of .*, got 'softmax'"),
    ({"hidden": 8, "depth": 1, "norm": "group"}, ValueError,
     r"norm: expected one of 'batch', 'layer', got 'group'"),
    ({"hidden": 8, "depth": 1, "init": "orthogonal"}, ValueError,
     r"init: expected one of 'default', 'xavier', 'he', 'normal', got 'orthogonal'"),
    ({"hidden": 8, "depth": 1, "init_scale": float("nan")}, ValueError,
     r"init_scale: expected a finite number"),
    ({"hidden": 8, "depth": 1, "bias_init": "0"}, TypeError, r"bias_init: expected a real"),
])
def test_mlp_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        mlp(10, out_features=2, **kwargs)


def test_mlp_bad_sizes():
    with pytest.raises(ValueError, match=r"in_features: expected an int >= 1, got 0"):
        mlp(0, 8, 2, depth=1)
    with pytest.raises(TypeError, match=r"out_features: expected a positive int, got float"):
        mlp(4, 8, 2.0, depth=1)
