"""PyTorch normalization layers chosen by name, for experiments that swap them.

``norm_layer("group", 16, num_groups=4)`` returns the ``torch.nn`` module that
matches a NumPy reference in :mod:`course_lib.norms`, so a network can be built
once and trained with each normalization in turn (notebooks 05 and 06).
"""

from __future__ import annotations

from torch import nn

from course_lib import _validate as check

#: The kinds :func:`norm_layer` knows, in the order notebooks present them.
NORM_KINDS = ("none", "batch", "layer", "instance", "group")


def norm_layer(
    kind: str, num_channels: int, num_groups: int | None = None, *, spatial_dims: int = 2
) -> nn.Module:
    """A normalization layer for ``num_channels`` channels, by name.

    - ``"none"``: ``nn.Identity()``.
    - ``"batch"``: ``nn.BatchNorm2d(C)``; ``nn.BatchNorm1d(C)`` for (N, C) or (N, C, L).
    - ``"layer"``: ``nn.GroupNorm(1, C)``, layer norm over (C, H, W) with one scale and
      shift per channel, which works for any H, W (:func:`course_lib.norms.group_norm`
      with one group; the "LN" of the Group Normalization paper).
    - ``"instance"``: ``nn.InstanceNorm2d(C, affine=True)``; ``InstanceNorm1d`` for (N, C, L).
    - ``"group"``: ``nn.GroupNorm(num_groups, C)``.

    Args:
        kind: one of :data:`NORM_KINDS`.
        num_channels: C, the size of axis 1 of the input.
        num_groups: G for ``kind="group"``, a divisor of C; must be ``None`` otherwise.
        spatial_dims: 2 for (N, C, H, W) feature maps, 1 for (N, C, L), 0 for the
            (N, C) features of a linear layer (no instance norm there: a single value
            per channel has no spatial statistics).

    Returns:
        A new ``torch.nn.Module`` with PyTorch's default eps and momentum.
    """
    if kind not in NORM_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(map(repr, NORM_KINDS))}, got {kind!r}")
    num_channels = check.positive_int(num_channels, "num_channels")
    spatial_dims = check.non_negative_int(spatial_dims, "spatial_dims")
    if spatial_dims > 2:
        raise ValueError(f"spatial_dims: expected 0, 1 or 2, got {spatial_dims}")
    if kind != "group" and num_groups is not None:
        raise ValueError(f"num_groups: expected None for kind={kind!r}, got {num_groups!r}")
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(num_channels) if spatial_dims == 2 else nn.BatchNorm1d(num_channels)
    if kind == "layer":
        return nn.GroupNorm(1, num_channels)
    if kind == "instance":
        if spatial_dims == 0:
            raise ValueError(
                "spatial_dims: expected 1 or 2 for kind='instance' (instance norm needs "
                "spatial positions to average over), got 0"
            )
        module = nn.InstanceNorm2d if spatial_dims == 2 else nn.InstanceNorm1d
        return module(num_channels, affine=True)
    if num_groups is None:
        raise ValueError(
            f"num_groups: expected a divisor of num_channels = {num_channels} for "
            "kind='group', got None"
        )
    num_groups = check.positive_int(num_groups, "num_groups")
    if num_channels % num_groups:
        raise ValueError(
            f"num_groups: expected a divisor of num_channels = {num_channels}, got {num_groups}"
        )
    return nn.GroupNorm(num_groups, num_channels)
