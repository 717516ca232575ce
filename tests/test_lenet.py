"""Tests for course_lib.lenet: layer-size arithmetic, parameter counting, LeNet-5, the recipe.

PyTorch is the oracle: conv_output_size must agree with the shape nn.functional.conv2d
produces, and LeNet5's variants must compute what the same layers stacked by hand compute.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib.lab import lenet_training
from course_lib.lab.lenet_training import ShiftedBatches, TensorBatches
from course_lib.reference import lenet
from course_lib.reference.lenet import LeNet5, conv_output_size, count_parameters


@pytest.fixture(autouse=True)
def _one_thread():
    """LeNet-sized work runs faster on one thread, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ conv_output_size


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 80), kernel=st.integers(1, 9), stride=st.integers(1, 5),
       padding=st.integers(0, 4))
def test_conv_output_size_matches_torch_conv2d(size, kernel, stride, padding):
    if kernel > size + 2 * padding:
        with pytest.raises(ValueError, match="kernel_size"):
            conv_output_size(size, kernel, stride, padding)
        return
    x = torch.zeros(1, 1, 1, size)
    weight = torch.zeros(1, 1, 1, kernel)
    out = nn.functional.conv2d(x, weight, stride=(1, stride), padding=(0, padding))
    assert conv_output_size(size, kernel, stride, padding) == out.shape[-1]


@pytest.mark.parametrize(("args", "expected"), [
    ((28, 5, 1, 2), 28),  # C1
    ((28, 2, 2), 14),  # S2
    ((14, 5), 10),  # C3
    ((10, 2, 2), 5),  # S4
    ((32, 5), 28),  # the paper's C1 on 32x32
    ((28, 5), 24),  # C1 without padding: the classic mistake
])
def test_conv_output_size_lenet_table(args, expected):
    result = conv_output_size(*args)
    assert result == expected
    assert type(result) is int


def test_conv_output_size_matches_pooling_layers():
    x = torch.zeros(1, 1, 27, 27)
    for pool in (nn.MaxPool2d(3, stride=2), nn.AvgPool2d(3, stride=2)):
        assert pool(x).shape[-1] == conv_output_size(27, 3, 2)


@pytest.mark.parametrize(("args", "error", "match"), [
    ((3, 5), ValueError, r"kernel_size: expected at most size \+ 2\*padding = 3, got 5"),
    ((28, 5, 0), ValueError, "stride: expected an int >= 1, got 0"),
    ((28, 5, 1, -1), ValueError, "padding: expected an int >= 0, got -1"),
    ((0, 1), ValueError, "size: expected an int >= 1, got 0"),
    ((28.0, 5), TypeError, "size: expected a positive int, got float 28.0"),
    ((28, "5"), TypeError, "kernel_size: expected a positive int, got str"),
    ((28, 5, True), TypeError, "stride: expected a positive int, got bool"),
])
def test_conv_output_size_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        conv_output_size(*args)


# ------------------------------------------------------------------ count_parameters


def test_count_parameters_of_the_classic_lenet_per_layer():
    model = LeNet5()
    assert count_parameters(model) == 61_706
    convs_and_linears = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert [count_parameters(m) for m in convs_and_linears] == [156, 2416, 48120, 10164, 850]


def test_count_parameters_skips_frozen_buffers_and_duplicates():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 4))
    assert count_parameters(model) == 20 + 8 + 20  # running stats are buffers
    model[2].weight = model[0].weight  # tied: counted once
    assert count_parameters(model) == 20 + 8 + 4
    model[0].requires_grad_(False)  # the tied weight and the first bias are frozen
    assert count_parameters(model) == 8 + 4
    assert type(count_parameters(model)) is int
    assert count_parameters(nn.Sequential()) == 0


def test_count_parameters_rejects_a_non_module():
    with pytest.raises(TypeError, match="model: expected a torch.nn.Module, got list"):
        count_parameters([torch.zeros(3)])


# ------------------------------------------------------------------------ LeNet5


def _stage_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[int, ...]]:
    """Output shapes of the conv, pooling and linear layers, in order, seen by hooks."""
    shapes: list[tuple[int, ...]] = []
    kinds = (nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d, nn.Linear)
    handles = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
               for m in model.modules() if isinstance(m, kinds)]
    model(x)
    for handle in handles:
        handle.remove()
    return shapes


