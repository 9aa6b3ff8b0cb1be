"""Stochastic weight averaging: an equal-weight running mean of the weights from a start step.

Izmailov, Podoprikhin, Garipov, Vetrov & Wilson 2018, "Averaging Weights Leads to Wider Optima and
Better Generalization". After the update that brings the step count to ``s``, the new weights ``w``
are averaged in when ``s >= swa_start`` and ``(s - swa_start) % swa_every == 0``:

    w_swa <- (n * w_swa + w) / (n + 1),    n <- n + 1,

so after ``n`` samples ``w_swa`` is the arithmetic mean of the sampled weights (the first sample
replaces the initial copy). Unlike the exponential (Polyak) average of :mod:`optlab.train._ema`,
every sample has the same weight. Branch-free (``jnp.where``), so it runs under ``jit``/``vmap``;
integer and bool leaves take the new value (copied, never averaged). Models with BatchNorm need
statistics recomputed for ``w_swa`` (:func:`optlab.train.recalibrate_batch_stats`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import int_at_least
from ._batch_stats import recalibrate_batch_stats


def check_swa_args(swa_start: Any, swa_every: Any) -> tuple[int | None, int]:
    """Validate ``swa_start`` (``None`` = no SWA, else an int >= 0) and ``swa_every`` (an int >= 1).

    Raises:
      ValueError: naming ``swa_start`` or ``swa_every`` and the value.
    """
    swa_every = int_at_least(swa_every, "swa_every", 1)
    if swa_start is None:
        return None, swa_every
    return int_at_least(swa_start, "swa_start", 0), swa_every


def swa_due(step: jax.Array, swa_start: int, swa_every: int) -> jax.Array:
    """Whether the weights after update number ``step`` (1-based) are a sample (a bool scalar)."""
    step = jnp.asarray(step, jnp.int32)
    return (step >= swa_start) & ((step - swa_start) % swa_every == 0)


def _mean_in(avg: jax.Array, new: jax.Array, n: jax.Array, take: jax.Array) -> jax.Array:
    avg = jnp.asarray(avg)
    if not jnp.issubdtype(avg.dtype, jnp.inexact):
        return jnp.asarray(new)  # integer / bool leaves are copied, never averaged
    compute = jnp.promote_types(avg.dtype, jnp.float32)
    count = n.astype(compute)
    mean = (count * avg.astype(compute) + jnp.asarray(new).astype(compute)) / (count + 1)
    return jnp.where(take, mean.astype(avg.dtype), avg)


def swa_update(
    swa_params: Any, count: jax.Array, params: Any, step: jax.Array, swa_start: int, swa_every: int,
) -> tuple[Any, jax.Array]:
    """``(w_swa, n)`` after update number ``step`` (the new step count) produced ``params``.

    When :func:`swa_due`: ``w_swa <- (n w_swa + w) / (n + 1)`` leafwise (in at least float32, cast
    back to each leaf's dtype) and ``n <- n + 1``; otherwise both unchanged.
    """
    take = swa_due(step, swa_start, swa_every)
    averaged = jax.tree.map(lambda a, p: _mean_in(a, p, count, take), swa_params, params)
    return averaged, count + take.astype(count.dtype)


def swa_step(state: Any, params: Any, swa_params: Any) -> tuple[Any, Any]:
    """The SWA fields after one optimizer step of ``state`` produced ``params``: ``(swa_params,
    swa_count)``, unchanged (``None``) when ``state.swa_start is None``.

    Shared by :class:`optlab.train.TrainState` and ``FlatTrainState`` (which passes flat buffers).
    """
    if state.swa_start is None:
        return swa_params, state.swa_count
    return swa_update(swa_params, state.swa_count, params, state.step + 1, state.swa_start, state.swa_every)


def swa_validation(
    state: Any, evaluate: Callable[[Any, Any], dict[str, float]], x: Any, *, batch_size: int, recalibrate: bool = True,
) -> dict[str, float]:
    """``fit``'s ``val_swa_*`` columns: ``evaluate(swa_params, model_state)`` renamed ``val_swa_<name>``.

    With a model state (BatchNorm) and ``recalibrate``, the statistics are recomputed for the SWA
    weights on ``x`` (:func:`optlab.train.recalibrate_batch_stats`). Before the first sample the
    values are NaN (the average is still the initial copy); ``{}`` for a state without SWA.
    """
    swa = getattr(state, "swa_params", None)
    if swa is None:
        return {}
    model_state = getattr(state, "model_state", None)
    sampled = int(state.swa_count) > 0
    if model_state is not None and recalibrate and sampled:
        model_state = recalibrate_batch_stats(state.apply_fn, swa, model_state, x, batch_size=batch_size)
    return {f"val_swa_{name}": (value if sampled else math.nan) for name, value in evaluate(swa, model_state).items()}
