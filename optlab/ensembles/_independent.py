"""Independent ensembles: ``K`` members from ``K`` seeds, trained as one vmapped program.

The lecture: train several independent models and average their predictions at test time (a few
percent better). Each member differs in its initialization (``make_state(seed)``) and its data
order (``seed``), as in Lakshminarayanan, Pritzel & Blundell 2017 ("Simple and scalable predictive
uncertainty estimation using deep ensembles").
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optlab._checks import int_at_least
from optlab.train import DataChecks, own_copy
from optlab.train import model_state_of
from optlab.train._fit import _validated_data

from ._loop import resolve_monitor, train_members
from ._members import Members, stack_trees, unstack_tree


class IndependentResult(NamedTuple):
    """What :func:`train_independent` returns.

    ``members``: each member's best snapshot by ``monitor`` (stacked :class:`Members`: params and,
    for a model with state, its ``model_state``), ready for :func:`optlab.ensembles.predict`.
    ``states``: the final training states (a list, one per seed). ``histories``: one ``fit``-style
    history per member. ``best_epochs``/``best_metrics``: per member. ``seeds`` as given;
    ``seconds``: wall time of the training (compilation included); ``vmapped``: how they ran;
    ``epoch_seconds``: wall time of each epoch (all members; per member with ``vmap=False``).
    """

    members: Members
    states: list[Any]
    histories: list[dict[str, list]]
    best_epochs: list[int | None]
    best_metrics: list[float]
    seeds: list[int]
    seconds: float
    vmapped: bool
    epoch_seconds: list[float]


def check_seeds(seeds: Any) -> list[int]:
    """A non-empty sequence of distinct ints; ``ValueError`` naming ``seeds`` otherwise."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    for seed in seeds:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seeds must hold non-negative ints, got {seed!r} in {list(seeds)!r}")
    repeated = sorted({int(s) for s in seeds if list(seeds).count(s) > 1})
    if repeated:
        raise ValueError(f"seeds must be distinct (equal seeds train equal members), got {list(seeds)!r}; repeated: {repeated}")
    return [int(s) for s in seeds]


