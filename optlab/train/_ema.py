"""Polyak (exponential moving) averaging of parameters.

The lecture's test-time weights ``w_test <- 0.95 * w_test + 0.05 * w`` (Polyak & Juditsky 1992,
"Acceleration of stochastic approximation by averaging", in its exponential form).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def check_ema_decay(ema_decay: Any) -> float | None:
    """Validate ``ema_decay``: ``None`` (no averaging) or a float in ``[0, 1)``."""
    if ema_decay is None:
        return None
    if isinstance(ema_decay, bool) or not isinstance(ema_decay, (int, float)):
        raise ValueError(f"ema_decay must be None or a float in [0, 1), got {ema_decay!r}")
    if not 0.0 <= float(ema_decay) < 1.0:
        raise ValueError(f"ema_decay must be None or a float in [0, 1), got {ema_decay!r}")
    return float(ema_decay)


def ema_decay_at(decay: float, step: jax.Array, warmup: bool) -> jax.Array:
    """The decay used for the update that follows ``step`` earlier updates.

    Without warm-up it is the constant ``decay``. With warm-up it is
    ``d_t = min(decay, (1 + t) / (10 + t))`` (the TensorFlow ``ExponentialMovingAverage`` rule with
    ``num_updates = t``), so the average forgets the initialization quickly: ``d_0 = 0.1``.
    """
    d = jnp.asarray(decay, jnp.float32)
    if not warmup:
        return d
    t = jnp.asarray(step, jnp.float32)
    return jnp.minimum(d, (1.0 + t) / (10.0 + t))


def _average(ema: jax.Array, new: jax.Array, d: jax.Array) -> jax.Array:
    ema = jnp.asarray(ema)
    if not jnp.issubdtype(ema.dtype, jnp.inexact):
        return jnp.asarray(new)  # integer / bool leaves are copied, never averaged
    d = d.astype(ema.dtype)
    return d * ema + (1 - d) * jnp.asarray(new).astype(ema.dtype)


def ema_update(ema_params: Any, params: Any, decay: float, step: jax.Array, warmup: bool = False) -> Any:
    """``ema <- d * ema + (1 - d) * params`` leafwise, with ``d = ema_decay_at(decay, step, warmup)``.

    ``step`` is the number of updates applied before this one. Integer and bool leaves take the
    value of ``params`` (copied, never averaged). The dtype of each EMA leaf is kept.
    """
    d = ema_decay_at(decay, step, warmup)
    return jax.tree.map(lambda e, p: _average(e, p, d), ema_params, params)


def ema_init(params: Any) -> Any:
    """A fresh copy of ``params`` (new buffers, so donating ``params`` never frees the average)."""
    return jax.tree.map(lambda p: jnp.array(p, copy=True), params)
