"""Can the model overfit a tiny subset? (the lecture's "ensure the basic things are in place")."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import numpy as np

from .._checks import int_at_least, non_negative_int, positive
from ..train import own_copy
from ..train._batches import take_batch
from ._steps import batch_schedule, checked_data, gradient_step, model_state_of

# The loss counts as "barely moved" when the last pass ends above this fraction of the first.
BARELY_MOVED = 0.9


class OverfitResult(NamedTuple):
    """What :func:`overfit_subset` found.

    Attributes:
      losses: the training loss of every step run (before its update), float64.
      final_loss: mean of the losses of the last pass over the subset (``n // batch_size`` steps).
      passed: ``final_loss <= target_loss``.
      steps_run: steps taken (fewer than ``steps`` when the target was reached or the loss blew up).
      message: one line; when failed it names the likely cause.
    """

    losses: np.ndarray
    final_loss: float
    passed: bool
    steps_run: int
    message: str


@functools.partial(jax.jit, static_argnames=("loss_fn", "batch_size"), donate_argnums=0)
def _step(state, data, permutation, index, key, count, *, loss_fn, batch_size):
    x, y = take_batch(data, permutation, index, batch_size)
    return gradient_step(state, loss_fn, x, y, jax.random.fold_in(key, count))


def _message(losses: list[float], final: float, target: float, passed: bool, n: int) -> str:
    steps = len(losses)
    if passed:
        return f"memorized {n} examples: loss {final:.4g} <= {target:g} after {steps} steps"
    if not math.isfinite(losses[-1]):
        return (
            f"failed: the loss became {losses[-1]} at step {steps}: the learning rate is too high, or "
            "the model or loss produces NaN/inf"
        )
    first = losses[0]
    if final > BARELY_MOVED * first:
        return (
            f"failed: the loss barely moved ({first:.4g} -> {final:.4g}, target {target:g}) in {steps} "
            "steps: a learning rate of 0 or far too small, gradients that never reach the parameters "
            "(stop_gradient, frozen layers), or labels that do not belong to their inputs (shuffled "
            "or misaligned)"
        )
    return (
        f"failed: the loss fell ({first:.4g} -> {final:.4g}) but not to {target:g} in {steps} steps: "
        "train longer or with a larger learning rate, use a larger model, and switch off noise "
        "(dropout, augmentation) for this check"
    )


def overfit_subset(
    state: Any,
    loss_fn: Any,
    x: Any,
    y: Any,
    *,
    steps: int = 200,
    batch_size: int | None = None,
    target_loss: float = 0.05,
    seed: int = 0,
) -> OverfitResult:
    """Train a copy of ``state`` on the tiny subset ``(x, y)`` until its loss is ~0.

    A correct pipeline (model, loss, labels, optimizer) memorizes a few dozen examples within a
    few hundred steps; if it cannot, something basic is broken (Karpathy, "A Recipe for Training
    Neural Networks", 2019: "overfit one batch"). Each step takes a batch of ``batch_size``
    examples (default: the whole subset) in a fresh random order per pass, ``fit``'s data order for
    ``seed``, and a fresh ``rng`` for ``loss_fn`` (``fit``'s signature; with ``state.model_state``
    the five-argument form). The run stops as soon as the mean loss over the last pass is
    ``<= target_loss`` (``passed``), or when the loss is not finite.

    The caller's ``state`` is never touched: a copy is trained (with donation), so its arrays stay
    valid whether this returns or raises. Nothing is written to disk.

    Example:
      >>> import jax.numpy as jnp, optax, optlab
      >>> from optlab.train import TrainState
      >>> def loss_fn(w, x, y, rng):
      ...     logits = x @ w
      ...     return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits
      >>> state = TrainState.create(apply_fn=None, params=jnp.zeros((4, 4)), tx=optlab.sgd(10.0))
      >>> overfit_subset(state, loss_fn, jnp.eye(4), jnp.arange(4)).message
      'memorized 4 examples: loss 0.0447 <= 0.05 after 7 steps'

    Raises:
      ValueError: ``steps < 1``, ``batch_size`` not in ``[1, len(x)]``, ``target_loss <= 0``,
        a negative ``seed``, or bad ``x``/``y`` (named).
    """
    steps = int_at_least(steps, "steps", 1)
    target_loss = float(positive(target_loss, "target_loss"))
    seed = non_negative_int(seed, "seed")
    x, y = checked_data(loss_fn, state.params, model_state_of(state), x, y, "overfit_subset data (x, y)")
    n = int(x.shape[0])
    batch_size = n if batch_size is None else int_at_least(batch_size, "batch_size", 1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= the subset size {n}, got {batch_size}")
    window = n // batch_size
    step = functools.partial(_step, loss_fn=loss_fn, batch_size=batch_size)
    key = jax.random.fold_in(jax.random.key(seed), 1)
    trained = own_copy(state)
    losses: list[float] = []
    final = math.inf
    for count, (permutation, index) in zip(range(steps), batch_schedule(seed, n, batch_size)):
        trained, loss = step(trained, (x, y), permutation, index, key, np.int32(count))
        losses.append(float(loss))
        if not math.isfinite(losses[-1]):
            final = losses[-1]
            break
        final = float(np.mean(losses[-window:]))
        if len(losses) >= window and final <= target_loss:
            break
    passed = bool(final <= target_loss)
    return OverfitResult(
        losses=np.asarray(losses, np.float64), final_loss=final, passed=passed, steps_run=len(losses),
        message=_message(losses, final, target_loss, passed, n),
    )
