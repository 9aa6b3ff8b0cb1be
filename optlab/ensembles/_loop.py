"""The members' training loop: one jitted, vmapped step over ``K`` stacked training states.

Member ``k`` is trained exactly as ``optlab.train.fit(state_k, ..., seed=seeds[k])`` would train
it (same data order ``permutation(fold_in(fold_in(key(seed), 0), epoch))``, same per-step model
key, same skip of non-finite steps, same per-epoch validation), but all ``K`` members advance in
one XLA program per step (``jax.vmap`` over the stacked states and their permutations): one
compile, one dispatch per step, and the batched convolutions XLA:CPU runs faster than ``K`` small
ones. Results agree with ``fit`` run member by member to float rounding (vmapped kernels may sum in
another order).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from optlab.train import EarlyStopping, NonFiniteError, model_state_of, recalibrate_batch_stats
from optlab.train._batches import epoch_key, epoch_permutation
from optlab.train._ema import ema_init
from optlab.train._fit import evaluation_step, training_step
from optlab.train._guard import NonFiniteGuard

from ._members import unstack_tree


class LoopResult(NamedTuple):
    """What :func:`train_members` returns (leaves of ``state`` and ``tracker`` stacked on axis 0)."""

    state: Any
    tracker: EarlyStopping
    histories: list[dict[str, list]]
    seconds: float
    epoch_seconds: list[float]


@jax.jit
@jax.vmap
def _update_trackers(tracker: EarlyStopping, value: jax.Array, snapshot: Any) -> EarlyStopping:
    """Each member's ``EarlyStopping.update`` (module level: compiled once per shape, not per call)."""
    return tracker.update(value, snapshot)


def _broadcast(tree: Any, k: int) -> Any:
    return jax.tree.map(lambda a: jnp.broadcast_to(jnp.asarray(a), (k, *jnp.shape(a))), tree)


@functools.lru_cache(maxsize=8)
def _make_step(loss_fn: Callable, metrics: tuple[tuple[str, Callable], ...], batch_size: int) -> Callable:
    """The jitted, vmapped step; cached, so a second ensemble with the same loss, metrics, batch size
    and (identical) static state fields reuses the compiled program."""
    metrics = dict(metrics)

    def member_step(carry, data, permutation, index, key):
        state, guard, out = training_step(loss_fn, metrics, batch_size, *carry, data, permutation, index, key)
        return (state, guard), out

    return jax.jit(jax.vmap(member_step, in_axes=(0, None, 0, None, 0)), donate_argnums=0)


@functools.lru_cache(maxsize=8)
def _make_eval(loss_fn: Callable, metrics: tuple[tuple[str, Callable], ...]) -> Callable:
    evaluate = functools.partial(evaluation_step, loss_fn, dict(metrics))
    return jax.jit(jax.vmap(evaluate, in_axes=(0, 0, None, None)))


def _evaluate(evaluate: Callable, params: Any, model_state: Any, batches: Sequence) -> dict[str, np.ndarray]:
    """Per member, the example-weighted mean of the batch means (float64 on the host)."""
    outs = jax.device_get([evaluate(params, model_state, xb, yb) for xb, yb in batches])
    sizes = np.array([xb.shape[0] for xb, _ in batches], np.float64)
    return {name: sum(n * np.asarray(o[name], np.float64) for n, o in zip(sizes, outs)) / sizes.sum() for name in outs[0]}


def _ema_model_state(state: Any, x: jax.Array, k: int, batch_size: int) -> Any:
    """BatchNorm statistics recomputed for each member's EMA weights (``None`` without model state)."""
    if model_state_of(state) is None:
        return None
    per_member = [
        recalibrate_batch_stats(
            state.apply_fn, unstack_tree(state.ema_params, i), unstack_tree(model_state_of(state), i), x,
            batch_size=batch_size,
        )
        for i in range(k)
    ]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *per_member)


def resolve_monitor(monitor: str | None, monitor_mode: str, metrics: Mapping, has_val: bool, has_ema: bool) -> str:
    """The monitored history column (default ``val_loss``, or ``train_loss`` without validation)."""
    keys = ["loss", *metrics]
    choices = [f"train_{k}" for k in keys]
    if has_val:
        choices += [f"val_{k}" for k in keys] + ([f"val_ema_{k}" for k in keys] if has_ema else [])
    monitor = monitor or ("val_loss" if has_val else "train_loss")
    if monitor not in choices:
        raise ValueError(f"monitor must be one of {choices}, got {monitor!r}")
    if monitor_mode not in ("min", "max"):
        raise ValueError(f"monitor_mode must be 'min' or 'max', got {monitor_mode!r}")
    return monitor


