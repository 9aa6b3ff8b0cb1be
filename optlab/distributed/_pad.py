"""FlatTrainState under fsdp: flat buffers padded with zeros so every device holds an equal piece.

A buffer of ``n`` elements becomes ``n' = ceil(n / q) * q`` long, ``q = lcm(D, 1024)`` for ``D``
devices: divisible by ``D`` (so fsdp splits it) and, for every power of two up to 1024, by that
device count too (so a checkpoint restores onto such a mesh with the same padded layout). The
padding is zero in the parameters, in every parameter-shaped part of the optimizer state and in
the EMA, and it stays zero: its gradient is zero (``unflatten``'s VJP writes zeros there), every
optlab rule maps a zero gradient on a zero parameter with zero moments to a zero update
(AdamW's decay of a zero weight is zero), and zeros add nothing to a global norm or a clip.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["PAD_QUANTUM", "pad_flat_state", "padding_of"]

PAD_QUANTUM = 1024


def padded_size(size: int, devices: int) -> int:
    quantum = math.lcm(devices, PAD_QUANTUM)
    return -(-size // quantum) * quantum


def _pad(buffer: Any, size: int) -> Any:
    extra = size - buffer.shape[0]
    return buffer if extra == 0 else jnp.concatenate([buffer, jnp.zeros((extra,), buffer.dtype)])


def pad_flat_state(state: Any, devices: int) -> Any:
    """``state`` (a ``FlatTrainState``) with each buffer, and each buffer-shaped optimizer/EMA
    buffer, zero-padded to a multiple of ``lcm(devices, 1024)``; other states as they are."""
    if not hasattr(state, "flat_params"):
        return state
    layout = state.layout
    sizes = tuple((key, padded_size(size, devices)) for key, size in layout.sizes)
    if sizes == layout.sizes:
        return state
    new_layout = type(layout)(treedef=layout.treedef, slots=layout.slots, sizes=sizes)
    target = dict(sizes)
    old = jax.tree_util.tree_structure(state.flat_params)
    shapes = {key: (size,) for key, size in layout.sizes}

    def mirrors(node: Any) -> bool:
        return (isinstance(node, dict) and jax.tree_util.tree_structure(node) == old
                and all(np.shape(node[k]) == shapes[k] for k in node))

    def pad(node: Any) -> Any:
        return {k: _pad(v, target[k]) for k, v in node.items()} if mirrors(node) else node

    fields = {name: jax.tree.map(pad, getattr(state, name), is_leaf=mirrors)
              for name in ("flat_params", "opt_state", "flat_ema", "flat_swa") if hasattr(state, name)}
    return state.replace(layout=new_layout, **fields)


def padding_of(state: Any) -> dict[str, tuple[int, int]]:
    """``{key: (leaves' elements, buffer size)}`` of a ``FlatTrainState`` (equal when unpadded)."""
    used: dict[str, int] = {}
    for slot in state.layout.slots:
        used[slot.key] = max(used.get(slot.key, 0), slot.offset + slot.size)
    return {key: (used[key], size) for key, size in state.layout.sizes}
