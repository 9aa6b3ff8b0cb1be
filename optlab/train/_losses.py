"""Ready-made loss and metric functions for classifiers, in the form ``fit`` expects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax


def accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Fraction of rows whose arg-max equals the integer label (a float32 scalar)."""
    return jnp.mean((jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32))


def classifier_loss(apply_fn: Callable[..., jax.Array]) -> Callable[..., Any]:
    """``loss_fn(params, x, y, rng) -> (mean cross-entropy, logits)`` for a linen classifier.

    ``logits = apply_fn({"params": params}, x)``; ``y`` holds integer labels. ``rng`` is unused
    (models with dropout write their own loss function; ``rng`` is ``None`` during evaluation).
    """

    def loss_fn(params: Any, x: jax.Array, y: jax.Array, rng: jax.Array | None) -> Any:
        del rng
        logits = apply_fn({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits

    return loss_fn
