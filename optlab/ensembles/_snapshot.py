"""Snapshot ensembles: one run under a cyclic cosine learning rate, a snapshot at each cycle end.

Huang, Li, Pleiss, Liu, Hopcroft & Weinberger 2017, "Snapshot Ensembles: Train 1, get M for free":
with ``T`` steps in all and ``M`` cycles, the learning rate is

    a(t) = a0 / 2 * (cos(pi * mod(t - 1, ceil(T/M)) / ceil(T/M)) + 1),    t = 1..T,

i.e. :func:`optlab.schedules.cosine_restarts` with ``period = ceil(T/M)`` (0-based step count
``t - 1``): it starts each cycle at ``a0`` and anneals to the cycle's minimum
``a0/2 (cos(pi (P-1)/P) + 1)`` on its last step, where the model sits in a local minimum; that
model is the cycle's snapshot. The ``M`` snapshots are averaged at test time
(:func:`optlab.ensembles.predict`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from optlab import schedules
from optlab._checks import int_at_least, positive
from optlab.train import Checkpoints, DataChecks, own_copy, write_history
from optlab.train._ema import ema_init
from optlab.train import model_state_of
from optlab.train._fit import _validated_data

from ._loop import resolve_monitor, train_members
from ._members import Members, stack_trees, unstack_tree


class SnapshotResult(NamedTuple):
    """What :func:`snapshot_ensemble` returns.

    ``snapshots``: one per cycle, in order: params, or ``(params, model_state)`` for a model with
    state. ``members``: the same, stacked (:class:`Members`, for ``predict``). ``epochs``: the epoch
    of each snapshot; ``learning_rates``: the learning rate the last step of each cycle used (the
    cycle's minimum under the cyclic schedule). ``state``: the final state; ``history``: a
    ``fit``-style history; ``paths``: files written (``snapshots``, ``history_json``,
    ``history_csv``) with ``run_dir``; ``seconds``: wall time.
    """

    snapshots: list[Any]
    members: Members
    epochs: list[int]
    learning_rates: list[float]
    state: Any
    history: dict[str, list]
    paths: dict[str, str]
    seconds: float


def snapshot_schedule(max_lr: float, epochs_per_cycle: int, steps_per_epoch: int) -> schedules.Schedule:
    """Huang et al.'s cyclic cosine: ``cosine_restarts(max_lr, period=epochs_per_cycle * steps_per_epoch)``.

    Example:
      >>> s = snapshot_schedule(0.1, epochs_per_cycle=2, steps_per_epoch=2)
      >>> [round(float(s(t)), 4) for t in range(5)]
      [0.1, 0.0854, 0.05, 0.0146, 0.1]
    """
    positive(max_lr, "max_lr")
    period = int_at_least(epochs_per_cycle, "epochs_per_cycle", 1) * int_at_least(steps_per_epoch, "steps_per_epoch", 1)
    return schedules.cosine_restarts(float(max_lr), period=period)


def snapshot_ensemble(
    state: Any,
    loss_fn: Callable,
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any] | None = None,
    *,
    cycles: int,
    epochs_per_cycle: int,
    batch_size: int,
    optimizer: Callable[[Any], Any] | None = None,
    max_lr: float | None = None,
    seed: int = 0,
    metrics: Mapping[str, Callable] | None = None,
    run_dir: str | os.PathLike | None = None,
    eval_batch_size: int = 1024,
    max_nonfinite_steps: int = 10,
    data_checks: DataChecks = DataChecks(),
    progress: bool = False,
) -> SnapshotResult:
    """Train ``state`` for ``cycles * epochs_per_cycle`` epochs; snapshot it at the end of each cycle.

    The learning rate must restart every cycle. Either ``state.tx`` already uses
    :func:`snapshot_schedule` (or any ``cosine_restarts`` whose period is ``epochs_per_cycle *
    (len(x) // batch_size)`` steps) — the caller's responsibility; ``learning_rates`` in the result
    shows what was used — or pass ``optimizer`` (a factory ``lr -> GradientTransformation``, e.g.
    ``optlab.momentum``) and ``max_lr``: the state's ``tx`` is replaced by
    ``optimizer(snapshot_schedule(max_lr, epochs_per_cycle, steps_per_epoch))`` and its optimizer
    state re-initialised (``state`` must then have a ``tx`` field, as :class:`optlab.train.TrainState`).

    Training is ``fit``'s step and data order with ``seed`` (one jitted program, no recompilation
    between cycles); the caller's ``state`` is never touched (its :func:`optlab.train.own_copy`
    trains) and the data is checked first (:func:`optlab.train.check_data`). Snapshots are kept in
    memory and, with ``run_dir``, saved as ``run_dir/snapshots/<cycle>`` through
    :class:`optlab.train.Checkpoints` (restore one with ``Checkpoints(dir).restore(cycle, target)``)
    beside ``history.json``/``history.csv``.

    Raises:
      ValueError: ``cycles < 1``, ``epochs_per_cycle < 1``, ``optimizer`` without ``max_lr`` or the
        reverse, ``max_lr <= 0``, a ``run_dir`` that already holds snapshots, bad data.
    """
    cycles = int_at_least(cycles, "cycles", 1)
    epochs_per_cycle = int_at_least(epochs_per_cycle, "epochs_per_cycle", 1)
    batch_size = int_at_least(batch_size, "batch_size", 1)
    if (optimizer is None) != (max_lr is None):
        raise ValueError(
            f"optimizer and max_lr go together (both to build the cyclic schedule, neither to keep "
            f"state.tx), got optimizer={optimizer!r}, max_lr={max_lr!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    metrics = dict(metrics or {})
    data, val = _validated_data(loss_fn, state, train_data, val_data, data_checks)
    steps_per_epoch = data[0].shape[0] // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"batch_size must be <= the number of training examples {data[0].shape[0]}, got {batch_size}")
    if optimizer is not None:
        tx = optimizer(snapshot_schedule(max_lr, epochs_per_cycle, steps_per_epoch))
        state = state.replace(tx=tx, opt_state=tx.init(getattr(state, "flat_params", state.params)))
    monitor = resolve_monitor(None, "min", metrics, val is not None, False)
    checkpoints, paths = _open_run_dir(run_dir, cycles)
    stateful = model_state_of(state) is not None
    snapshots: list[Any] = []
    epochs: list[int] = []

    def on_epoch_end(epoch: int, stacked: Any) -> None:
        if epoch % epochs_per_cycle:
            return
        member = unstack_tree(stacked, 0)
        snapshot = ema_init((member.params, model_state_of(member)) if stateful else member.params)
        snapshots.append(snapshot)
        epochs.append(epoch)
        if checkpoints is not None:
            checkpoints.save(len(snapshots), snapshot, meta={"epoch": epoch})

    began = time.perf_counter()
    try:
        loop = train_members(
            own_copy(stack_trees([state], "state")), loss_fn, data, val, seeds=[int(seed)],
            epochs=cycles * epochs_per_cycle, batch_size=batch_size, metrics=metrics, monitor=monitor,
            monitor_mode="min", eval_batch_size=eval_batch_size, max_nonfinite_steps=max_nonfinite_steps,
            progress=progress, desc=f"{cycles} snapshots", on_epoch_end=on_epoch_end,
        )
    finally:
        if checkpoints is not None:
            checkpoints.close()
    history = loop.histories[0]
    if run_dir is not None:
        write_history(history, paths["history_json"], paths["history_csv"])
    step_lr = history.get("step_lr", [])
    learning_rates = [step_lr[e * steps_per_epoch - 1] if step_lr else float("nan") for e in epochs]
    members = Members(*stack_trees(snapshots, "snapshots")) if stateful else Members(stack_trees(snapshots, "snapshots"))
    return SnapshotResult(
        snapshots=snapshots,
        members=members,
        epochs=epochs,
        learning_rates=learning_rates,
        state=unstack_tree(loop.state, 0),
        history=history,
        paths=paths,
        seconds=time.perf_counter() - began,
    )


def _open_run_dir(run_dir: Any, cycles: int) -> tuple[Checkpoints | None, dict[str, str]]:
    if run_dir is None:
        return None, {}
    run_dir = os.path.abspath(os.fspath(run_dir))
    os.makedirs(run_dir, exist_ok=True)
    paths = {
        "run_dir": run_dir,
        "snapshots": os.path.join(run_dir, "snapshots"),
        "history_json": os.path.join(run_dir, "history.json"),
        "history_csv": os.path.join(run_dir, "history.csv"),
    }
    checkpoints = Checkpoints(paths["snapshots"], keep_latest=cycles, keep_best=0)
    if checkpoints.epochs():
        checkpoints.close()
        raise ValueError(f"run_dir {run_dir!r} already holds snapshots; pass a new run_dir")
    return checkpoints, paths


def load_snapshots(run_dir: str | os.PathLike, target: Any) -> list[Any]:
    """The snapshots saved under ``run_dir/snapshots``, in cycle order, restored into ``target``
    (one snapshot's structure: params, or ``(params, model_state)``)."""
    with Checkpoints(os.path.join(os.fspath(run_dir), "snapshots"), keep_best=0) as checkpoints:
        return [checkpoints.restore(cycle, target).tree for cycle in checkpoints.epochs()]

