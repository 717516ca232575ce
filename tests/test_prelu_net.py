"""Tests of course_lib.lab.models: the PReLU CNN of notebook 04 and its slope read-out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.lab.models import learned_slopes, prelu_cnn, slope_table
from course_lib.reference.relu_variants import prelu


@pytest.mark.parametrize(("slopes", "counts"), [("shared", [1, 1, 1]),
                                                 ("channel", [8, 16, 64])])
def test_slope_counts_follow_the_sharing(slopes, counts):
    model = prelu_cnn(slopes)
    found = learned_slopes(model)
    assert list(found) == ["act1", "act2", "act3"]
    assert [v.shape[0] for v in found.values()] == counts
    assert all(np.all(v == 0.25) for v in found.values())


def test_maps_mnist_images_to_ten_logits_and_counts_parameters():
    torch.manual_seed(0)
    model = prelu_cnn("channel", channels=(4, 6), hidden=12, init=0.1)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    convs = (1 * 4 * 25 + 4) + (4 * 6 * 25 + 6)
    linears = (25 * 6 * 12 + 12) + (12 * 10 + 10)
    assert sum(p.numel() for p in model.parameters()) == convs + linears + 4 + 6 + 12
    assert np.all(learned_slopes(model)["act2"] == np.float32(0.1))


def test_prelu_layers_compute_the_reference_prelu_per_channel():
    torch.manual_seed(1)
    model = prelu_cnn("channel")
    with torch.no_grad():
        model.act1.weight.copy_(torch.linspace(-0.5, 1.5, 8))
        x = torch.randn(2, 8, 5, 5)
        got = model.act1(x).numpy()
    expected = prelu(x.numpy(), learned_slopes(model)["act1"].astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_learned_slopes_are_copies_that_follow_training():
    torch.manual_seed(2)
    model = prelu_cnn("shared")
    before = learned_slopes(model)
    before["act1"][0] = 99.0  # a copy: the model must not change
    assert model.act1.weight.item() == pytest.approx(0.25)
    loss = nn.functional.cross_entropy(model(torch.randn(8, 1, 28, 28)),
                                       torch.arange(8) % 10)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 1.0 * p.grad
    after = learned_slopes(model)
    assert any(v[0] != pytest.approx(0.25) for v in after.values())
    assert all(v.dtype == np.float64 for v in after.values())


def test_slope_table_lists_each_layer_with_channel_statistics():
    shared = {"act1": np.array([0.5]), "act2": np.array([0.125])}
    channel = {"act1": np.array([0.1, 0.3]), "act2": np.array([0.0, 0.2, 0.4])}
    lines = slope_table(shared, channel).splitlines()
    assert lines[0].split()[:2] == ["layer", "shared"]
    assert lines[1].split() == ["act1", "0.500", "0.200", "(0.100", "..", "0.300)"]
    assert lines[2].split() == ["act2", "0.125", "0.200", "(0.000", "..", "0.400)"]


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError,
                       match=r"slopes: expected one of 'shared', 'channel', got 'wise'"):
        prelu_cnn("wise")
    with pytest.raises(TypeError, match=r"channels: expected a pair"):
        prelu_cnn(channels=8)
    with pytest.raises(ValueError, match=r"channels\[1\]"):
        prelu_cnn(channels=(8, 0))
    with pytest.raises(TypeError, match=r"init"):
        prelu_cnn(init="0.25")
    with pytest.raises(TypeError, match=r"model: expected a torch.nn.Module"):
        learned_slopes("net")
    with pytest.raises(ValueError, match=r"channel: expected the layers.*missing \['act2'\]"):
        slope_table({"act1": np.ones(1), "act2": np.ones(1)}, {"act1": np.ones(3)})