@pytest.mark.parametrize("batch", [1, 5, 64])
def test_lenet5_default_shapes_dtype_and_count(batch):
    model = LeNet5()
    x = torch.randn(batch, 1, 28, 28)
    out = model(x)
    assert out.shape == (batch, 10)
    assert out.dtype == torch.float32
    assert _stage_shapes(model, x) == [
        (batch, 6, 28, 28), (batch, 6, 14, 14), (batch, 16, 10, 10), (batch, 16, 5, 5),
        (batch, 120), (batch, 84), (batch, 10)]


def test_lenet5_default_is_tanh_average_pooling_and_a_linear_output():
    model = LeNet5()
    kinds = [type(m) for m in model.modules() if not list(m.children())]
    assert kinds.count(nn.Tanh) == 4
    assert kinds.count(nn.AvgPool2d) == 2
    assert nn.MaxPool2d not in kinds and nn.Softmax not in kinds
    assert isinstance(list(model.modules())[-1], nn.Linear)  # logits come straight out
    assert model.features[0].padding == (2, 2)


def _hand_built(activation: type[nn.Module], pool: type[nn.Module],
                norm=lambda c, conv: nn.Identity()) -> nn.Sequential:
    """The same network written out layer by layer, the way D2L and tutorials write it."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), norm(6, True), activation(), pool(2, 2),
        nn.Conv2d(6, 16, 5), norm(16, True), activation(), pool(2, 2), nn.Flatten(),
        nn.Linear(400, 120), norm(120, False), activation(),
        nn.Linear(120, 84), norm(84, False), activation(), nn.Linear(84, 10))


def _same_function(model: nn.Module, hand: nn.Module) -> None:
    ours = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    theirs = [m for m in hand.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for a, b in zip(ours, theirs, strict=True):
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)
    x = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    for mode in (True, False):
        model.train(mode)
        hand.train(mode)
        torch.testing.assert_close(model(x), hand(x))


@pytest.mark.parametrize(("name", "module"), [
    ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh), ("relu", nn.ReLU),
    ("leaky_relu", nn.LeakyReLU), ("elu", nn.ELU)])
@pytest.mark.parametrize(("pooling", "pool"), [("avg", nn.AvgPool2d), ("max", nn.MaxPool2d)])
def test_lenet5_activation_and_pooling_match_a_hand_built_net(name, module, pooling, pool):
    torch.manual_seed(0)
    model = LeNet5(activation=name, pooling=pooling)
    assert count_parameters(model) == 61_706
    _same_function(model, _hand_built(module, pool))


def test_lenet5_sigmoid_avg_is_the_d2l_lenet():
    """Dive into Deep Learning's LeNet (sec. 7.6): sigmoid and average pooling."""
    d2l = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))
    _same_function(LeNet5("sigmoid", pooling="avg"), d2l)


_NORMS = {
    "batch": lambda c, conv: nn.BatchNorm2d(c) if conv else nn.BatchNorm1d(c),
    "group": lambda c, conv: nn.GroupNorm(2, c),
    "layer": lambda c, conv: nn.GroupNorm(1, c),
}


@pytest.mark.parametrize("norm", sorted(_NORMS))
def test_lenet5_norms_match_a_hand_built_net(norm):
    torch.manual_seed(0)
    model = LeNet5(activation="relu", norm=norm)
    assert count_parameters(model) == 61_706 + 2 * (6 + 16 + 120 + 84)
    _same_function(model, _hand_built(nn.ReLU, nn.AvgPool2d, _NORMS[norm]))


def test_lenet5_layer_norm_on_linear_features_is_nn_layer_norm():
    model = LeNet5(norm="layer")
    h = torch.randn(7, 120)
    torch.testing.assert_close(model.classifier[2](h), nn.LayerNorm(120)(h))
    assert isinstance(model.classifier[2], nn.GroupNorm)


def test_lenet5_none_and_default_are_the_same_net():
    torch.manual_seed(3)
    a = LeNet5(norm=None)
    torch.manual_seed(3)
    b = LeNet5("TANH", "none", "AVG")
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


