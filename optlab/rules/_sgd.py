"""Plain stochastic gradient descent."""

from __future__ import annotations

from typing import Any

import optax

from ._learning_rate import scale_by_learning_rate


def sgd(learning_rate: Any) -> optax.GradientTransformation:
    r"""Stochastic gradient descent: :math:`w_{t+1} = w_t - \eta_t\, g_t`.

    ``learning_rate`` is a scalar ``>= 0`` or a schedule. The state is a one-element tuple holding
    the :class:`~optlab.LearningRateState`.

    Example:
      >>> import jax.numpy as jnp, optax, optlab
      >>> params = {"w": jnp.array([1.0, 2.0])}
      >>> tx = optlab.sgd(0.5)
      >>> updates, state = tx.update({"w": jnp.array([1.0, 1.0])}, tx.init(params), params)
      >>> optax.apply_updates(params, updates)["w"]
      Array([0.5, 1.5], dtype=float32)

    Reference: Robbins & Monro, "A Stochastic Approximation Method", 1951.
    """
    return optax.chain(scale_by_learning_rate(learning_rate))
