"""The ensembles experiment on digits: a single model against weight averages and ensembles.

For each experiment seed ``s`` (same data split; init and data order from ``100 s + k``), with the
digits CNN (BatchNorm by default) and SGD with momentum:

* **single**: one run of ``E`` epochs under a cosine decay to 0, the final weights;
* **polyak**: the same run's EMA weights (``ema_decay``, Polyak & Juditsky 1992), BatchNorm
  statistics recomputed for them (:func:`optlab.train.recalibrate_batch_stats`);
* **swa**: the same run's SWA weights (one sample per epoch over the second half, Izmailov et al.
  2018), statistics recomputed;
* **snapshot**: one run of ``E`` epochs under ``M`` cosine cycles, the ``M`` cycle-end snapshots
  averaged (Huang et al. 2017) — the single model's budget;
* **independent**: ``K`` runs like the single one (seeds ``100 s + k``; member 0 *is* the single
  model), trained as one vmapped program, averaged — ``K`` times the budget.

Test accuracy and NLL (``mean_probs``) per method and seed; the summary is the mean and the
sample standard deviation over seeds, and the wall time of the first seed (compilation included)
and the mean of the later seeds (the single, polyak and swa rows share one run, so one time). Every run goes through the same cached vmapped step
(:mod:`optlab.ensembles._loop`; the single model is ``train_independent`` with one seed, which
equals ``fit``), so each program compiles once, during the first seed.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import optlab
from optlab import schedules
from optlab._checks import int_at_least
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.train import TrainState, classifier_loss, recalibrate_batch_stats

from ._independent import check_seeds, train_independent
from ._predict import evaluate
from ._snapshot import snapshot_ensemble, snapshot_schedule

METHODS = ("single", "polyak", "swa", "snapshot", "independent")
LABELS = {
    "single": "single model",
    "polyak": "Polyak / EMA",
    "swa": "SWA",
    "snapshot": "snapshot ensemble",
    "independent": "independent ensemble",
}


class Config(NamedTuple):
    """The experiment's settings (``FULL`` and ``QUICK`` below)."""

    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 20
    members: int = 5
    cycles: int = 5
    batch_size: int = 32
    lr: float = 0.05
    ema_decay: float = 0.95
    batch_norm: bool = True
    train_size: int | None = None


FULL = Config()
QUICK = Config(seeds=(0, 1), epochs=2, members=2, cycles=2, train_size=256)


def check_config(config: Config) -> Config:
    """``ValueError`` naming the field for bad settings (``epochs`` must be a multiple of ``cycles``)."""
    check_seeds(list(config.seeds))
    for name, minimum in (("epochs", 1), ("members", 1), ("cycles", 1), ("batch_size", 1)):
        int_at_least(getattr(config, name), name, minimum)
    if config.epochs % config.cycles:
        raise ValueError(f"epochs ({config.epochs}) must be a multiple of cycles ({config.cycles})")
    if not config.lr > 0:
        raise ValueError(f"lr must be > 0, got {config.lr!r}")
    return config


def _scores(model: Any, params: Any, model_state: Any, test: Any) -> dict[str, float]:
    member = [(params, model_state)] if model_state is not None else [params]
    return evaluate(model.apply, member, test)


class _Parts(NamedTuple):
    """What every seed shares (one model, loss and optimizer object: jitted programs are reused)."""

    model: Any
    init: Callable
    loss: Callable
    tx: Any
    snapshot_tx: Any
    train: tuple[Any, Any]
    test: tuple[Any, Any]
    steps: int