def train_independent(
    make_state: Callable[[int], Any],
    loss_fn: Callable,
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any] | None = None,
    *,
    seeds: Sequence[int],
    epochs: int,
    batch_size: int,
    metrics: Mapping[str, Callable] | None = None,
    monitor: str | None = None,
    monitor_mode: str = "min",
    vmap: bool = True,
    eval_batch_size: int = 1024,
    max_nonfinite_steps: int = 10,
    data_checks: DataChecks = DataChecks(),
    progress: bool = False,
) -> IndependentResult:
    """Train ``K = len(seeds)`` independent members: member ``k`` is ``make_state(seeds[k])``
    trained as ``fit(make_state(seeds[k]), loss_fn, train_data, val_data, seed=seeds[k], ...)``
    would train it (different initialization *and* data order per seed).

    ``vmap=True`` (default): the ``K`` states are stacked on a leading axis and advance together in
    one jitted ``jax.vmap`` step: one compile and one dispatch per step for all members.
    ``vmap=False``: the members run one after another through one compiled, unbatched step (the
    same program for every member, so still one compile; memory for the stacked states is the same).
    Both give the same members up to float rounding, and equal ``fit`` run member by member (tested).
    Which is faster depends on the backend: on the 2-core CPU, 5 digits CNNs for 5 epochs take
    8.1 s vmapped, 6.1 s with ``vmap=False`` and 15.3 s as 5 ``fit`` calls (each ``fit`` compiles
    again), and an epoch of all 5 members after compilation costs 0.55 s vmapped against 0.25 s one
    by one and 0.28 s in ``fit`` (XLA:CPU runs the vmapped convolutions, which become grouped
    convolutions, slowly): on CPU, prefer ``vmap=False`` for conv nets
    (``benchmarks/ensemble_vmap.py``). The compiled step is cached for the next call with the same
    loss, metrics, batch size and static state fields. The states must stack: same type, same leaf
    paths, shapes and dtypes; the first member's static fields (``apply_fn``, ``tx``) are used for
    all, so ``make_state`` must build the same optimizer for every seed (members that differ in
    architecture or optimizer are separate ``fit`` runs, not one ensemble call).

    ``loss_fn``, ``metrics``, ``monitor`` (default ``val_loss``, or ``train_loss`` without
    validation data; ``val_ema_*`` with EMA states), ``monitor_mode`` and the data rules are
    ``fit``'s: data is checked once (:func:`optlab.train.check_data`), every member trains its own
    copy (:func:`optlab.train.own_copy`) so the states ``make_state`` returns stay valid.

    Example:
      >>> import jax, jax.numpy as jnp, numpy as np, optlab
      >>> from optlab.ensembles import train_independent
      >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32); y = x @ np.ones(3, np.float32)
      >>> make = lambda seed: optlab.train.TrainState.create(
      ...     apply_fn=None, params={"w": jax.random.normal(jax.random.key(seed), (3,))}, tx=optlab.sgd(0.1))
      >>> mse = lambda p, x, y, rng: (jnp.mean((x @ p["w"] - y) ** 2), x @ p["w"])
      >>> result = train_independent(make, mse, (x, y), seeds=[1, 2, 3], epochs=20, batch_size=16)
      >>> result.members.params["w"].shape, bool(np.allclose(result.members.params["w"], 1.0, atol=1e-3))
      ((3, 3), True)

    Raises:
      ValueError: ``seeds`` empty, repeated or not ints; the members' trees differ (naming
        ``make_state``); bad ``epochs``/``batch_size``/``monitor``; bad data
        (naming ``train_data``/``val_data``).
    """
    seeds = check_seeds(seeds)
    epochs = int_at_least(epochs, "epochs", 1)
    batch_size = int_at_least(batch_size, "batch_size", 1)
    eval_batch_size = int_at_least(eval_batch_size, "eval_batch_size", 1)
    max_nonfinite_steps = int_at_least(max_nonfinite_steps, "max_nonfinite_steps", 1)
    if not isinstance(vmap, bool):
        raise ValueError(f"vmap must be a bool, got {vmap!r}")
    if not callable(make_state):
        raise ValueError(f"make_state must be a function seed -> training state, got {make_state!r}")
    metrics = dict(metrics or {})
    states = [make_state(seed) for seed in seeds]
    data, val = _validated_data(loss_fn, states[0], train_data, val_data, data_checks)
    if data[0].shape[0] // batch_size == 0:
        raise ValueError(f"batch_size must be <= the number of training examples {data[0].shape[0]}, got {batch_size}")
    monitor = resolve_monitor(monitor, monitor_mode, metrics, val is not None, states[0].ema_params is not None)
    stacked = own_copy(stack_trees(states, "make_state"))
    groups = [list(range(len(seeds)))] if vmap else [[k] for k in range(len(seeds))]
    loops = [
        train_members(
            jax.tree.map(lambda a, g=group: a[g[0] : g[-1] + 1], stacked),
            loss_fn, data, val, seeds=[seeds[k] for k in group], epochs=epochs, batch_size=batch_size,
            metrics=metrics, monitor=monitor, monitor_mode=monitor_mode, eval_batch_size=eval_batch_size,
            max_nonfinite_steps=max_nonfinite_steps, progress=progress, desc=f"{len(group)} member(s)",
        )
        for group in groups
    ]
    concat = lambda trees: jax.tree.map(lambda *xs: jnp.concatenate(xs), *trees)  # noqa: E731
    final, tracker = concat([loop.state for loop in loops]), concat([loop.tracker for loop in loops])
    best = tracker.best_params
    return IndependentResult(
        members=Members(*best) if model_state_of(stacked) is not None else Members(best),
        states=[unstack_tree(final, k) for k in range(len(seeds))],
        histories=[h for loop in loops for h in loop.histories],
        best_epochs=[int(s) + 1 if s >= 0 else None for s in np.asarray(tracker.best_step)],
        best_metrics=[float(m) for m in np.asarray(tracker.best_metric)],
        seeds=seeds,
        seconds=sum(loop.seconds for loop in loops),
        vmapped=vmap,
        epoch_seconds=[t for loop in loops for t in loop.epoch_seconds],
    )
