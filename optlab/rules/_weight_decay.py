"""Decoupled weight decay (Loshchilov & Hutter, 2019)."""

from __future__ import annotations

from typing import Any, Callable, Union

import jax
import optax

from .. import _checks, _tree

Mask = Union[None, Any, Callable[[Any], Any]]


def _resolve_mask(mask: Mask, params: Any) -> Any:
    if mask is None:
        return jax.tree_util.tree_map(lambda _: True, params)
    tree = mask(params) if callable(mask) else mask
    _checks.tree_match(tree, params, name="mask", reference_name="params", shapes=False)
    for leaf in jax.tree_util.tree_leaves(tree):
        if not isinstance(leaf, bool):
            raise ValueError(f"mask leaves must be Python bools, got {leaf!r}")
    return tree


def add_decayed_weights(weight_decay: float, mask: Mask = None) -> optax.GradientTransformation:
    r"""Add :math:`\lambda w` to the update: :math:`u \leftarrow u + \lambda\, w`.

    Placed before :func:`scale_by_learning_rate` it gives decoupled weight decay
    :math:`w \leftarrow w - \eta (u + \lambda w)` (AdamW). ``mask`` is a tree of Python bools with
    the params' structure, or a callable ``params -> mask``; leaves marked ``False`` are not decayed.
    Integer/bool leaves are never decayed. ``params`` must be passed to ``update``.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.add_decayed_weights(0.1)
      >>> p = {"w": jnp.array([2.0])}
      >>> u, _ = tx.update({"w": jnp.array([1.0])}, tx.init(p), p)
      >>> u["w"]
      Array([1.2], dtype=float32)

    Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.

    Raises:
      ValueError: ``weight_decay`` negative or not finite; at update time, ``params`` missing or a
        mask that does not match the params.
    """
    _checks.non_negative(weight_decay, "weight_decay")

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights needs params: call update(grads, state, params)")
        _tree.check_updates(updates, params)
        decay = _resolve_mask(mask, params)

        def leaf(u, p, on):
            if not on:
                return u
            return (_tree.upcast(u) + weight_decay * _tree.upcast(p)).astype(u.dtype)

        return _tree.map_inexact(leaf, updates, params, decay), state

    return optax.GradientTransformation(init_fn, update_fn)
