"""course_lib.lab.norm_cubes: the statistics masks agree with the norms; the cube figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.lab.norm_cubes import CUBE_KINDS, norm_cubes, statistics_mask
from course_lib.reference import norms


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _normalized(kind: str, x: np.ndarray, groups: int | None) -> np.ndarray:
    """``kind``'s reference output with gamma = 1, beta = 0, for ``x`` of (N, C, S)."""
    _, c, s = x.shape
    ones, zeros = np.ones(c), np.zeros(c)
    if kind == "batch":
        return norms.batch_norm(x, ones, zeros, zeros, ones, training=True)[0]
    if kind == "layer":
        return norms.layer_norm(x, np.ones((c, s)), np.zeros((c, s)))
    if kind == "instance":
        return norms.instance_norm(x, ones, zeros)
    return norms.group_norm(x, groups, ones, zeros)


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(list(CUBE_KINDS)), batch=st.integers(2, 4),
       groups=st.integers(1, 3), per_group=st.integers(1, 3), positions=st.integers(2, 4),
       data=st.data())
def test_mask_is_the_set_the_reference_standardizes(kind, batch, groups, per_group, positions,
                                                    data):
    channels = groups * per_group
    sample = data.draw(st.integers(0, batch - 1))
    channel = data.draw(st.integers(0, channels - 1))
    shape = (batch, channels, positions)
    x = np.random.default_rng(0).normal(size=shape) * 3.0 + 1.0
    mask = statistics_mask(kind, shape, groups if kind == "group" else None,
                           sample=sample, channel=channel)
    y = _normalized(kind, x, groups)[mask]
    assert mask[sample, channel].all()
    assert y.mean() == pytest.approx(0.0, abs=1e-9)
    assert y.var() == pytest.approx(1.0, rel=1e-3)  # eps = 1e-5 shrinks it a little
    # Moving only the masked values by a constant leaves the masked outputs unchanged, and
    # moving one value outside the mask leaves x[sample, channel]'s output unchanged.
    shifted = x + 5.0 * mask
    np.testing.assert_allclose(_normalized(kind, shifted, groups)[mask], y, atol=1e-9)
    if not mask.all():
        outside = tuple(np.argwhere(~mask)[0])
        poked = x.copy()
        poked[outside] += 7.0
        before = _normalized(kind, x, groups)[sample, channel]
        after = _normalized(kind, poked, groups)[sample, channel]
        np.testing.assert_allclose(after, before, atol=1e-12)


@pytest.mark.parametrize(("kind", "groups", "count"), [
    ("batch", None, 6 * 4), ("layer", None, 6 * 4), ("instance", None, 4), ("group", 3, 2 * 4),
])
def test_mask_sizes_for_the_drawn_cube(kind, groups, count):
    assert statistics_mask(kind, (6, 6, 4), groups).sum() == count


def test_group_mask_uses_consecutive_channels():
    mask = statistics_mask("group", (2, 6, 1), 2, sample=1, channel=4)
    np.testing.assert_array_equal(mask[1, :, 0], [False, False, False, True, True, True])
    assert not mask[0].any()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "batchnorm"}, r"kind: expected one of 'batch', .*got 'batchnorm'"),
    ({"kind": "group"}, r"num_groups: expected a divisor of C for kind='group', got None"),
    ({"kind": "layer", "num_groups": 2}, r"num_groups: expected None for kind='layer', got 2"),
    ({"kind": "group", "num_groups": 4}, r"num_groups: expected a divisor of C = 6, got 4"),
    ({"kind": "batch", "sample": 6}, r"sample: expected 0 <= sample < N = 6, got 6"),
    ({"kind": "batch", "channel": 9}, r"channel: expected 0 <= channel < C = 6, got 9"),
    ({"kind": "batch", "shape": (6, 6)}, r"shape: expected \(N, C, H\*W\), three ints"),
])
def test_mask_bad_arguments(kwargs, message):
    kwargs = {"shape": (6, 6, 4), **kwargs}
    with pytest.raises(ValueError, match=message):
        statistics_mask(**kwargs)


def test_norm_cubes_draws_four_labelled_panels():
    fig = norm_cubes((4, 4, 3), num_groups=2, title="cubes")
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("Batch Norm") and "12 of 48 values" in titles[0]
    assert titles[3].startswith("Group Norm (G = 2)") and "6 of 48 values" in titles[3]
    assert all(ax.get_zlabel() == "C" and ax.get_xlabel() == "N" for ax in fig.axes)
    assert fig._suptitle.get_text() == "cubes"


def test_norm_cubes_bad_title():
    with pytest.raises(TypeError, match="title: expected a str or None, got int"):
        norm_cubes(title=3)
