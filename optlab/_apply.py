"""Applying updates to parameters, strictly."""

from __future__ import annotations

from typing import Any

import jax

from . import _checks, _tree


def apply_updates(params: Any, updates: Any) -> Any:
    r"""``params + updates`` leaf by leaf, like ``optax.apply_updates`` but strict.

    The trees must match in structure and leaf shapes (a ``ValueError`` names the first path that
    differs; nothing is broadcast). The sum is computed in at least float32 and cast back to the
    parameter's dtype. Integer and boolean parameters are returned untouched, never truncated. A
    complex update for a real parameter is a ``ValueError`` naming the path (never a silently
    dropped imaginary part).

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> optlab.apply_updates({"w": jnp.ones(2), "n": jnp.array(3)}, {"w": jnp.ones(2), "n": jnp.array(5)})
      {'n': Array(3, dtype=int32, weak_type=True), 'w': Array([2., 2.], dtype=float32)}
    """
    _checks.tree_match(updates, params, name="updates", reference_name="params")
    _tree.check_real_for_real(updates, params, name="updates")
    return jax.tree_util.tree_map(
        lambda p, u: (_tree.upcast(p) + _tree.upcast(u)).astype(p.dtype) if _tree.is_inexact(p) else p,
        params,
        updates,
    )
