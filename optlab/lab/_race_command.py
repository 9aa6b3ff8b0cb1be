"""``python -m optlab race``: race update rules on a landscape; table, and pictures with ``--out``."""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from .._rule_names import RULES, parse_rules
from ._landscapes import LANDSCAPES, Landscape, ravine

GRID = np.geomspace(1e-3, 10.0, 25)


def landscape_from_args(args: argparse.Namespace) -> Landscape:
    """The landscape named by ``--landscape``; ``--kappa``/``--angle`` only for the ravines."""
    if args.landscape in ("ravine", "rotated-ravine"):
        angle = args.angle if args.angle is not None else (30.0 if args.landscape == "rotated-ravine" else 0.0)
        return ravine(args.kappa if args.kappa is not None else 50.0, angle=angle)
    for option in ("kappa", "angle"):
        if getattr(args, option) is not None:
            raise ValueError(f"--{option} applies to --landscape ravine/rotated-ravine, not {args.landscape!r}")
    return LANDSCAPES[args.landscape]()


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "race",
        help="race every update rule on a 2-D landscape (ravine, saddle, ...); pictures with --out",
        description=(
            "Race update rules from the same start on a 2-D landscape. Each rule gets its best "
            "learning rate from a 25-point log grid in [1e-3, 10] (one vmapped, jitted run per rule); "
            "prints the steps until the loss stays below the tolerance and the final loss. With --out: "
            "contour.png (every rule's path), losses.png (loss per step, log y) and race.gif."
        ),
    )
    parser.add_argument("--landscape", default="ravine", choices=sorted(LANDSCAPES), help="default ravine")
    parser.add_argument("--kappa", type=float, default=None, help="ravine condition number (default 50)")
    parser.add_argument("--angle", type=float, default=None,
                        help="ravine rotation in degrees (default 0; rotated-ravine: 30)")
    parser.add_argument("--steps", type=int, default=1000, help="steps per run (default 1000)")
    parser.add_argument("--tolerance", type=float, default=1e-6, help="loss tolerance (default 1e-6)")
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated rules to race (default: all)")
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"),
                        help="iterate dtype (default float64: float32 iterates can underflow to the "
                        "minimizer and freeze, faking convergence)")
    parser.add_argument("--out", default=None, help="directory for contour.png, losses.png and race.gif")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import optlab
    from optlab.lab import format_table, race

    names = parse_rules(args.rules)
    landscape = landscape_from_args(args)
    if args.out is not None:
        os.makedirs(args.out, exist_ok=True)
    optimizers = {name: getattr(optlab, name)(1e-3) for name in names}
    start = time.perf_counter()
    with jax.enable_x64(args.dtype == "float64"):
        results = race(optimizers, landscape, steps=args.steps, tolerance=args.tolerance, learning_rates=GRID,
                       dtype=args.dtype)
        print(f"Race on {landscape.name} from ({landscape.start[0]:.3g}, {landscape.start[1]:.3g}), "
              f"{args.steps} steps, {args.dtype}, best lr of 25 in [1e-3, 10]:")
        print(format_table(results, args.tolerance))
        print(f"({time.perf_counter() - start:.1f} s)")
        if args.out is not None:
            print(f"wrote {', '.join(write_pictures(landscape, results, args.tolerance, args.out))}")
    return 0


def write_pictures(landscape, results, tolerance: float, out: str) -> list[str]:
    """contour.png, losses.png and race.gif under ``out``; returns their paths."""
    from ._plots import animate_race, draw_landscape, draw_losses, new_figure  # matplotlib only when drawing

    paths = []
    for name, draw in (("contour.png", lambda ax: draw_landscape(ax, landscape, results)),
                       ("losses.png", lambda ax: draw_losses(ax, results, tolerance))):
        fig, (ax,) = new_figure(1, 6.0, 4.5)
        draw(ax)
        fig.tight_layout()
        paths.append(os.path.join(out, name))
        fig.savefig(paths[-1], dpi=80)
    paths.append(animate_race(landscape, results, os.path.join(out, "race.gif")))
    return paths
