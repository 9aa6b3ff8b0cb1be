"""``python -m optlab ensemble [--quick] [--out DIR]``: the ensembles experiment from the command line."""

from __future__ import annotations

import argparse
import os
import sys
import time

from ._experiment import FULL, QUICK, run_experiment


def add_commands(subparsers) -> None:
    """Add the ``ensemble`` command."""
    parser = subparsers.add_parser(
        "ensemble",
        help="single model vs Polyak/EMA, SWA, snapshot and independent ensembles on digits",
        description=(
            "Train the digits CNN as a single model (with its Polyak/EMA and SWA averages), a snapshot "
            "ensemble and a vmapped independent ensemble over several seeds; print test accuracy and NLL "
            "(mean +- std over seeds) and wall time; write table.txt, results.json and ensembles.png."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run (2 seeds, 4 epochs, K=M=2; seconds)")
    parser.add_argument("--seeds", type=int, default=None, help=f"number of seeds (default {len(FULL.seeds)})")
    parser.add_argument("--epochs", type=int, default=None, help=f"epochs per model (default {FULL.epochs})")
    parser.add_argument("--out", default=None, help="output directory (default runs/ensemble-<timestamp>)")
    parser.add_argument("--no-batch-norm", action="store_true", help="the CNN without BatchNorm")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``python -m optlab ensemble``."""
    config = QUICK if args.quick else FULL
    if args.seeds is not None:
        if args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
        config = config._replace(seeds=tuple(range(args.seeds)))
    if args.epochs is not None:
        if args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
        config = config._replace(epochs=args.epochs)
    if args.no_batch_norm:
        config = config._replace(batch_norm=False)
    out = args.out or os.path.join("runs", time.strftime("ensemble-%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)  # an unwritable --out fails here, before any training
    began = time.perf_counter()
    result = run_experiment(config, out_dir=out, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(result["table"])
    print(f"\n({time.perf_counter() - began:.0f} s) wrote {', '.join(result['paths'].values())}")
    return 0
