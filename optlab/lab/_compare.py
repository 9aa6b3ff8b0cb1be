"""``python -m optlab compare``: train the digits CNN with every update rule and compare them.

An experiment, so it lives in the lab (it uses ``optlab.data`` and ``optlab.models`` on top of
``optlab.train``; the training layer itself never reaches up to them)."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

import optlab
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.train import TrainState, accuracy, classifier_loss, fit
from optlab.train._plots import new_figure

from .._rule_names import RULES as RULES
from .._rule_names import parse_rules as parse_rules

# Per-rule defaults that train the CNN well in ~15 epochs (momentum rules: lr/(1-rho) = 0.2 = sgd's).
DEFAULT_LRS = {
    "sgd": 0.2,
    "momentum": 0.02,
    "nesterov": 0.02,
    "adagrad": 0.05,
    "rmsprop": 1e-3,
    "adam": 3e-3,
    "adamw": 3e-3,
}


def parse_lrs(items: Sequence[str]) -> dict[str, float]:
    """``["adam=3e-3", "sgd=0.05"] -> {"adam": 0.003, "sgd": 0.05}``; ValueError names a bad item."""
    lrs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in RULES:
            raise ValueError(f"--lr must look like RULE=VALUE with RULE in {', '.join(RULES)}, got {item!r}")
        try:
            lrs[name] = float(value)
        except ValueError:
            raise ValueError(f"--lr {item!r}: {value!r} is not a number") from None
        if not lrs[name] > 0:
            raise ValueError(f"--lr {item!r}: the learning rate must be > 0")
    return lrs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``compare``."""
    parser.description = (
        "Train the digits CNN with each update rule (same init, same data order), pick each run's "
        "best validation snapshot, and report validation/test accuracy, EMA test accuracy and wall "
        "time. Writes learning curves (PNG), TensorBoard logs, histories and checkpoints."
    )
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated rules (default: all)")
    parser.add_argument(
        "--lr", action="append", default=[], metavar="RULE=VALUE",
        help="learning rate for a rule, repeatable (defaults: "
        + ", ".join(f"{k}={v:g}" for k, v in DEFAULT_LRS.items()) + ")",
    )
    parser.add_argument("--epochs", type=int, default=15, help="epochs per rule (default 15)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--ema-decay", type=float, default=0.9, help="Polyak/EMA decay (default 0.9)")
    parser.add_argument("--seed", type=int, default=0, help="seed for split, init and data order")
    parser.add_argument("--run-dir", default=None, help="output directory (default runs/compare-<timestamp>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The comparison as a fixed-width text table."""
    header = f"{'rule':<9} {'lr':>8} {'best val acc':>12} {'epoch':>5} {'test acc':>8} {'EMA test':>8} {'time s':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['rule']:<9} {r['lr']:>8.3g} {r['best_val_accuracy']:>12.4f} {r['best_epoch'] or '-':>5} "
            f"{r['test_accuracy']:>8.4f} {r['ema_test_accuracy']:>8.4f} {r['seconds']:>7.1f}"
        )
    return "\n".join(lines)


def compare(
    rules: Sequence[str], lrs: Mapping[str, float], *, epochs: int, batch_size: int, ema_decay: float,
    seed: int, run_dir: str, progress: bool,
) -> list[dict[str, Any]]:
    """Run ``fit`` once per rule under ``run_dir/<rule>``; return one summary row per rule."""
    splits = load_digits(seed=seed)
    model = DigitsCNN()
    params = model.init(jax.random.key(seed), jnp.zeros((1, 8, 8, 1)))["params"]
    test_accuracy = jax.jit(lambda p: accuracy(model.apply({"params": p}, splits.test.x), splits.test.y))
    rows = []
    for rule in rules:
        lr = lrs.get(rule, DEFAULT_LRS[rule])
        state = TrainState.create(
            apply_fn=model.apply, params=jax.tree.map(jnp.copy, params), tx=getattr(optlab, rule)(lr),
            ema_decay=ema_decay,
        )
        began = time.perf_counter()
        result = fit(
            state, classifier_loss(model.apply), splits.train, splits.val, epochs=epochs,
            batch_size=batch_size, metrics={"accuracy": accuracy}, seed=seed,
            run_dir=os.path.join(run_dir, rule), monitor="val_accuracy", monitor_mode="max",
            progress=progress,
        )
        rows.append({
            "rule": rule,
            "lr": lr,
            "best_val_accuracy": result.best_metric,
            "best_epoch": result.best_epoch,
            "test_accuracy": float(test_accuracy(result.best_params)),
            "ema_test_accuracy": float(test_accuracy(result.state.ema_params)),
            "seconds": time.perf_counter() - began,
            "curves": result.paths.get("curves"),
            "history": result.history,
        })
    return rows


def plot_comparison(rows: Sequence[Mapping[str, Any]], path: str) -> str:
    """Validation accuracy and training loss per epoch, one line per rule, in one PNG."""
    fig, (left, right) = new_figure(2, width=5.0, height=4.0)
    for row in rows:
        history = row["history"]
        left.plot(history["epoch"], history["val_accuracy"], marker=".", label=row["rule"])
        right.plot(history["epoch"], history["train_loss"], marker=".", label=row["rule"])
    left.set(xlabel="epoch", ylabel="validation accuracy")
    right.set(xlabel="epoch", ylabel="training loss", yscale="log")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m optlab compare``."""
    try:
        rules = parse_rules(args.rules)
        lrs = parse_lrs(args.lr)
    except ValueError as error:
        raise SystemExit(f"compare: {error}") from None
    run_dir = args.run_dir or os.path.join("runs", time.strftime("compare-%Y%m%d-%H%M%S"))
    os.makedirs(run_dir, exist_ok=True)
    rows = compare(
        rules, lrs, epochs=args.epochs, batch_size=args.batch_size, ema_decay=args.ema_decay,
        seed=args.seed, run_dir=run_dir, progress=not args.no_progress,
    )
    print(format_table(rows))
    figure = plot_comparison(rows, os.path.join(run_dir, "compare.png"))
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump([{k: v for k, v in row.items() if k != "history"} for row in rows], f, indent=1)
    print(f"\ncurves: {figure} and {run_dir}/<rule>/curves.png; TensorBoard: tensorboard --logdir {run_dir}")
    return 0
