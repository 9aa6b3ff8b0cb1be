"""Command line: ``python -m optlab <command>``."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ._rule_names import RULES


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
        help="a quick tour: the ravine race, then every rule trained on digits (compare); the main job is report",
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
_COMMAND_MODULES: tuple[str, ...] = ("optlab.lab._race_command", "optlab.lab._schedules_command", "optlab.lab._report_command", "optlab.practice._cli", "optlab.transfer._cli", "optlab.ensembles._cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m optlab",
        description="optlab: the lecture's training recipe as small, exact JAX parts.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(subparsers)
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
