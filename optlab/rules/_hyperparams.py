"""Reading and changing the learning rate held in an optimizer state."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _checks, _tree
from ._learning_rate import LearningRateState, ScheduledLearningRateState

_LR_STATES = (LearningRateState, ScheduledLearningRateState)


def _is_lr_state(node: Any) -> bool:
    return isinstance(node, _LR_STATES)


def _find_lr_states(opt_state: Any) -> list:
    nodes = jax.tree_util.tree_leaves(opt_state, is_leaf=_is_lr_state)
    found = [node for node in nodes if _is_lr_state(node)]
    if len(found) != 1:
        raise ValueError(
            "opt_state must hold exactly one learning-rate state (from "
            f"optlab.scale_by_learning_rate), found {len(found)}"
        )
    return found


def current_learning_rate(opt_state: Any) -> jax.Array:
    """The learning rate the last update used (before any update: the one the first will use).

    Works on the state of every optlab optimizer, also nested inside ``optax.chain`` or a flax
    ``TrainState``, and inside ``jit``.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.sgd(optlab.schedules.step(0.1, every=2, factor=0.5))
      >>> params = {"w": jnp.ones(2)}
      >>> state = tx.init(params)
      >>> for _ in range(3):
      ...     _, state = tx.update(params, state, params)
      >>> round(float(optlab.current_learning_rate(state)), 6)  # schedule(2)
      0.05
    """
    return _find_lr_states(opt_state)[0].learning_rate


def set_learning_rate(opt_state: Any, learning_rate: Any) -> Any:
    """Return ``opt_state`` with a new constant learning rate; the jitted step does not recompile.

    The new value is stored as an array of the same dtype and shape, so a jitted update that takes
    the state as an argument sees a new value, not a new program.

    Raises:
      ValueError: ``learning_rate`` is invalid, or the optimizer follows a schedule (change the
        schedule instead).

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.momentum(0.1)
      >>> state = optlab.set_learning_rate(tx.init({"w": jnp.ones(2)}), 0.01)
      >>> round(float(optlab.current_learning_rate(state)), 6)
      0.01
    """
    (old,) = _find_lr_states(opt_state)
    if isinstance(old, ScheduledLearningRateState):
        raise ValueError(
            "set_learning_rate: this optimizer follows a schedule; its learning rate is "
            "schedule(step). Build the optimizer with a constant learning_rate to set it."
        )
    if not isinstance(learning_rate, jax.core.Tracer):
        _checks.non_negative(learning_rate, "learning_rate")
    new = old._replace(learning_rate=jnp.asarray(learning_rate, dtype=_tree.state_float_dtype()))
    return jax.tree_util.tree_map(
        lambda node: new if node is old else node, opt_state, is_leaf=_is_lr_state
    )
