"""``python -m optlab transfer``: the few-label transfer experiment; table, JSON and PNG."""

from __future__ import annotations

import argparse
import os
import time


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "transfer",
        help="pretrain the digits CNN on 0-4, learn 5-9 from 5/10/50 labels per class: "
        "scratch vs feature extraction vs fine-tuning vs layer-wise lr decay",
        description=(
            "Pretrain the digits CNN on classes 0-4, then learn classes 5-9 from n labelled images per "
            "class four ways (from scratch, feature extraction, fine-tuning with a smaller lr for the "
            "transferred convolutions, layer-wise lr decay) with the same number of steps; test accuracy "
            "mean ± sd over the seeds. Writes transfer.md, transfer.json and transfer.png to --out."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="tiny budget and n=5 only (smoke run of the same code)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per n (default 3; 1 with --quick)")
    parser.add_argument("--out", default="transfer-results", help="output directory (default transfer-results)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ._experiment import run_experiment, save

    count = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    if count < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)  # fail before training on an unwritable directory
    began = time.perf_counter()
    ns = (5,) if args.quick else (5, 10, 50)
    print(f"transfer: n in {ns}, {count} seed(s){' (quick)' if args.quick else ''}; writing to {out}")
    result = run_experiment(ns=ns, seeds=tuple(range(count)), quick=args.quick)
    print(result.table())
    paths = save(result, out)
    print(f"wrote {paths['md']}, {paths['json']} and {paths['png']} ({time.perf_counter() - began:.0f} s)")
    return 0