@pytest.mark.parametrize("norm", ["none", "group", "layer", "batch"])
def test_lenet5_only_batch_norm_makes_an_output_depend_on_the_rest_of_the_batch(norm):
    torch.manual_seed(0)
    model = LeNet5(norm=norm)  # training mode: batch norm uses the batch's statistics
    x = torch.randn(8, 1, 28, 28)
    first_of_two, first_of_eight = model(x[:2])[0], model(x)[0]
    assert torch.allclose(first_of_two, first_of_eight, atol=1e-6) == (norm != "batch")


def test_lenet5_gradients_reach_every_parameter():
    model = LeNet5(activation="elu", norm="group", pooling="max")
    loss = nn.functional.cross_entropy(model(torch.randn(4, 1, 28, 28)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(activation="swish"), ValueError, "activation: expected one of .*got 'swish'"),
    (dict(norm="instance"), ValueError, "norm: expected one of .*got 'instance'"),
    (dict(pooling="sum"), ValueError, "pooling: expected one of .*got 'sum'"),
    (dict(activation=nn.ReLU), TypeError, "activation: expected one of"),
])
def test_lenet5_rejects_unknown_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        LeNet5(**kwargs)


def test_lenet5_repr_names_the_options():
    assert "activation='relu', norm='batch', pooling='max'" in repr(LeNet5("relu", "batch", "max"))


# ------------------------------------------------------------------------ the recipe


def test_tensor_batches_cover_every_example_once_per_epoch_and_reshuffle():
    images = torch.arange(10.0).reshape(10, 1)
    labels = torch.arange(10)
    batches = TensorBatches(images, labels, 4, seed=1)
    assert len(batches) == 3
    epoch1 = [y.tolist() for _, y in batches]
    epoch2 = [y.tolist() for _, y in batches]
    assert [len(b) for b in epoch1] == [4, 4, 2]
    assert sorted(y for b in epoch1 for y in b) == list(range(10))
    assert sorted(y for b in epoch2 for y in b) == list(range(10))
    assert epoch1 != epoch2
    again = [y.tolist() for _, y in TensorBatches(images, labels, 4, seed=1)]
    assert again == epoch1
    for x, y in TensorBatches(images, labels, 3, shuffle=False):
        assert torch.equal(x[:, 0].long(), y)


def test_shifted_batches_move_each_image_by_at_most_shift_pixels_and_repeat_with_the_seed():
    images = torch.full((40, 2, 6, 6), -1.0)
    images[:, :, 2:4, 2:4] = torch.arange(40.0)[:, None, None, None] + 1  # a blob per image
    labels = torch.arange(40)
    batches = TensorBatches(images, labels, 8, seed=3)
    shifted = ShiftedBatches(batches, 1, seed=5, background=-1.0)
    assert len(shifted) == len(batches) == 5
    moves = set()
    for x, y in shifted:
        assert x.shape == (len(y), 2, 6, 6)
        for image, label in zip(x, y):
            assert torch.equal(image[0], image[1])  # every channel moved alike
            blob = (image[0] == label + 1).nonzero()
            assert len(blob) == 4  # the blob is whole, and background fills the rest
            assert ((image[0] == -1) | (image[0] == label + 1)).all()
            moves.add(tuple((blob.min(0).values - 2).tolist()))
    assert moves <= {(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)} and len(moves) > 4
    first = [x for x, _ in ShiftedBatches(TensorBatches(images, labels, 8, seed=3), 1, seed=5,
                                          background=-1.0)]
    second = [x for x, _ in ShiftedBatches(TensorBatches(images, labels, 8, seed=3), 1, seed=5,
                                           background=-1.0)]
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    unmoved = [x for x, _ in ShiftedBatches(TensorBatches(images, labels, 8, seed=3), 0)]
    plain = [x for x, _ in TensorBatches(images, labels, 8, seed=3)]
    assert all(torch.equal(a, b) for a, b in zip(unmoved, plain))


def test_tensor_batches_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="labels: expected 3 labels"):
        TensorBatches(torch.zeros(3, 1), torch.zeros(2), 2)
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches(torch.zeros(3, 1), torch.zeros(3), 0)


