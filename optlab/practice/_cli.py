"""``python -m optlab diagnose RUN_DIR`` and ``python -m optlab lr-find``: the practice commands."""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings

from .._rule_names import RULES


def add_commands(subparsers) -> None:
    """Add ``diagnose`` and ``lr-find`` to ``python -m optlab``."""
    parser = subparsers.add_parser(
        "diagnose",
        help="read a run's learning curves: non-finite, diverging, not decreasing, under/overfitting",
        description=(
            "Print the findings of optlab.practice.diagnose on the history.json of a run directory "
            "written by fit (or compare): non-finite losses, divergence, no decrease, underfitting, "
            "overfitting (with the epoch it began) and, with --num-classes, the initial loss."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory holding history.json (or the file)")
    parser.add_argument(
        "--num-classes", type=int, default=None,
        help="number of classes: also check the first step's loss against log(num_classes)",
    )
    parser.set_defaults(run=run_diagnose)

    parser = subparsers.add_parser(
        "lr-find",
        help="LR range test of the digits CNN for one update rule; writes the curve as PNG",
        description=(
            "Train a copy of the digits CNN while the learning rate grows exponentially from "
            "--start-lr to --end-lr (optlab.practice.lr_find); print the suggested learning rates "
            "(valley, steepest, minimum) and write lr_find.png and lr_find.json to --out."
        ),
    )
    parser.add_argument("--rule", default="adam", help=f"update rule, one of {', '.join(RULES)} (default adam)")
    parser.add_argument("--out", default=None, help="output directory (default runs/lr-find-<timestamp>)")
    parser.add_argument("--start-lr", type=float, default=1e-7, help="first learning rate (default 1e-7)")
    parser.add_argument("--end-lr", type=float, default=10.0, help="last learning rate (default 10)")
    parser.add_argument("--num-steps", type=int, default=100, help="steps (default 100)")
    parser.add_argument("--beta", type=float, default=0.98, help="smoothing of the loss (default 0.98)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--batch-norm", action="store_true", help="the CNN with BatchNorm")
    parser.add_argument("--seed", type=int, default=0, help="seed for init and data order (default 0)")
    parser.set_defaults(run=run_lr_find)


def run_diagnose(args: argparse.Namespace) -> int:
    from ._diagnose import _columns, diagnose, load_history

    history = load_history(args.run_dir)
    findings = diagnose(history, num_classes=args.num_classes)
    cols = _columns(history)
    train = cols["train_loss"]
    summary = f"{len(train)} epochs, train loss {train[0]:.4g} -> {train[-1]:.4g}"
    if "val_loss" in cols:
        summary += f", val loss {cols['val_loss'][0]:.4g} -> {cols['val_loss'][-1]:.4g}"
    print(f"diagnose {args.run_dir}: {summary}")
    if args.num_classes is None:
        print("(initial loss not checked: pass --num-classes)")
    if not findings:
        print("no findings: the learning curves look healthy")
    for finding in findings:
        print(f"epoch {finding.epoch:>3}  {finding.kind:<15} {finding.message}")
    return 0


def run_lr_find(args: argparse.Namespace) -> int:
    import jax

    import optlab
    from optlab.data import load_digits
    from optlab.models import DigitsCNN
    from optlab.train import TrainState, classifier_loss

    from ._lr_find import _check_args, lr_find

    if args.rule not in RULES:
        raise ValueError(f"--rule must be one of {', '.join(RULES)}, got {args.rule!r}")
    _check_args(args.start_lr, args.end_lr, args.num_steps, args.beta, 4.0, args.seed)  # fail before loading
    out = args.out or os.path.join("runs", time.strftime("lr-find-%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    data = load_digits(seed=0)
    model = DigitsCNN(batch_norm=args.batch_norm)
    variables = model.init(jax.random.key(args.seed), data.train.x[:1])
    extra = {"model_state": {"batch_stats": variables["batch_stats"]}} if args.batch_norm else {}
    state = TrainState.create(apply_fn=model.apply, params=variables["params"], tx=getattr(optlab, args.rule)(1.0), **extra)
    print(
        f"LR range test: digits CNN{' with BatchNorm' if args.batch_norm else ''}, {args.rule}, "
        f"{args.num_steps} steps from {args.start_lr:g} to {args.end_lr:g}, batch {args.batch_size} ...",
        flush=True,
    )
    began = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = lr_find(
            state, classifier_loss(model.apply), data.train.x, data.train.y, batch_size=args.batch_size,
            start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.num_steps, beta=args.beta, seed=args.seed,
        )
    print(f"{len(result.losses)} steps in {time.perf_counter() - began:.1f} s")
    for name, value in result.suggestions.items():
        print(f"{name:<9} {value:.3g}" + ("  <- suggestion" if name == "valley" else ""))
    if result.diverged_at is not None:
        print(f"stopped at lr {result.diverged_at:.3g}: the smoothed loss passed 4 x its best")
    for warning in caught:
        print(f"warning: {warning.message}")
    png = result.plot(os.path.join(out, "lr_find.png"), title=f"LR range test: digits CNN, {args.rule}")
    path = os.path.join(out, "lr_find.json")
    with open(path, "w") as f:
        json.dump({
            "rule": args.rule, "learning_rates": result.learning_rates.tolist(), "losses": _finite(result.losses),
            "smoothed_losses": _finite(result.smoothed_losses),
            "suggestions": dict(zip(result.suggestions, _finite(result.suggestions.values()))),
            "diverged_at": result.diverged_at,
        }, f, indent=1)
    print(f"wrote {png} and {path}")
    return 0


def _finite(values) -> list:
    return [float(v) if math.isfinite(v) else None for v in values]