def train_members(
    state: Any,
    loss_fn: Callable,
    data: tuple[jax.Array, jax.Array],
    val: tuple[jax.Array, jax.Array] | None,
    *,
    seeds: Sequence[int],
    epochs: int,
    batch_size: int,
    metrics: Mapping[str, Callable],
    monitor: str,
    monitor_mode: str,
    eval_batch_size: int,
    max_nonfinite_steps: int = 10,
    progress: bool = False,
    desc: str = "members",
    on_epoch_end: Callable[[int, Any], None] | None = None,
) -> LoopResult:
    """Train the stacked ``state`` (``K = len(seeds)`` members, already validated and owned).

    ``on_epoch_end(epoch, stacked_state)`` runs after each epoch's validation (snapshots use it).
    The best snapshot per member follows ``monitor`` like ``fit``'s (params, or ``(params,
    model_state)`` for a model with state).
    """
    k = len(seeds)
    n = data[0].shape[0]
    steps = n // batch_size
    stateful = model_state_of(state) is not None
    keys = [jax.random.key(int(seed)) for seed in seeds]
    step = _make_step(loss_fn, tuple(metrics.items()), batch_size)
    evaluate = _make_eval(loss_fn, tuple(metrics.items()))
    val_batches = [] if val is None else [
        (val[0][i : i + eval_batch_size], val[1][i : i + eval_batch_size]) for i in range(0, val[0].shape[0], eval_batch_size)
    ]

    def snapshot_of(s: Any, ema_state: Any) -> Any:
        params, model_state = (s.ema_params, ema_state) if monitor.startswith("val_ema_") else (s.params, model_state_of(s))
        return (params, model_state) if stateful else params

    tracker = _broadcast(EarlyStopping(patience=2**31 - 1, mode=monitor_mode), k)
    tracker = tracker.replace(best_params=ema_init(snapshot_of(state, model_state_of(state))))
    carry = (state, _broadcast(NonFiniteGuard(limit=max_nonfinite_steps), k))
    histories: list[dict[str, list]] = [{} for _ in range(k)]
    bar = tqdm(total=epochs * steps, disable=not progress, desc=desc, dynamic_ncols=True)
    began = time.perf_counter()
    epoch_seconds: list[float] = []
    try:
        for epoch in range(1, epochs + 1):
            epoch_began = time.perf_counter()
            permutations = jnp.stack([epoch_permutation(key, epoch, n) for key in keys])
            model_keys = jnp.stack([epoch_key(key, epoch, 1) for key in keys])
            outs = []
            for index in range(steps):
                carry, out = step(carry, data, permutations, index, model_keys)
                outs.append(out)
                bar.update(1)
            state, guard = carry
            tripped = np.asarray(guard.tripped_at)
            if (tripped >= 0).any():
                member = int(np.argmax(tripped >= 0))
                raise NonFiniteError(
                    f"member {member} (seed {seeds[member]}): {max_nonfinite_steps} steps in a row had a "
                    f"non-finite loss or gradient, the last at step {int(tripped[member])} (epoch {epoch})"
                )
            outs = jax.device_get(outs)
            rows = _epoch_rows(epoch, outs, k)
            ema_state = None
            if val_batches:
                for name, values in _evaluate(evaluate, state.params, model_state_of(state), val_batches).items():
                    for i in range(k):
                        rows[i][f"val_{name}"] = float(values[i])
                if state.ema_params is not None:
                    ema_state = _ema_model_state(state, data[0], k, eval_batch_size)
                    for name, values in _evaluate(evaluate, state.ema_params, ema_state, val_batches).items():
                        for i in range(k):
                            rows[i][f"val_ema_{name}"] = float(values[i])
            skipped = np.asarray(guard.skipped)
            for i in range(k):
                rows[i]["nonfinite_steps"] = int(skipped[i])
                for name, value in rows[i].items():
                    histories[i].setdefault(name, []).append(value)
                histories[i].setdefault("step_loss", []).extend(float(o["loss"][i]) for o in outs)
                if "lr" in outs[0]:
                    histories[i].setdefault("step_lr", []).extend(float(o["lr"][i]) for o in outs)
            values = np.array([rows[i][monitor] for i in range(k)], np.float32)
            tracker = _update_trackers(tracker, values, snapshot_of(state, ema_state if ema_state is not None else model_state_of(state)))
            epoch_seconds.append(time.perf_counter() - epoch_began)
            if on_epoch_end is not None:
                on_epoch_end(epoch, state)
    finally:
        bar.close()
    return LoopResult(carry[0], tracker, histories, time.perf_counter() - began, epoch_seconds)


def _epoch_rows(epoch: int, outs: list[dict], k: int) -> list[dict[str, float]]:
    """Per member: the train means over the applied (finite) steps and the last step's lr."""
    finite = np.array([np.asarray(o["finite"]) for o in outs])  # (steps, K)
    rows = []
    for i in range(k):
        row: dict[str, float] = {"epoch": epoch}
        for name in outs[0]:
            if name in ("finite", "lr"):
                continue
            values = np.array([float(o[name][i]) for o in outs], np.float64)
            row[f"train_{name}"] = float(values[finite[:, i]].mean()) if finite[:, i].any() else math.nan
        row["lr"] = float(outs[-1]["lr"][i]) if "lr" in outs[0] else math.nan
        rows.append(row)
    return rows
