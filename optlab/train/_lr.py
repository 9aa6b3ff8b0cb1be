"""Read the learning rate out of any optimizer state, for logging."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

import optlab

_INJECTED = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def _is_lr_node(node: Any) -> bool:
    return isinstance(node, (optlab.LearningRateState, optlab.ScheduledLearningRateState, *_INJECTED))


def learning_rate_of(opt_state: Any) -> jax.Array | None:
    """The current learning rate held in ``opt_state``, or ``None`` if it holds none.

    Uses :func:`optlab.current_learning_rate` for optlab optimizers and the ``learning_rate``
    hyperparameter of ``optax.inject_hyperparams`` states; other states (e.g. a plain
    ``optax.adam(1e-3)``) keep no learning rate, so nothing can be logged. Structural, so it is
    decided at trace time and is free inside ``jit``.
    """
    nodes = [n for n in jax.tree_util.tree_leaves(opt_state, is_leaf=_is_lr_node) if _is_lr_node(n)]
    optlab_nodes = [n for n in nodes if not isinstance(n, _INJECTED)]
    if len(optlab_nodes) == 1:
        return jnp.asarray(optlab.current_learning_rate(opt_state), jnp.float32)
    injected = [n for n in nodes if "learning_rate" in getattr(n, "hyperparams", {})]
    if len(injected) == 1 and not optlab_nodes:
        return jnp.asarray(injected[0].hyperparams["learning_rate"], jnp.float32)
    return None
