"""Pack a tree into flat per-dtype buffers and unpack it, with a custom VJP for ``unflatten``.

``flatten(tree)[d] = concat(ravel(w_i) for leaves i of dtype d)`` and
``unflatten(B)_i = B_{d_i}[o_i : o_i + n_i].reshape(s_i)``. The two are inverse linear maps, and
the transpose of ``unflatten`` is ``flatten``: for cotangents ``c_i`` of the leaves, the cotangent
of the buffers is ``flatten(c)``. ``jax.grad`` through plain slicing would instead transpose each
slice into a zero-padded full-size buffer and add them (``L`` buffer writes for ``L`` leaves:
34 s per step at 2,000 leaves), hence the custom VJP. With runtime offsets the backward writes
each ``c_i`` in place into one zeroed buffer (``dynamic_update_slice``; one shared kernel per leaf
size) instead of one concatenate (one kernel with ``L`` operands, slower to compile and to run).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from ._layout import Layout, check_tree

__all__ = ["flatten", "runtime_offsets", "unflatten"]


def _concat(parts: list[jax.Array], dtype: Any) -> jax.Array:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return jnp.zeros((0,), dtype)
    return jnp.concatenate(parts)


def flatten(tree: Any, layout: Layout) -> dict[str, jax.Array]:
    """``{key: concat(ravel(leaf) for the leaves in buffer key)}``, leaves in ``layout`` order.

    A layout whose buffer sizes exceed the leaves' total (padded for sharding, see
    ``optlab.distributed``) gets zeros at the end of each buffer.

    Raises:
      ValueError: ``tree`` does not match ``layout`` (names the leaf).
    """
    leaves = check_tree(tree, layout, name="tree")
    parts: dict[str, list[jax.Array]] = {key: [] for key in layout.keys}
    for leaf, slot in zip(leaves, layout.slots):
        parts[slot.key].append(jnp.ravel(jnp.asarray(leaf, layout.dtype(slot.key))))
    return {key: _padded(_concat(parts[key], layout.dtype(key)), size) for key, size in layout.sizes}


def _padded(buffer: jax.Array, size: int) -> jax.Array:
    """``buffer`` with zeros appended up to ``size`` (a layout padded for sharding; else as is)."""
    return buffer if buffer.shape[0] == size else jnp.concatenate([buffer, jnp.zeros((size - buffer.shape[0],), buffer.dtype)])


def _slice_leaves(buffers: dict[str, jax.Array], offsets: Any, layout: Layout) -> Any:
    sizes = dict(layout.sizes)
    leaves = []
    for i, slot in enumerate(layout.slots):
        buf = buffers[slot.key]
        if slot.size != sizes[slot.key]:
            if offsets is None:
                buf = lax.slice_in_dim(buf, slot.offset, slot.offset + slot.size)
            else:
                buf = lax.dynamic_slice_in_dim(buf, offsets[i], slot.size)
        leaves.append(buf.reshape(slot.shape))
    return jax.tree_util.tree_unflatten(layout.treedef, leaves)


def _unflatten_fwd(buffers: dict[str, jax.Array], offsets: Any, layout: Layout) -> tuple[Any, Any]:
    return _slice_leaves(buffers, offsets, layout), offsets


def _scatter(cotangents: Any, offsets: tuple, layout: Layout) -> dict[str, jax.Array]:
    out = {key: jnp.zeros((size,), layout.dtype(key)) for key, size in layout.sizes}
    for leaf, offset, slot in zip(jax.tree_util.tree_leaves(cotangents), offsets, layout.slots):
        out[slot.key] = lax.dynamic_update_slice_in_dim(out[slot.key], leaf.reshape(-1), offset, 0)
    return out


def _unflatten_bwd(layout: Layout, offsets: Any, cotangents: Any) -> tuple[dict[str, jax.Array], None]:
    if offsets is None:
        return flatten(cotangents, layout), None
    return _scatter(cotangents, offsets, layout), None


_unflatten = jax.custom_vjp(_slice_leaves, nondiff_argnums=(2,))
_unflatten.defvjp(_unflatten_fwd, _unflatten_bwd)


def runtime_offsets(layout: Layout) -> tuple[jax.Array, ...]:
    """One int32 scalar array per leaf, ``offsets[i] = o_i``, to pass to :func:`unflatten`.

    Passed into a jitted function as arguments (not closed over), the offsets are not constants
    to XLA, so the ``L`` slices of ``unflatten`` are ``L`` calls of the same few kernels (one per
    distinct leaf size) instead of ``L`` distinct kernels that XLA:CPU compiles one by one
    (measured: 2,000 static slices of one buffer take about a minute to compile).
    """
    return tuple(jnp.asarray(slot.offset, jnp.int32) for slot in layout.slots)


def unflatten(buffers: dict[str, jax.Array], layout: Layout, offsets: Any = None) -> Any:
    """The tree whose leaf ``i`` is ``buffers[key_i][o_i : o_i + n_i].reshape(shape_i)``.

    ``offsets``: ``None`` (static slices) or :func:`runtime_offsets` ``(layout)`` passed in as a
    jit argument (dynamic slices that compile once per leaf size). Differentiable w.r.t.
    ``buffers``: the VJP is :func:`flatten` of the cotangent tree (one concatenate per buffer).

    Raises:
      ValueError: ``buffers`` are not the dict of 1-D buffers that ``layout`` describes, or
        ``offsets`` is not one scalar per leaf.
    """
    _check_buffers(buffers, layout)
    if offsets is not None and (not isinstance(offsets, tuple) or len(offsets) != layout.num_leaves):
        raise ValueError(
            f"offsets must be None or a tuple of {layout.num_leaves} int32 scalars, got {type(offsets).__name__}"
            f" of length {len(offsets) if isinstance(offsets, (tuple, list)) else '-'}"
        )
    return _unflatten(buffers, offsets, layout)


def _check_buffers(buffers: Any, layout: Layout) -> None:
    if not isinstance(buffers, dict) or tuple(sorted(buffers)) != layout.keys:
        got = sorted(buffers) if isinstance(buffers, dict) else type(buffers).__name__
        raise ValueError(f"buffers must be a dict with keys {list(layout.keys)}, got {got}")
    for key, size in layout.sizes:
        shape, dtype = jnp.shape(buffers[key]), jnp.result_type(buffers[key])
        if shape != (size,) or dtype != layout.dtype(key):
            raise ValueError(
                f"buffers[{key!r}] has shape {shape} and dtype {dtype}, expected ({size},) and {key}"
            )
