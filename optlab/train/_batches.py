"""Data order as a pure function of (key, epoch), and batches gathered on the device."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def epoch_key(base_key: jax.Array, epoch: int, stream: int) -> jax.Array:
    """``fold_in(fold_in(base_key, stream), epoch)``: stream 0 shuffles, stream 1 feeds the model."""
    return jax.random.fold_in(jax.random.fold_in(base_key, stream), epoch)


def epoch_permutation(base_key: jax.Array, epoch: int, n: int) -> jax.Array:
    """The order of the ``n`` training examples in ``epoch``: depends on nothing else, so a
    resumed run sees exactly the batches an uninterrupted one would."""
    return jax.random.permutation(epoch_key(base_key, epoch, 0), n)


def take_batch(data: Any, permutation: jax.Array, index: jax.Array, batch_size: int) -> Any:
    """Batch ``index`` of an epoch: rows ``permutation[index*b : (index+1)*b]`` of every array."""
    rows = jax.lax.dynamic_slice_in_dim(permutation, index * batch_size, batch_size)
    return jax.tree.map(lambda a: jnp.take(a, rows, axis=0), data)
