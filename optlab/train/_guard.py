"""Skip optimizer steps with non-finite loss or gradients, branch-free, and count them."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from .._checks import int_at_least


class NonFiniteError(FloatingPointError):
    """Raised by ``fit`` after ``max_nonfinite_steps`` steps in a row had a non-finite loss/gradient."""


def all_finite(*trees: Any) -> jax.Array:
    """``True`` iff every inexact leaf of every tree is finite (a bool scalar)."""
    flags = [
        jnp.all(jnp.isfinite(leaf))
        for tree in trees
        for leaf in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)
    ]
    return jnp.stack(flags).all() if flags else jnp.asarray(True)


def select_tree(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Leafwise ``jnp.where(pred, on_true, on_false)``: bit-exact choice between two trees."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


class NonFiniteGuard(struct.PyTreeNode):
    """Counters: ``steps`` seen, ``skipped`` in total, ``streak`` in a row, and ``tripped_at``.

    ``tripped_at`` is the (0-based) step at which the streak first reached ``limit`` (``-1``
    while it has not), so the host can check it lazily without losing the event.
    """

    limit: int = struct.field(pytree_node=False, default=10)
    steps: jax.Array = None
    skipped: jax.Array = None
    streak: jax.Array = None
    tripped_at: jax.Array = None

    def __post_init__(self) -> None:
        int_at_least(self.limit, "max_nonfinite_steps", 1)
        for name, value in (("steps", 0), ("skipped", 0), ("streak", 0), ("tripped_at", -1)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, jnp.asarray(value, jnp.int32))

    def update(self, finite: jax.Array) -> NonFiniteGuard:
        """Record one step; ``finite`` says whether it was applied."""
        streak = jnp.where(finite, 0, self.streak + 1).astype(jnp.int32)
        trips = (self.tripped_at < 0) & (streak >= self.limit)
        return self.replace(
            steps=self.steps + 1,
            skipped=self.skipped + (~finite).astype(jnp.int32),
            streak=streak,
            tripped_at=jnp.where(trips, self.steps, self.tripped_at),
        )
