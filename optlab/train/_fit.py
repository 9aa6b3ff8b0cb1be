"""``fit``: the training loop for the common case (arrays in memory, one jitted step per batch)."""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import numpy as np
from tqdm.auto import tqdm

from .._checks import int_at_least
from ._batch_stats import recalibrate_batch_stats
from ._batches import epoch_key, epoch_permutation, take_batch
from ._data import DataChecks, check_fit_data, model_state_of, own_copy
from ._early_stopping import EarlyStopping
from ._guard import NonFiniteError, NonFiniteGuard, all_finite, select_tree
from ._lr import learning_rate_of
from ._run import RunFiles, fit_checkpoint_tree
from ._swa import swa_validation

LossFn = Callable[[Any, jax.Array, jax.Array, Any], tuple[jax.Array, Any]]
MetricFn = Callable[[Any, jax.Array], jax.Array]


class FitResult(NamedTuple):
    """What ``fit`` returns.

    ``state``: the final state. ``best_params``: the parameters (the EMA ones when ``monitor``
    starts with ``val_ema_``) of the epoch with the best ``monitor`` value, ``best_epoch`` (1-based,
    ``None`` if no epoch had a finite value) and ``best_metric``. ``history``: per-epoch lists
    (``epoch``, ``train_loss``, ``train_<m>``, ``val_loss``, ``val_<m>``, ``val_ema_*``, ``lr``,
    ``nonfinite_steps``) and per-step lists (``step_loss``, ``step_lr``). ``early_stopping``: the
    final tracker state; ``stopped_early``: patience fired. ``paths``: files written (keys
    ``run_dir``, ``checkpoints``, ``tensorboard``, ``history_json``, ``history_csv``, ``curves``).
    ``epoch_seconds``: wall time of each epoch run in this call (not part of ``history``, which is
    a pure function of the inputs). ``best_model_state``: the model state (e.g. ``batch_stats``)
    that goes with ``best_params`` (``None`` for a model without state).
    """

    state: Any
    best_params: Any
    best_epoch: int | None
    best_metric: float
    history: dict[str, list]
    early_stopping: EarlyStopping
    stopped_early: bool
    paths: dict[str, str]
    epoch_seconds: list[float]
    best_model_state: Any = None


class _Carry(NamedTuple):
    state: Any
    guard: NonFiniteGuard


def _validated_data(
    loss_fn: LossFn, state: Any, train_data: Any, val_data: Any, checks: DataChecks,
) -> tuple[tuple[jax.Array, jax.Array], tuple[jax.Array, jax.Array] | None]:
    """``train_data`` and ``val_data`` checked once on the host (:func:`optlab.train.check_fit_data`)."""
    named = [("train_data", train_data)] + ([("val_data", val_data)] if val_data is not None else [])
    checked = check_fit_data(loss_fn, state.params, model_state_of(state), named, checks)
    return checked[0], (checked[1] if val_data is not None else None)


def _loss_and_grads(state: Any, loss_fn: LossFn, x: jax.Array, y: jax.Array, rng: jax.Array):
    """``(loss, outputs, grads, changes)``: ``changes`` the new ``model_state`` of a stateful model."""
    if model_state_of(state) is None:
        (loss, outputs), grads = state.value_and_grad(loss_fn, x, y, rng, has_aux=True)
        return loss, outputs, grads, {}
    (loss, (outputs, model_state)), grads = state.value_and_grad(
        loss_fn, x, y, rng, model_state_of(state), has_aux=True
    )
    return loss, outputs, grads, {"model_state": model_state}