def _parts(config: Config) -> _Parts:
    splits = load_digits(seed=0)
    train = splits.train if config.train_size is None else (splits.train.x[: config.train_size], splits.train.y[: config.train_size])
    model = DigitsCNN(batch_norm=config.batch_norm)
    init = jax.jit(model.init)  # flax's eager init costs ~1.5 s per call on this CPU, jitted ~ms
    steps = len(train[0]) // config.batch_size
    tx = optlab.momentum(schedules.cosine(config.lr, total_steps=steps * config.epochs))
    snapshot_tx = optlab.momentum(snapshot_schedule(config.lr, config.epochs // config.cycles, steps))
    return _Parts(model, init, classifier_loss(model.apply), tx, snapshot_tx, tuple(train), (splits.test.x, splits.test.y), steps)


def run_seed(
    config: Config, seed: int, log: Callable[[str], None] = lambda _: None, parts: _Parts | None = None,
) -> dict[str, dict[str, float]]:
    """The five methods for one experiment seed: ``{method: {"accuracy", "nll", "seconds"}}``."""
    model, init, loss, tx, snapshot_tx, train, test, steps = parts or _parts(config)

    def make_state(init_seed: int, tx: Any = tx) -> TrainState:
        variables = init(jax.random.key(init_seed), jnp.zeros((1, 8, 8, 1)))
        return TrainState.create(
            apply_fn=model.apply, params=variables["params"], tx=tx,
            ema_decay=config.ema_decay, swa_start=steps * (config.epochs // 2 + config.epochs % 2), swa_every=steps,
            model_state={"batch_stats": variables["batch_stats"]} if config.batch_norm else None,
        )

    def recalibrated(params: Any, state: TrainState) -> Any:
        if state.model_state is None:
            return None
        return recalibrate_batch_stats(model.apply, params, state.model_state, train[0], batch_size=256)

    out: dict[str, dict[str, float]] = {}
    base = 100 * seed
    began = time.perf_counter()
    # = fit(make_state(base), loss, train, seed=base, ...) (tested), through the cached vmapped step
    single = train_independent(make_state, loss, train, seeds=[base], epochs=config.epochs,
                               batch_size=config.batch_size).states[0]
    seconds = time.perf_counter() - began
    out["single"] = {**_scores(model, single.params, single.model_state, test), "seconds": seconds}
    out["polyak"] = {**_scores(model, single.ema_params, recalibrated(single.ema_params, single), test), "seconds": seconds}
    out["swa"] = {**_scores(model, single.swa_params, recalibrated(single.swa_params, single), test), "seconds": seconds}
    log(f"seed {seed}: single / polyak / swa (one run, {int(single.swa_count)} SWA samples): {seconds:.1f} s")

    began = time.perf_counter()
    snap = snapshot_ensemble(
        make_state(base, snapshot_tx), loss, train, cycles=config.cycles,
        epochs_per_cycle=config.epochs // config.cycles, batch_size=config.batch_size, seed=base,
    )
    out["snapshot"] = {**evaluate(model.apply, snap.members, test), "seconds": time.perf_counter() - began}
    log(f"seed {seed}: snapshot ensemble ({config.cycles} snapshots): {out['snapshot']['seconds']:.1f} s")

    began = time.perf_counter()
    ind = train_independent(make_state, loss, train, seeds=[base + k for k in range(config.members)],
                            epochs=config.epochs, batch_size=config.batch_size)
    final = [(s.params, s.model_state) if config.batch_norm else s.params for s in ind.states]
    out["independent"] = {**evaluate(model.apply, final, test), "seconds": time.perf_counter() - began}
    log(f"seed {seed}: independent ensemble ({config.members} members, vmapped): {out['independent']['seconds']:.1f} s")
    return out


def summarize(per_seed: Sequence[dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    """One row per method: mean and sample std over seeds of accuracy and NLL, mean seconds."""
    rows = []
    for method in METHODS:
        acc = np.array([r[method]["accuracy"] for r in per_seed])
        nll = np.array([r[method]["nll"] for r in per_seed])
        spread = (lambda v: float(np.std(v, ddof=1)) if v.size > 1 else math.nan)
        rows.append({
            "method": method, "accuracy_mean": float(acc.mean()), "accuracy_std": spread(acc),
            "nll_mean": float(nll.mean()), "nll_std": spread(nll),
            "seconds": float(np.mean([r[method]["seconds"] for r in per_seed])),
            "seconds_first": float(per_seed[0][method]["seconds"]),
            "seconds_warm": float(np.mean([r[method]["seconds"] for r in per_seed[1:]])) if len(per_seed) > 1 else math.nan,
            "seeds": len(per_seed),
        })
    return rows


def format_table(rows: Sequence[dict[str, Any]], config: Config) -> str:
    """The summary as a fixed-width text table (mean +- std over seeds)."""
    header = f"{'method':<21} {'test accuracy':>17} {'test NLL':>17} {'first s':>9} {'warm s':>7}"
    lines = [
        "time: wall seconds of the first seed (compilation included) and the mean of the later seeds",
        f"digits CNN{' + BatchNorm' if config.batch_norm else ''}, {config.epochs} epochs per model, "
        f"{len(config.seeds)} seeds (mean +- std), K={config.members} members, M={config.cycles} snapshots",
        header, "-" * len(header),
    ]
    for r in rows:
        lines.append(
            f"{LABELS[r['method']]:<21} {r['accuracy_mean']:>8.4f} +- {r['accuracy_std']:.4f} "
            f"{r['nll_mean']:>8.4f} +- {r['nll_std']:.4f} {r['seconds_first']:>9.1f} {r['seconds_warm']:>7.1f}"
        )
    return "\n".join(lines)


def summary_figure(rows: Sequence[dict[str, Any]]) -> Any:
    """Bars of test accuracy and NLL per method with the spread over seeds as error bars (a Figure)."""
    from optlab.train._plots import new_figure  # matplotlib only when drawing

    fig, (left, right) = new_figure(2, width=5.0, height=3.8)
    names = [LABELS[r["method"]] for r in rows]
    positions = np.arange(len(rows))
    for ax, key, label in ((left, "accuracy", "test accuracy"), (right, "nll", "test NLL (lower is better)")):
        means = [r[f"{key}_mean"] for r in rows]
        errors = [0.0 if math.isnan(r[f"{key}_std"]) else r[f"{key}_std"] for r in rows]
        ax.bar(positions, means, yerr=errors, capsize=4, color=[f"C{i}" for i in range(len(rows))])
        ax.set_xticks(positions, names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, axis="y")
        low = min(m - e for m, e in zip(means, errors))
        high = max(m + e for m, e in zip(means, errors))
        pad = 0.15 * (high - low) + 1e-6
        ax.set_ylim(max(0.0, low - pad) if key == "accuracy" else 0.0, high + pad)
    fig.tight_layout()
    return fig


def plot_summary(rows: Sequence[dict[str, Any]], path: str) -> str:
    """:func:`summary_figure` saved as a PNG at ``path``."""
    summary_figure(rows).savefig(path, dpi=80)
    return path


def run_experiment(
    config: Config = FULL, *, out_dir: str | os.PathLike | None = None, log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run every seed, summarize, and (with ``out_dir``) write ``table.txt``, ``results.json`` and
    ``ensembles.png`` there. Returns ``{"rows", "per_seed", "table", "config", "paths"}``."""
    config = check_config(config)
    parts = _parts(config)
    per_seed = [run_seed(config, seed, log, parts) for seed in config.seeds]
    rows = summarize(per_seed)
    table = format_table(rows, config)
    paths: dict[str, str] = {}
    if out_dir is not None:
        out_dir = os.fspath(out_dir)
        os.makedirs(out_dir, exist_ok=True)
        paths = {name: os.path.join(out_dir, name) for name in ("table.txt", "results.json", "ensembles.png")}
        with open(paths["table.txt"], "w") as f:
            f.write(table + "\n")
        with open(paths["results.json"], "w") as f:
            json.dump({"config": config._asdict(), "rows": rows, "per_seed": per_seed}, f, indent=1)
        plot_summary(rows, paths["ensembles.png"])
    return {"rows": rows, "per_seed": per_seed, "table": table, "config": config, "paths": paths}
