"""Learning-rate scaling: the last link of every optlab optimizer."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import _checks, _tree


class LearningRateState(NamedTuple):
    """State of :func:`scale_by_learning_rate` with a constant learning rate.

    Attributes:
      count: int32 number of updates made so far.
      learning_rate: the learning rate as an array (float32, float64 under x64). It is read by
        every update, so :func:`optlab.set_learning_rate` changes it without recompiling.
    """

    count: jax.Array
    learning_rate: jax.Array


class ScheduledLearningRateState(NamedTuple):
    """State of :func:`scale_by_learning_rate` with a schedule.

    Attributes:
      count: int32 number of updates made so far; the next update uses ``schedule(count)``.
      learning_rate: the learning rate the last update used (``schedule(0)`` before the first).
    """

    count: jax.Array
    learning_rate: jax.Array


def scale_by_learning_rate(learning_rate: Any) -> optax.GradientTransformation:
    r"""Multiply updates by ``-learning_rate``: :math:`u \leftarrow -\eta_t\, u`.

    ``learning_rate`` is a scalar ``>= 0`` or a schedule ``step -> value`` (see
    :mod:`optlab.schedules`), evaluated at the number of updates made so far, as in
    ``torch.optim.lr_scheduler`` and optax. The value used is kept in the state, so
    :func:`optlab.current_learning_rate` reads it and, for a constant, :func:`optlab.set_learning_rate`
    replaces it between steps without recompiling. Arithmetic runs in at least float32; the update
    keeps the gradient's dtype. Integer/bool leaves are passed through untouched.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.scale_by_learning_rate(0.1)
      >>> u, s = tx.update({"w": jnp.array([1.0, -2.0])}, tx.init({"w": jnp.zeros(2)}))
      >>> u["w"]
      Array([-0.1,  0.2], dtype=float32)

    Raises:
      ValueError: ``learning_rate`` is negative, NaN, infinite, None or not a scalar.
    """
    learning_rate = _checks.learning_rate(learning_rate)
    scheduled = callable(learning_rate)

    def current(count):
        value = learning_rate(count) if scheduled else learning_rate
        return jnp.asarray(value, dtype=_tree.state_float_dtype())

    def init_fn(params):
        del params
        count = jnp.zeros([], jnp.int32)
        state_type = ScheduledLearningRateState if scheduled else LearningRateState
        return state_type(count=count, learning_rate=current(count))

    def update_fn(updates, state, params=None):
        _tree.check_updates(updates, params)
        lr = current(state.count) if scheduled else state.learning_rate
        updates = _tree.map_inexact(lambda g: (-lr * _tree.upcast(g)).astype(g.dtype), updates)
        return updates, type(state)(count=_tree.safe_increment(state.count), learning_rate=lr)

    return optax.GradientTransformation(init_fn, update_fn)