def training_step(
    loss_fn: LossFn, metrics: Mapping[str, MetricFn], batch_size: int, state: Any, guard: NonFiniteGuard,
    data: Any, permutation: jax.Array, index: jax.Array, key: jax.Array, placement: Any = None,
) -> tuple[Any, NonFiniteGuard, dict[str, jax.Array]]:
    """One step as ``fit`` takes it (unjitted; ``fit`` jits it, ensembles vmap it).

    Batch ``index`` of the epoch's ``permutation``, the loss and gradients with the per-step key
    ``fold_in(key, index)``, the update applied only when loss and gradients are finite (else the
    state is kept bit for bit), the guard counting it. Returns ``(state, guard, out)`` with ``out``
    the loss, the finite flag, each metric and the learning rate (when the state has one).
    """
    x, y = take_batch(data, permutation, index, batch_size)
    if placement is not None:  # the global batch split over the devices
        x, y = placement.batch((x, y))
    loss, outputs, grads, changes = _loss_and_grads(state, loss_fn, x, y, jax.random.fold_in(key, index))
    finite = all_finite(loss, grads)
    state = select_tree(finite, state.apply_gradients(grads=grads, **changes), state)
    out = {"loss": loss, "finite": finite, **{name: fn(outputs, y) for name, fn in metrics.items()}}
    lr = learning_rate_of(state.opt_state)
    if lr is not None:
        out["lr"] = lr
    return state, guard.update(finite), out


def evaluation_step(loss_fn: LossFn, metrics: Mapping[str, MetricFn], params: Any, model_state: Any, x, y) -> dict:
    """The loss and metrics of one batch in evaluation mode (``rng=None``), unjitted."""
    if model_state is None:
        loss, outputs = loss_fn(params, x, y, None)
    else:
        loss, (outputs, _) = loss_fn(params, x, y, None, model_state)
    return {"loss": loss, **{name: fn(outputs, y) for name, fn in metrics.items()}}


def _make_train_step(loss_fn: LossFn, metrics: tuple[tuple[str, MetricFn], ...], batch_size: int, placement: Any = None):
    """The jitted, state-donating step. Without a mesh it comes from :func:`_cached_train_step`."""
    metrics = dict(metrics)

    def train_step(carry: _Carry, data, permutation, index, key):
        state, guard, out = training_step(loss_fn, metrics, batch_size, *carry, data, permutation, index, key, placement)
        carry = _Carry(state, guard)
        if placement is not None:  # the same shardings as the input: no drift, one compilation
            carry = placement.constrain(carry)
        return carry, out

    return jax.jit(train_step, donate_argnums=0)


# One step per (loss_fn, metrics, batch_size): a second ``fit`` with the same loss (learning rates
# compared from one init, the experiments) reuses the compiled step instead of compiling it again.
_cached_train_step = functools.lru_cache(maxsize=16)(_make_train_step)


@functools.lru_cache(maxsize=16)
def _make_eval_step(loss_fn: LossFn, metrics: tuple[tuple[str, MetricFn], ...]):
    """The jitted evaluation of one batch, one per ``(loss_fn, metrics)`` (cached as the train step)."""
    return jax.jit(functools.partial(evaluation_step, loss_fn, dict(metrics)))


def _batches(x: jax.Array, y: jax.Array, batch_size: int) -> list[tuple[jax.Array, jax.Array]]:
    """``(x, y)`` cut once into consecutive evaluation batches (the last may be smaller)."""
    return [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)]


def _evaluate(eval_step, params, model_state, batches) -> dict[str, float]:
    """Example-weighted means of the batch means over the whole split (float64 on the host)."""
    outs = jax.device_get([eval_step(params, model_state, xb, yb) for xb, yb in batches])
    sizes = [xb.shape[0] for xb, _ in batches]
    return {name: sum(n * float(o[name]) for n, o in zip(sizes, outs)) / sum(sizes) for name in outs[0]}


def _epoch_summary(outs: list[dict]) -> tuple[dict[str, float], list[float], list[float]]:
    """Train means over the applied (finite) steps; the per-step losses and learning rates."""
    finite = np.array([bool(o["finite"]) for o in outs])
    summary = {}
    for name in outs[0]:
        if name in ("finite", "lr"):
            continue
        values = np.array([float(o[name]) for o in outs], np.float64)
        summary[name] = float(values[finite].mean()) if finite.any() else math.nan
    step_lr = [float(o["lr"]) for o in outs] if "lr" in outs[0] else []
    return summary, [float(o["loss"]) for o in outs], step_lr


def _monitor_names(metrics: Mapping[str, MetricFn], has_val: bool, has_ema: bool) -> list[str]:
    keys = ["loss", *metrics]
    names = [f"train_{k}" for k in keys]
    if has_val:
        names += [f"val_{k}" for k in keys]
        if has_ema:
            names += [f"val_ema_{k}" for k in keys]
    return names


