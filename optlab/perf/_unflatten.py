"""Pack a tree into flat per-dtype buffers and unpack it, with a custom VJP for ``unflatten``.

``flatten(tree)[d] = concat(ravel(w_i) for leaves i of dtype d)`` and
``unflatten(B)_i = B_{d_i}[o_i : o_i + n_i].reshape(s_i)``. The two are inverse linear maps, and
the transpose of ``unflatten`` is ``flatten``: for cotangents ``c_i`` of the leaves, the cotangent
of the buffers is ``flatten(c)``, one concatenate per buffer. ``jax.grad`` through plain slicing
would instead transpose each slice into a zero-padded full-size buffer and add them (``L`` buffer
writes for ``L`` leaves), hence the custom VJP.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from ._layout import Layout, check_tree


def _concat(parts: list[jax.Array], dtype: Any) -> jax.Array:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return jnp.zeros((0,), dtype)
    return jnp.concatenate(parts)


def flatten(tree: Any, layout: Layout) -> dict[str, jax.Array]:
    """``{key: concat(ravel(leaf) for the leaves in buffer key)}``, leaves in ``layout`` order.

    Raises:
      ValueError: ``tree`` does not match ``layout`` (names the leaf).
    """
    leaves = check_tree(tree, layout, name="tree")
    parts: dict[str, list[jax.Array]] = {key: [] for key in layout.keys}
    for leaf, slot in zip(leaves, layout.slots):
        parts[slot.key].append(jnp.ravel(jnp.asarray(leaf, layout.dtype(slot.key))))
    return {key: _concat(parts[key], layout.dtype(key)) for key in layout.keys}


def _slice_leaves(buffers: dict[str, jax.Array], layout: Layout) -> Any:
    sizes = dict(layout.sizes)
    leaves = []
    for slot in layout.slots:
        buf = buffers[slot.key]
        if slot.size != sizes[slot.key]:
            buf = lax.slice_in_dim(buf, slot.offset, slot.offset + slot.size)
        leaves.append(buf.reshape(slot.shape))
    return jax.tree_util.tree_unflatten(layout.treedef, leaves)


def _unflatten_fwd(buffers: dict[str, jax.Array], layout: Layout) -> tuple[Any, None]:
    return _slice_leaves(buffers, layout), None


def _unflatten_bwd(layout: Layout, _: None, cotangents: Any) -> tuple[dict[str, jax.Array]]:
    return (flatten(cotangents, layout),)


_unflatten = jax.custom_vjp(_slice_leaves, nondiff_argnums=(1,))
_unflatten.defvjp(_unflatten_fwd, _unflatten_bwd)


def unflatten(buffers: dict[str, jax.Array], layout: Layout) -> Any:
    """The tree whose leaf ``i`` is ``buffers[key_i][o_i : o_i + n_i].reshape(shape_i)``.

    Differentiable: the VJP is :func:`flatten` of the cotangent tree (one concatenate per buffer).

    Raises:
      ValueError: ``buffers`` are not the dict of 1-D buffers that ``layout`` describes.
    """
    _check_buffers(buffers, layout)
    return _unflatten(buffers, layout)


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
