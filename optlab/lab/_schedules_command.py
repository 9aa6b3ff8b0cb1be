"""``python -m optlab schedules``: every learning-rate schedule over one run, on one figure."""

from __future__ import annotations

import argparse
import os
import time

from optlab import _checks, schedules



def lecture_schedules(lr: float, epochs: int, steps_per_epoch: int) -> dict:
    """The lecture's schedules over ``epochs`` epochs (step: x0.1 every third of the run)."""
    total = epochs * steps_per_epoch
    third = max(1, epochs // 3)
    return {
        f"step (x0.1 every {third} epochs)": schedules.per_epoch(schedules.step(lr, every=third), steps_per_epoch),
        "cosine": schedules.cosine(lr, total_steps=total),
        "linear": schedules.linear(lr, total_steps=total),
        "exponential (to 1% at the end)": schedules.exponential(lr, decay_percent=100 * (1 - 0.01 ** (1 / total))),
        "constant": schedules.constant(lr),
        f"warmup {max(1, epochs // 18)} epochs + cosine": schedules.warmup(
            schedules.cosine(lr, total_steps=total - max(1, epochs // 18) * steps_per_epoch),
            warmup_steps=max(1, epochs // 18) * steps_per_epoch),
        f"cosine restarts every {third} epochs": schedules.cosine_restarts(lr, period=third * steps_per_epoch),
    }


def add_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "schedules", help="draw every learning-rate schedule over one run (schedules.png)",
        description="Draw the lecture's learning-rate schedules over one run on one figure and print "
        "their values at a few epochs.",
    )
    parser.add_argument("--lr", type=float, default=0.1, help="initial learning rate (default 0.1)")
    parser.add_argument("--epochs", type=int, default=90, help="epochs in the run (default 90)")
    parser.add_argument("--steps-per-epoch", type=int, default=100, help="steps per epoch (default 100)")
    parser.add_argument("--out", default=None, help="output directory (default runs/schedules-<timestamp>)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    _checks.positive(args.lr, "--lr")
    epochs = _checks.int_at_least(args.epochs, "--epochs", 3)
    per_epoch = _checks.int_at_least(args.steps_per_epoch, "--steps-per-epoch", 1)
    out = args.out or os.path.join("runs", time.strftime("schedules-%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    tour = lecture_schedules(args.lr, epochs, per_epoch)
    marks = sorted({0, 1, epochs // 3, epochs // 2, 2 * epochs // 3, epochs - 1})
    print(f"{'schedule':<34}" + "".join(f"{'ep ' + str(e):>9}" for e in marks))
    for name, schedule in tour.items():
        print(f"{name:<34}" + "".join(f"{float(schedule(e * per_epoch)):>9.4f}" for e in marks))
    from ._plots import plot_schedules  # matplotlib only when drawing

    path = os.path.join(out, "schedules.png")
    plot_schedules(tour, epochs * per_epoch, per_epoch).savefig(path, dpi=80)
    print(f"wrote {path}")
    return 0