def _resolve_monitor(
    monitor: str | None, monitor_mode: str | None, early_stopping: EarlyStopping | None,
    choices: list[str], has_val: bool,
) -> tuple[str, str]:
    """The monitored history column and its mode, validated against each other."""
    monitor = monitor or ("val_loss" if has_val else "train_loss")
    if monitor not in choices:
        raise ValueError(f"monitor must be one of {choices}, got {monitor!r}")
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise ValueError(f"early_stopping must be an EarlyStopping or None, got {early_stopping!r}")
    if monitor_mode is None:
        monitor_mode = early_stopping.mode if early_stopping is not None else "min"
    if monitor_mode not in ("min", "max"):
        raise ValueError(f"monitor_mode must be 'min' or 'max', got {monitor_mode!r}")
    if early_stopping is not None and early_stopping.mode != monitor_mode:
        raise ValueError(f"monitor_mode {monitor_mode!r} contradicts early_stopping.mode {early_stopping.mode!r}")
    return monitor, monitor_mode


def _train_epoch(train_step, carry: _Carry, data, key: jax.Array, epoch: int, steps: int, bar, log_every: int):
    """All steps of one epoch; returns the new carry and the per-step outputs on the host."""
    permutation = epoch_permutation(key, epoch, data[0].shape[0])
    model_key = epoch_key(key, epoch, 1)
    outs = []
    for index in range(steps):
        carry, out = train_step(carry, data, permutation, index, model_key)
        outs.append(out)
        bar.update(1)
        if (index + 1) % log_every == 0 and not bar.disable:
            bar.set_postfix(epoch=epoch, loss=f"{float(out['loss']):.4f}", refresh=False)
    tripped = int(carry.guard.tripped_at)
    if tripped >= 0:
        limit = carry.guard.limit
        raise NonFiniteError(
            f"{limit} steps in a row had a non-finite loss or gradient (max_nonfinite_steps={limit}), "
            f"the last at step {tripped} (epoch {epoch}); each was skipped, leaving the state unchanged"
        )
    return carry, jax.device_get(outs)


def _epoch_row(epoch: int, summary: dict, eval_step, state, ema_model_state, val_batches, step_lr, skipped) -> dict:
    """One history row: train means, validation of params (and EMA params), lr, skipped steps."""
    row: dict[str, float] = {"epoch": epoch, **{f"train_{k}": v for k, v in summary.items()}}
    if val_batches:
        row.update({f"val_{k}": v for k, v in _evaluate(eval_step, state.params, model_state_of(state), val_batches).items()})
        if state.ema_params is not None:
            ema = _evaluate(eval_step, state.ema_params, ema_model_state, val_batches)
            row.update({f"val_ema_{k}": v for k, v in ema.items()})
    row["lr"] = step_lr[-1] if step_lr else math.nan
    row["nonfinite_steps"] = int(skipped)
    return row


@jax.jit
def _update_scalars(tracker: EarlyStopping, value: jax.Array) -> EarlyStopping:
    """The tracker's counters after one metric (no snapshot): one small compile per process."""
    return tracker.update(value)


def _track(tracker: EarlyStopping, value: np.float32, snapshot: Any) -> EarlyStopping:
    """``tracker.update(value, snapshot)`` bit for bit, the snapshot copied only when it improved.

    The jitted part sees the scalars only (a tiny compile instead of a select per parameter leaf);
    the snapshot is chosen on the host, where ``fit`` is once per epoch anyway.
    """
    best = tracker.best_params
    tracker = _update_scalars(tracker.replace(best_params=None), value)
    return tracker.replace(best_params=own_copy(snapshot) if bool(tracker.improved) else best)


def _append(history: dict[str, list], row: dict, step_loss: list, step_lr: list) -> None:
    for name, value in row.items():
        history.setdefault(name, []).append(value)
    history.setdefault("step_loss", []).extend(step_loss)
    if step_lr:
        history.setdefault("step_lr", []).extend(step_lr)


