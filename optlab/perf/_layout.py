"""Static layout of a parameter tree packed into a few flat buffers.

A tree with leaves ``w_1, ..., w_L`` is stored as buffers ``B_k``, each holding leaves of one
dtype: ``B_k = concat(ravel(w_i) for the leaves i in buffer k)``, so leaf ``i`` is
``B_{k_i}[o_i : o_i + n_i].reshape(s_i)``. Large leaves get a buffer of their own, small ones
share buckets (see :func:`layout_of`). The layout (tree structure, and per leaf its buffer,
offset ``o_i``, size ``n_i`` and shape ``s_i``) is static Python data: hashable, so it can be a
static field of a jitted state or a ``nondiff_argnums`` argument of a custom VJP.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import int_at_least


@dataclasses.dataclass(frozen=True)
class Slot:
    """Where one leaf lives: ``buffers[key][offset : offset + size].reshape(shape)``."""

    key: str
    offset: int
    size: int
    shape: tuple[int, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class Layout:
    """Tree structure plus one :class:`Slot` per leaf (in ``jax.tree`` leaf order).

    Attributes:
      treedef: the structure of the parameter tree.
      slots: one slot per leaf.
      sizes: ``((key, total_size), ...)``, one entry per buffer, sorted by key.
    """

    treedef: Any
    slots: tuple[Slot, ...]
    sizes: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        # jit hashes and compares static fields on every call: with 2,000 leaves an uncached
        # dataclass hash costs ~0.6 ms per step, so hash once and compare by identity first.
        object.__setattr__(self, "_hash", hash((self.treedef, self.slots, self.sizes)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Layout) or self._hash != other._hash:
            return False
        return (self.treedef, self.slots, self.sizes) == (other.treedef, other.slots, other.sizes)

    @property
    def keys(self) -> tuple[str, ...]:
        """Buffer keys (``"float32"``, ``"float32.1"``, ``"bfloat16"``, ...), sorted."""
        return tuple(key for key, _ in self.sizes)

    @property
    def num_leaves(self) -> int:
        return len(self.slots)

    def dtype(self, key: str) -> jnp.dtype:
        """The dtype of buffer ``key`` (``"float32.2"`` -> float32)."""
        return jnp.dtype(key.split(".")[0])


def buffer_key(dtype: Any, index: int = 0) -> str:
    """Name of buffer ``index`` of ``dtype``: ``"float32"``, then ``"float32.1"``, ``"float32.2"``, ..."""
    name = jnp.dtype(dtype).name
    return name if index == 0 else f"{name}.{index}"


def _leaf_paths(tree: Any) -> list[str]:
    return [jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


# Measured on the 2-core CPU (benchmarks/README.md): below ~64K elements a leaf's per-leaf kernel
# overhead (20-30 us) outweighs copying it into a shared buffer; buckets of <= 16 MiB stay below
# glibc's largest dynamic mmap threshold (32 MiB), so freed gradient buckets are reused instead of
# being unmapped and page-faulted in again every step.
OWN_BUFFER_FROM = 1 << 16
BUCKET_BYTES = 16 << 20


def layout_of(tree: Any, *, own_buffer_from: int = OWN_BUFFER_FROM, bucket_bytes: int = BUCKET_BYTES) -> Layout:
    """The layout that packs ``tree``'s floating-point leaves, in leaf order, into flat buffers.

    A leaf with at least ``own_buffer_from`` elements gets a buffer of its own (then ``unflatten``
    is a reshape and its VJP too: no copy). Smaller leaves of one dtype are packed in order into
    buckets of at most ``bucket_bytes`` bytes, so an update over many small leaves runs a few
    fused loops instead of one per leaf. Buffers are named ``"float32"``, ``"float32.1"``, ...

    Raises:
      ValueError: ``tree`` has no leaves, or a leaf that is not a floating-point array (integer
        and boolean leaves have no gradient and do not belong in an optimizer's flat buffers), or
        ``own_buffer_from``/``bucket_bytes`` is not an int >= 1.
    """
    int_at_least(own_buffer_from, "own_buffer_from", 1)
    int_at_least(bucket_bytes, "bucket_bytes", 1)
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if not leaves:
        raise ValueError(f"params must have at least one array leaf, got {tree!r}")
    fill: dict[str, int] = {}
    count: dict[str, int] = {}  # buffers opened per dtype
    bucket: dict[str, str] = {}  # the open bucket per dtype
    slots = []
    for path, leaf in zip(_leaf_paths(tree), leaves):
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise ValueError(
                f"params{path} has dtype {dtype}; flat buffers hold floating-point leaves only"
            )
        shape = tuple(int(d) for d in np.shape(leaf))
        size = math.prod(shape)
        name = jnp.dtype(dtype).name
        key = bucket.get(name)
        fits = key is not None and (fill[key] + size) * dtype.itemsize <= bucket_bytes
        if size >= own_buffer_from or not fits:
            key = buffer_key(dtype, count.get(name, 0))
            count[name] = count.get(name, 0) + 1
            fill[key] = 0
            if size < own_buffer_from:
                bucket[name] = key
        slots.append(Slot(key=key, offset=fill[key], size=size, shape=shape))
        fill[key] += size
    return Layout(treedef=treedef, slots=tuple(slots), sizes=tuple(sorted(fill.items())))


def check_tree(tree: Any, layout: Layout, name: str = "tree") -> list[Any]:
    """The leaves of ``tree`` after checking its structure, shapes and dtypes against ``layout``.

    Raises:
      ValueError: naming ``name`` and the first leaf path that does not match.
    """
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if treedef != layout.treedef:
        raise ValueError(f"{name} has structure {treedef}, expected {layout.treedef}")
    for path, leaf, slot in zip(_leaf_paths(tree), leaves, layout.slots):
        shape, dtype = tuple(np.shape(leaf)), jnp.result_type(leaf)
        if shape != slot.shape or dtype != layout.dtype(slot.key):
            raise ValueError(
                f"{name}{path} has shape {shape} and dtype {dtype}, expected {slot.shape} and "
                f"{layout.dtype(slot.key)}"
            )
    return leaves


def is_flat(value: Any, layout: Layout) -> bool:
    """True when ``value`` is a dict of buffers shaped as ``layout`` describes."""
    if not isinstance(value, dict) or tuple(sorted(value)) != layout.keys:
        return False
    return all(
        np.shape(value[key]) == (size,) and jnp.result_type(value[key]) == layout.dtype(key)
        for key, size in layout.sizes
    )
