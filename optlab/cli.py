"""Command line: ``python -m optlab <command>``."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Sequence

import numpy as np

RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def _add_race(subparsers) -> None:
    parser = subparsers.add_parser(
        "race",
        help="race every update rule on a 2-D ravine (ill-conditioned quadratic)",
        description=(
            "Race every update rule on the ravine f(x, y) = (x^2 + kappa*y^2)/2 from (-4, 1). "
            "Each rule gets its best learning rate from a log grid (one vmapped, jitted run per "
            "rule); prints steps to reach the tolerance and the final loss."
        ),
    )
    parser.add_argument("--kappa", type=float, default=50.0, help="condition number (default 50)")
    parser.add_argument("--steps", type=int, default=1000, help="steps per run (default 1000)")
    parser.add_argument("--tolerance", type=float, default=1e-6, help="loss tolerance (default 1e-6)")
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated rules to race")
    parser.set_defaults(run=_run_race)


def _run_race(args: argparse.Namespace) -> int:
    import optlab
    from optlab.lab import format_table, race, ravine

    names = [name.strip() for name in args.rules.split(",") if name.strip()]
    unknown = sorted(set(names) - set(RULES))
    if unknown:
        raise SystemExit(f"unknown rules {unknown}; choose from {', '.join(RULES)}")
    optimizers = {name: getattr(optlab, name)(1e-3) for name in names}
    grid = np.geomspace(1e-3, 10.0, 25)
    landscape = ravine(args.kappa)
    start = time.perf_counter()
    results = race(optimizers, landscape, steps=args.steps, tolerance=args.tolerance, learning_rates=grid)
    print(f"Race on {landscape.name} from {landscape.start}, {args.steps} steps, best lr of 25 in [1e-3, 10]:")
    print(format_table(results, args.tolerance))
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


def _add_compare(subparsers) -> None:
    from optlab.lab import _compare

    parser = subparsers.add_parser(
        "compare", help="train the digits CNN with every rule and compare (best val/test accuracy)"
    )
    _compare.add_arguments(parser)
    parser.set_defaults(run=_compare.run)


def _add_demo(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the main job: the ravine race, then every rule trained on digits (compare)",
        description="Run `race` (2-D ravine) and then `compare` (digits CNN) with their defaults.",
    )
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated rules (default: all)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs per rule in compare (default 15)")
    parser.add_argument("--run-dir", default=None, help="compare's output directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    code = main(["race", "--rules", args.rules])
    if code:
        return code
    print()
    compare = ["compare", "--rules", args.rules, "--epochs", str(args.epochs)]
    compare += ["--run-dir", args.run_dir] if args.run_dir else []
    compare += ["--no-progress"] if args.no_progress else []
    return main(compare)


# Modules that add commands: each has ``add_commands(subparsers)`` and sets ``run`` on its parsers.
# A new command is one module and one line here; ``main`` handles user errors for all of them.
_COMMAND_MODULES: tuple[str, ...] = ("optlab.practice._cli",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m optlab",
        description="optlab: the lecture's training recipe as small, exact JAX parts.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(subparsers)
    _add_race(subparsers)
    _add_compare(subparsers)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. A user mistake (``ValueError``/``OSError`` from the library, e.g. a bad
    option value or an unwritable directory) ends with one line on stderr naming it, status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (ValueError, OSError) as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
