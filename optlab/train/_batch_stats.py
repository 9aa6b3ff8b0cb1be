"""BatchNorm statistics that fit averaged weights: one pass with an equal-weight average.

Weights averaged over time (EMA/Polyak, SWA, snapshot averages) were never run through the network
as such, so the running statistics collected while training describe other weights. The fix
(Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better Generalization") is one
pass over training inputs in training mode that recomputes them. torch's
``swa_utils.update_bn`` does this by setting each BatchNorm's momentum to ``None``; it misses
modules whose momentum is 0 or stats that were never reset. Here nothing about the model is
assumed but that each model-state leaf is updated by a running average
``s <- m * s + (1 - m) * b`` (BatchNorm's ``mean`` and ``var``; ``m`` is read off the model, per
leaf), so the batch value ``b`` is recovered exactly and averaged with equal weight per batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import int_at_least

__all__ = ["recalibrate_batch_stats"]


def _momentum(on_ones: jax.Array, on_zeros: jax.Array) -> jax.Array:
    """The running-average momentum ``m`` of one leaf from runs started at 1 and at 0 (same batch).

    ``(m * 1 + (1 - m) b) - (m * 0 + (1 - m) b) = m`` elementwise; ``m`` is one number per leaf,
    so the elementwise estimates are averaged to remove their rounding.
    """
    return jnp.mean((on_ones - on_zeros).astype(jnp.float32))


@functools.partial(jax.jit, static_argnames=("apply_fn", "collections"))
def _batch_statistics(
    apply_fn: Callable[..., Any], collections: tuple[str, ...], params: Any, model_state: Any, xb: jax.Array,
) -> tuple[Any, Any]:
    """Each leaf's statistic on the batch ``xb`` and its momentum (one compile per model and shape)."""

    def run(start: Any) -> Any:
        _, new = apply_fn({"params": params, **start}, xb, train=True, mutable=list(collections))
        return dict(new)

    ones = run(jax.tree.map(jnp.ones_like, model_state))
    zeros = run(jax.tree.map(jnp.zeros_like, model_state))
    momentum = jax.tree.map(_momentum, ones, zeros)
    return jax.tree.map(lambda z, m: z / (1 - m).astype(z.dtype), zeros, momentum), momentum


def recalibrate_batch_stats(
    apply_fn: Callable[..., Any], params: Any, model_state: dict[str, Any], x: Any, *, batch_size: int,
) -> dict[str, Any]:
    """``model_state`` recomputed for ``params``: the equal-weight mean of each batch's statistics.

    For batches ``B_1..B_K`` of ``x`` (in order; the last may be smaller), with ``b_k`` the batch
    statistic a BatchNorm computes in training mode on ``B_k`` (mean, biased variance),
    returns ``(1/K) * sum_k b_k`` for every leaf — the cumulative average torch's ``update_bn``
    aims for. ``apply_fn`` is a linen ``Module.apply``, called as
    ``apply_fn({"params": params, **state}, xb, train=True, mutable=list(model_state))``. Leaves
    whose momentum is 1 (never updated) keep their value. Used by ``fit`` to evaluate EMA weights.

    Raises:
      ValueError: ``model_state`` is not a non-empty mapping of collections, ``x`` is empty, or
        ``batch_size`` is not a positive int.
    """
    batch_size = int_at_least(batch_size, "batch_size", 1)
    if not isinstance(model_state, dict) or not model_state:
        raise ValueError(f"model_state must be a non-empty dict of collections, got {model_state!r}")
    x = jnp.asarray(x)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"x must hold at least one example, got shape {x.shape}")
    collections = tuple(model_state)
    total, count, momentum = None, 0, None
    for start in range(0, x.shape[0], batch_size):
        stats, momentum = _batch_statistics(apply_fn, collections, params, model_state, x[start : start + batch_size])
        total = stats if total is None else jax.tree.map(jnp.add, total, stats)
        count += 1
    still = jax.tree.map(lambda m: bool(np.isclose(float(m), 1.0)), momentum)
    return jax.tree.map(
        lambda old, s, frozen: old if frozen else (s / count).astype(old.dtype), model_state, total, still
    )
