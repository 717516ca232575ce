"""Which values share a mean and a variance in each normalization: masks and the GN cubes.

Wu and He's Group Normalization paper (2018, Figure 2) draws a feature map
``(N, C, H, W)`` as a cube with the batch axis N, the channel axis C and the
spatial axes H, W flattened into one, and colours the values that one mean and
one variance are computed over. :func:`statistics_mask` gives that set as a
boolean array; :func:`norm_cubes` draws the four cubes with matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from course_lib._validate import describe, non_negative_int, positive_int

#: The kinds :func:`statistics_mask` knows, in the paper's order, with their panel titles.
CUBE_KINDS = {"batch": "Batch Norm", "layer": "Layer Norm", "instance": "Instance Norm",
              "group": "Group Norm"}

_SHARED = "#3b75af"  # the values that share one mean and variance
_OTHER = "#e6e6e6"


def _shape(shape: object) -> tuple[int, int, int]:
    if not isinstance(shape, Sequence) or len(shape) != 3:
        raise ValueError(f"shape: expected (N, C, H*W), three ints, got {shape!r}")
    return tuple(positive_int(n, f"shape[{i}]") for i, n in enumerate(shape))


def statistics_mask(
    kind: str,
    shape: Sequence[int] = (6, 6, 4),
    num_groups: int | None = None,
    *,
    sample: int = 0,
    channel: int = 0,
) -> np.ndarray:
    """The values of ``(N, C, H*W)`` whose statistics normalize ``x[sample, channel]``.

    - ``"batch"``: channel ``channel`` of every sample and position (``axis=(0, 2, 3)``).
    - ``"layer"``: every channel and position of sample ``sample`` (``axis=(1, 2, 3)``).
    - ``"instance"``: the positions of ``x[sample, channel]`` (``axis=(2, 3)``).
    - ``"group"``: the positions of the C / G consecutive channels in ``channel``'s
      group, of sample ``sample``, as ``torch.nn.GroupNorm`` groups them.

    Args:
        kind: one of :data:`CUBE_KINDS`.
        shape: ``(N, C, H*W)``, the spatial axes flattened into one.
        num_groups: G for ``kind="group"``, a divisor of C; must be ``None`` otherwise.
        sample: the sample n whose value is normalized, 0 <= n < N.
        channel: the channel c, 0 <= c < C.

    Returns:
        A boolean array of ``shape``, True where a value enters the mean and variance.
    """
    if kind not in CUBE_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(map(repr, CUBE_KINDS))}, got {kind!r}")
    batch, channels, _ = _shape(shape)
    sample = non_negative_int(sample, "sample")
    channel = non_negative_int(channel, "channel")
    if sample >= batch:
        raise ValueError(f"sample: expected 0 <= sample < N = {batch}, got {sample}")
    if channel >= channels:
        raise ValueError(f"channel: expected 0 <= channel < C = {channels}, got {channel}")
    if (kind == "group") != (num_groups is not None):
        expected = "a divisor of C" if kind == "group" else "None"
        raise ValueError(f"num_groups: expected {expected} for kind={kind!r}, got {num_groups!r}")

    mask = np.zeros(tuple(shape), dtype=bool)
    if kind == "batch":
        mask[:, channel, :] = True
    elif kind == "layer":
        mask[sample] = True
    elif kind == "instance":
        mask[sample, channel] = True
    else:
        num_groups = positive_int(num_groups, "num_groups")
        if channels % num_groups:
            raise ValueError(f"num_groups: expected a divisor of C = {channels}, got {num_groups}")
        per_group = channels // num_groups
        first = channel // per_group * per_group
        mask[sample, first:first + per_group] = True
    return mask


def norm_cubes(shape: Sequence[int] = (6, 6, 4), num_groups: int = 2, *,
               title: str | None = "Which values share one mean and variance") -> Figure:
    """Draw Wu & He's four cubes: the values each normalization pools (blue).

    The cube's axes are N (batch), C (channels) and H, W (positions, flattened).

    Args:
        shape: ``(N, C, H*W)`` of the drawn cube (small: each value is one voxel).
        num_groups: G of the group-norm panel, a divisor of C.
        title: figure title, or ``None``.

    Returns:
        The ``matplotlib.figure.Figure`` with one 3-D panel per kind.
    """
    batch, channels, positions = _shape(shape)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title: expected a str or None, got {describe(title)}")
    fig = plt.figure(figsize=(11.0, 3.6))
    # 3-D axes escape constrained layout's bookkeeping: leave room for the titles by hand.
    fig.subplots_adjust(left=0.0, right=0.97, bottom=0.02, top=0.8 if title else 0.88,
                        wspace=0.05)
    for i, (kind, name) in enumerate(CUBE_KINDS.items()):
        groups = num_groups if kind == "group" else None
        mask = statistics_mask(kind, shape, groups)
        ax = fig.add_subplot(1, len(CUBE_KINDS), i + 1, projection="3d")
        # voxel axes (x, y, z) = (N, H*W, C): N to the right, positions into the page, C up
        filled = np.ones((batch, positions, channels), dtype=bool)
        colours = np.where(mask.transpose(0, 2, 1), _SHARED, _OTHER)
        ax.voxels(filled, facecolors=colours, edgecolors="#555555", linewidth=0.3)
        ax.set_box_aspect((batch, positions, channels))
        ax.view_init(elev=22, azim=-58)
        ax.set_xlabel("N", labelpad=-12)
        ax.set_ylabel("H, W", labelpad=-12)
        ax.set_zlabel("C", labelpad=-12)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_zticks([])
        label = f"{name} (G = {num_groups})" if kind == "group" else name
        ax.set_title(f"{label}\n{int(mask.sum())} of {mask.size} values")
    if title:
        fig.suptitle(title)
    return fig
