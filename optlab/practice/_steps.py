"""One loss call and one training step for both loss signatures ``fit`` accepts.

Models without state: ``loss_fn(params, x, y, rng) -> (loss, outputs)``. Models with a
non-parameter collection (BatchNorm's ``batch_stats``), selected by ``state.model_state is not
None``: ``loss_fn(params, x, y, rng, model_state) -> (loss, (outputs, new_model_state))``, where
``rng=None`` means evaluation (inference mode, ``model_state`` returned unchanged).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from ..train import DataChecks, check_model_data
from ..train import model_state_of as model_state_of
from ..train._batches import epoch_permutation


def checked_data(
    loss_fn: Any, params: Any, model_state: Any, x: Any, y: Any, name: str, num_classes: int | None = None,
) -> tuple[jax.Array, jax.Array]:
    """``(x, y)`` validated under ``name`` as ``fit`` does it (:func:`optlab.train.check_model_data`)."""
    return check_model_data(loss_fn, params, model_state, (x, y), name, DataChecks(num_classes=num_classes))


def call_loss(loss_fn: Any, params: Any, x: jax.Array, y: jax.Array, rng: Any, model_state: Any) -> tuple:
    """``(loss, outputs, new_model_state)`` of either signature (``new_model_state`` None without state)."""
    if model_state is None:
        loss, outputs = loss_fn(params, x, y, rng)
        return loss, outputs, None
    loss, (outputs, new_model_state) = loss_fn(params, x, y, rng, model_state)
    return loss, outputs, new_model_state


def gradient_step(state: Any, loss_fn: Any, x: jax.Array, y: jax.Array, rng: jax.Array) -> tuple[Any, jax.Array]:
    """``(new_state, loss)``: the loss on ``(x, y)`` in training mode, then one optimizer step.

    ``loss`` is measured before the update (the loss the step saw). With a model state, the new
    batch statistics are stored in the new state.
    """
    model_state = model_state_of(state)
    if model_state is None:
        (loss, _), grads = state.value_and_grad(loss_fn, x, y, rng, has_aux=True)
        return state.apply_gradients(grads=grads), loss
    (loss, (_, new_model_state)), grads = state.value_and_grad(loss_fn, x, y, rng, model_state, has_aux=True)
    return state.apply_gradients(grads=grads, model_state=new_model_state), loss


def batch_schedule(seed: int, n: int, batch_size: int):
    """Yield ``(permutation, index)`` for steps 0, 1, ...: epochs of ``n // batch_size`` full
    batches, each epoch a fresh permutation of the ``n`` examples (``fit``'s data order for ``seed``).

    Feed them to :func:`optlab.train._batches.take_batch` inside the jitted step.
    """
    key = jax.random.key(seed)
    per_epoch = n // batch_size
    epoch = 0
    while True:
        epoch += 1
        permutation = epoch_permutation(key, epoch, n)
        for index in range(per_epoch):
            yield permutation, np.int32(index)