def _placement(state: Any, mesh: Any, strategy: Any, batch_size: int) -> Any:
    """``None`` without a mesh; else ``optlab.distributed``'s placement of ``own_copy(state)``.

    Imported lazily: ``optlab.distributed`` sits above ``optlab.train`` and imports nothing from it.
    """
    if mesh is None:
        return None
    from ..distributed._fit import fit_placement

    return fit_placement(state, mesh, strategy, batch_size)


def fit(
    state: Any,
    loss_fn: LossFn,
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any] | None = None,
    *,
    epochs: int,
    batch_size: int,
    metrics: Mapping[str, MetricFn] | None = None,
    seed: int = 0,
    run_dir: str | os.PathLike | None = None,
    early_stopping: EarlyStopping | None = None,
    monitor: str | None = None,
    monitor_mode: str | None = None,
    checkpoint_every: int = 1,
    keep_best: int = 1,
    keep_latest: int = 1,
    resume: bool = False,
    max_nonfinite_steps: int = 10,
    eval_batch_size: int = 1024,
    progress: bool = True,
    log_every: int = 10,
    tensorboard: bool = True,
    plot: bool = True,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    data_checks: DataChecks = DataChecks(),
    recalibrate_bn: bool = True,
    mesh: Any = None,
    strategy: Any = "dp",
) -> FitResult:
    """Train ``state`` for ``epochs`` epochs on ``train_data = (x, y)``; validate on ``val_data``.

    ``state`` is a ready training state (``TrainState.create(...)`` or any class with the
    TrainState protocol: ``value_and_grad``, ``apply_gradients``, ``params``, ``ema_params``,
    ``step``, ``opt_state``); ``fit`` uses nothing else, so ``FlatTrainState`` works too.
    ``loss_fn(params, x, y, rng) -> (mean_loss, outputs)``: ``rng`` is a fresh key per training
    step and ``None`` during evaluation; ``outputs`` (e.g. logits) feed ``metrics``, a mapping
    ``name -> fn(outputs, y) -> batch mean`` (e.g. ``{"accuracy": optlab.train.accuracy}``).
    :func:`optlab.train.classifier_loss` builds ``loss_fn`` for a linen classifier.

    Each epoch sees ``len(x) // batch_size`` full batches in the order
    ``permutation(fold_in(fold_in(key(seed), 0), epoch))`` (the remainder of the shuffled epoch is
    left out), so data order is a pure function of ``(seed, epoch)``. The step is jitted with the
    state donated. A step whose loss or gradients are not finite is skipped (state bit-identical,
    chosen with ``jnp.where``), counted in ``nonfinite_steps``; after ``max_nonfinite_steps`` in
    a row ``NonFiniteError`` (a ``FloatingPointError``) is raised.

    After each epoch: validation with ``params`` and, when the state has them, ``ema_params``
    (``val_ema_*``), and ``swa_params`` (``val_swa_*``, NaN before the first SWA sample; not a
    ``monitor`` choice); the best snapshot by ``monitor`` (default ``val_loss``, or ``train_loss``
    without validation data; mode from ``early_stopping`` or ``monitor_mode``, default ``"min"``)
    is kept in memory; ``early_stopping`` (an :class:`EarlyStopping`) ends training when its
    patience runs out. With ``run_dir``: checkpoints under ``run_dir/checkpoints`` every
    ``checkpoint_every`` epochs and whenever the monitor improves (keeping ``keep_latest`` newest
    and ``keep_best`` best), ``history.json``/``history.csv``, TensorBoard events under
    ``run_dir/tensorboard`` and ``curves.png`` at the end. ``resume=True`` continues from the
    newest readable checkpoint (state, EMA, early stopping, skip counters, RNG key, history),
    bit-exactly; unreadable newer checkpoint directories are renamed aside. The non-finite streak
    is checked at the end of each epoch.
    ``on_epoch_end(epoch, row)`` is called after each epoch's checkpoint.

    The caller's ``state`` is never invalidated: ``fit`` trains :func:`optlab.train.own_copy` of
    it (one copy on entry; donation reuses that copy's buffers afterwards), so ``state`` stays
    readable whether ``fit`` returns or raises, and two ``fit`` calls from it give the same result.

    Data is checked before the first step (:func:`optlab.train.check_data`, on the host, once):
    ``x``, ``y`` numeric and finite, the same leading size; with a loss that declares class labels
    (``classifier_loss``) or ``data_checks.num_classes``, labels integer, 1-D and in ``[0, C)``, ``C``
    read from the model's output on one example when not given. ``data_checks=DataChecks(
    allow_nonfinite=True)`` lets NaN/inf in the data through to the skip-a-step guard.

    Models with state (``state.model_state``, e.g. BatchNorm's ``batch_stats``): ``loss_fn(params,
    x, y, rng, model_state) -> (loss, (outputs, new_model_state))``; each step stores
    ``new_model_state``; evaluation calls it with ``rng=None`` (inference mode). The EMA weights are
    evaluated with statistics recomputed for them (:func:`optlab.train.recalibrate_batch_stats` on the
    training inputs, once per epoch; ``state.apply_fn`` must be the linen ``apply``) unless
    ``recalibrate_bn=False``, which evaluates them with the trained weights' ``model_state``.
    ``best_model_state`` is the model state that goes with ``best_params``.

    Many devices (``optlab.distributed``): with a ``jax.sharding.Mesh``, ``strategy="dp"`` splits
    each global batch of ``batch_size`` (a multiple of the device count) over all devices and
    replicates the state; ``"fsdp"`` also splits parameters, optimizer state and EMA by
    big_vision's rule (or an ``optlab.distributed.Strategy`` with ``rules``). Losses and metrics
    are means over the global batch; on several processes (``jax.distributed``) each passes the
    same data, all write the checkpoints together and only process 0 writes logs, plots and
    progress. ``resume=True`` restores onto the mesh given, whatever the saving run's mesh was.
    ``mesh=None`` (default) is the single-device loop, unchanged.
    """
    epochs = int_at_least(epochs, "epochs", 1)
    batch_size = int_at_least(batch_size, "batch_size", 1)
    checkpoint_every = int_at_least(checkpoint_every, "checkpoint_every", 1)
    eval_batch_size = int_at_least(eval_batch_size, "eval_batch_size", 1)
    log_every = int_at_least(log_every, "log_every", 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}")
    metrics = dict(metrics or {})
    if "loss" in metrics:
        raise ValueError("metrics must not be named 'loss' (the loss is always logged)")
    if not isinstance(recalibrate_bn, bool):
        raise ValueError(f"recalibrate_bn must be a bool, got {recalibrate_bn!r}")
    data, val = _validated_data(loss_fn, state, train_data, val_data, data_checks)
    placement = _placement(state, mesh, strategy, batch_size)
    if placement is not None:  # fsdp pads a FlatTrainState's buffers; the data goes on every device
        state, data, val = placement.prepare(state), placement.replicate(data), placement.replicate(val)
    steps = data[0].shape[0] // batch_size
    if steps == 0:
        raise ValueError(
            f"batch_size must be <= the number of training examples {data[0].shape[0]}, got {batch_size}"
        )
    choices = _monitor_names(metrics, val is not None, state.ema_params is not None)
    monitor, monitor_mode = _resolve_monitor(monitor, monitor_mode, early_stopping, choices, val is not None)
    stateful = model_state_of(state) is not None
    recalibrate = stateful and recalibrate_bn and state.ema_params is not None

    def ema_model_state(s):
        if not recalibrate:
            return model_state_of(s)
        return recalibrate_batch_stats(s.apply_fn, s.ema_params, model_state_of(s), data[0], batch_size=eval_batch_size)

    def snapshot_of(s, ema_state):
        """What the best snapshot keeps: the monitored params (and their model state)."""
        params, model_state = (s.ema_params, ema_state) if monitor.startswith("val_ema_") else (s.params, model_state_of(s))
        return (params, model_state) if stateful else params

    state = own_copy(state)
    tracker = early_stopping or EarlyStopping(patience=2**31 - 1, mode=monitor_mode)
    if tracker.best_params is None:
        tracker = tracker.replace(best_params=own_copy(snapshot_of(state, model_state_of(state))))
    guard = NonFiniteGuard(limit=int_at_least(max_nonfinite_steps, "max_nonfinite_steps", 1))
    key = jax.random.key(int(seed))
    if placement is not None:
        state, tracker, guard, key = placement.place((state, tracker, guard, key))
    history: dict[str, list] = {}
    start_epoch = 1
    files = None
    if run_dir is not None:
        files = RunFiles.open(
            run_dir, every=checkpoint_every, keep_latest=int_at_least(keep_latest, "keep_latest", 1),
            keep_best=keep_best, mode=monitor_mode, tensorboard=tensorboard,
        )
        restored = files.resume(fit_checkpoint_tree(state, tracker, guard, key), resume)
        if restored is not None:
            state, tracker, guard = (restored.tree[k] for k in ("state", "tracker", "guard"))
            key = jax.random.wrap_key_data(restored.tree["key"])
            history = {k: list(v) for k, v in restored.meta["history"].items()}
            start_epoch = restored.epoch + 1

    val_batches = _batches(*val, eval_batch_size) if val is not None else []
    if placement is None:
        train_step = _cached_train_step(loss_fn, tuple(metrics.items()), batch_size)
    else:  # placements hold meshes and trees: built per call
        train_step = _make_train_step(loss_fn, tuple(metrics.items()), batch_size, placement)
    eval_step = _make_eval_step(loss_fn, tuple(metrics.items()))
    carry = _Carry(state, guard)
    epoch_seconds: list[float] = []
    stop = bool(tracker.should_stop) and early_stopping is not None
    bar = tqdm(
        total=epochs * steps, initial=min(start_epoch - 1, epochs) * steps,
        disable=not progress or jax.process_index() != 0,  # progress from process 0 only
        desc="fit", dynamic_ncols=True,
    )
    try:
        for epoch in range(start_epoch, epochs + 1):
            if stop:
                break
            began = time.perf_counter()
            carry, outs = _train_epoch(train_step, carry, data, key, epoch, steps, bar, log_every)
            summary, step_loss, step_lr = _epoch_summary(outs)
            ema_state = ema_model_state(carry.state) if val_batches else model_state_of(carry.state)
            row = _epoch_row(
                epoch, summary, eval_step, carry.state, ema_state, val_batches, step_lr, carry.guard.skipped
            )
            if val_batches:  # SWA weights (statistics recomputed), NaN before the first sample
                row.update(swa_validation(carry.state, lambda p, s: _evaluate(eval_step, p, s, val_batches), data[0],
                                          batch_size=eval_batch_size, recalibrate=recalibrate_bn))
            tracker = _track(tracker, np.float32(row[monitor]), snapshot_of(carry.state, ema_state))
            _append(history, row, step_loss, step_lr)
            stop = bool(tracker.should_stop) and early_stopping is not None
            epoch_seconds.append(time.perf_counter() - began)
            bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k.startswith(("train_", "val_"))}, refresh=False)
            if files is not None:
                files.log_epoch(row, step_loss, step_lr, (epoch - 1) * steps + 1, history)
                if files.checkpoints.due(epoch) or bool(tracker.improved) or stop or epoch == epochs:
                    tree = fit_checkpoint_tree(carry.state, tracker, carry.guard, key)
                    files.save(epoch, tree, float(np.float32(row[monitor])), history)  # ranked as tracker sees it
            if on_epoch_end is not None:
                on_epoch_end(epoch, row)
    finally:
        bar.close()
        if files is not None:
            files.close()
    if files is not None and plot and history:
        files.plot(history)
    best_step = int(tracker.best_step)
    best_params, best_model_state = tracker.best_params if stateful else (tracker.best_params, None)
    return FitResult(
        state=carry.state,
        best_params=best_params,
        best_epoch=best_step + 1 if best_step >= 0 else None,
        best_metric=float(tracker.best_metric),
        history=history,
        early_stopping=tracker,
        stopped_early=bool(tracker.should_stop) and early_stopping is not None,
        paths=dict(files.paths) if files is not None else {},
        epoch_seconds=epoch_seconds,
        best_model_state=best_model_state,
    )
