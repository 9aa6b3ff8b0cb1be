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


def classifier_loss(apply_fn: Callable[..., Any]) -> Callable[..., Any]:
    """The mean softmax cross-entropy of a linen classifier, in both of ``fit``'s loss forms.

    ``loss_fn(params, x, y, rng) -> (loss, logits)`` with ``logits = apply_fn({"params": params}, x)``
    for a model without state; ``loss_fn(params, x, y, rng, model_state) -> (loss, (logits,
    new_model_state))`` for a model with non-parameter collections (BatchNorm's ``batch_stats``):
    in training (``rng`` a key) ``apply_fn({"params": params, **model_state}, x, train=True,
    mutable=[...collections])``, in evaluation (``rng is None``) ``train=False`` and the
    ``model_state`` is returned unchanged. ``rng`` is otherwise unused (models with dropout write
    their own loss function).

    Expects: ``x`` what the model takes; ``y`` integer class labels of shape ``(N,)`` in
    ``[0, C)`` with ``C = logits.shape[-1]``. The returned function carries
    ``class_labels = True``, so ``fit`` (and the other entry points) check the labels before
    training: integer dtype, one-dimensional, in ``[0, C)``.
    """

    def loss_fn(params: Any, x: jax.Array, y: jax.Array, rng: jax.Array | None, model_state: Any = None) -> Any:
        if model_state is None:
            logits = apply_fn({"params": params}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits
        variables = {"params": params, **model_state}
        if rng is None:
            logits, new_state = apply_fn(variables, x, train=False), model_state
        else:
            logits, updated = apply_fn(variables, x, train=True, mutable=list(model_state))
            new_state = dict(updated)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), (logits, new_state)

    loss_fn.class_labels = True
    return loss_fn