def test_train_lenet_fits_a_small_batch():
    """One-cycle Adam learns 10 noisy templates: the loss falls by far more than 10x."""
    generator = torch.Generator().manual_seed(0)
    templates = torch.randn(10, 1, 28, 28, generator=generator)
    y = torch.arange(64) % 10
    x = templates[y] + 0.5 * torch.randn(64, 1, 28, 28, generator=generator)
    torch.manual_seed(0)
    model = LeNet5(activation="relu")
    history = lenet_training.train_lenet(model, TensorBatches(x, y, 32, seed=0), epochs=15,
                                max_lr=1e-2, progress=False)
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert history.lr[-1] < 1e-4  # the cycle ends near zero


@pytest.mark.mnist
def test_quick_train_accuracy_of_the_reference_is_well_above_the_check_threshold():
    from course_lib.checks.lenet_model import QUICK_TRAIN_THRESHOLD

    torch.manual_seed(0)
    accuracy = lenet_training.quick_train_accuracy(LeNet5(), seed=0)
    assert accuracy >= QUICK_TRAIN_THRESHOLD + 0.02


@pytest.mark.mnist
def test_mnist_tensors_shapes_and_standardization():
    (x_train, y_train), (x_test, y_test) = lenet_training.mnist_tensors(500, 200, seed=0)
    assert x_train.shape == (500, 1, 28, 28) and x_test.shape == (200, 1, 28, 28)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert abs(float(x_train.mean())) < 0.1 and abs(float(x_train.std()) - 1) < 0.1
    assert set(y_test.tolist()) <= set(range(10))


# --------------------------------------------------------------- layer_output_shapes


def test_layer_output_shapes_of_the_classic_lenet():
    assert lenet.layer_output_shapes(LeNet5(), (1, 28, 28)) == [
        ("features.0", (6, 28, 28)), ("features.1", (6, 28, 28)), ("features.2", (6, 14, 14)),
        ("features.3", (16, 10, 10)), ("features.4", (16, 10, 10)),
        ("features.5", (16, 5, 5)), ("classifier.0", (400,)), ("classifier.1", (120,)),
        ("classifier.2", (120,)), ("classifier.3", (84,)), ("classifier.4", (84,)),
        ("classifier.5", (10,))]


def test_layer_output_shapes_agree_with_conv_output_size():
    """The formula and the measurement give the same table (S2 is 14x14, not 28x14)."""
    shapes = dict(lenet.layer_output_shapes(LeNet5(pooling="max"), (1, 28, 28)))
    c1 = conv_output_size(28, 5, padding=2)
    s2 = conv_output_size(c1, 2, 2)
    c3 = conv_output_size(s2, 5)
    s4 = conv_output_size(c3, 2, 2)
    assert [shapes[f"features.{i}"] for i in (0, 2, 3, 5)] == [
        (6, c1, c1), (6, s2, s2), (16, c3, c3), (16, s4, s4)]


def test_layer_output_shapes_leaves_the_model_as_it_was():
    model = LeNet5(norm="batch").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    shapes = lenet.layer_output_shapes(model, (1, 28, 28))
    assert ("features.1", (6, 28, 28)) in shapes  # the batch norm after C1
    assert model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not any(m._forward_hooks for m in model.modules())


def test_layer_output_shapes_removes_its_hooks_when_the_forward_fails():
    model = LeNet5()
    with pytest.raises(RuntimeError):
        lenet.layer_output_shapes(model, (1, 20, 20))
    assert not any(m._forward_hooks for m in model.modules())


def test_layer_output_shapes_lists_a_shared_layer_each_time_it_runs():
    square = nn.Linear(3, 3)
    model = nn.Sequential(square, nn.ReLU(), square)
    assert lenet.layer_output_shapes(model, (3,)) == [("0", (3,)), ("1", (3,)), ("0", (3,))]


@pytest.mark.parametrize(("args", "error", "match"), [
    (("not a model", (1, 28, 28)), TypeError, "model: expected a torch.nn.Module, got str"),
    ((nn.ReLU(), 28), TypeError, "input_shape: expected a tuple of ints"),
    ((nn.ReLU(), (1, 0)), ValueError, r"input_shape\[1\]: expected an int >= 1, got 0"),
])
def test_layer_output_shapes_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        lenet.layer_output_shapes(*args)
