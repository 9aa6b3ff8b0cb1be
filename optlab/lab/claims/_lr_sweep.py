"""Claim 8: too high a learning rate diverges, too low crawls."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np

import optlab

from .._landscapes import ravine
from .._plots import new_figure
from .._race import sweep
from ._base import DID_NOT_HOLD, HELD, Budget, Claim, Measurement, as_float, finish

GRID = tuple(float(v) for v in np.geomspace(1e-4, 1.0, 13))


def measure(budget: Budget) -> Measurement:
    steps = 500  # cheap either way: the grid runs as one vmapped scan
    land = ravine(50.0, angle=30.0)
    with jax.enable_x64(True):
        losses, _ = sweep(optlab.sgd(1e-3), land, GRID, steps, "float64")
    initial = float(losses[0, 0])
    finals = [float(v) if np.isfinite(v) else float("inf") for v in losses[:, -1]]
    numbers = {
        "steps": steps,
        "initial_loss": initial,
        "learning_rates": list(GRID),
        "final_losses": finals,
        "lowest_final_loss": min(finals),
        "best_lr": GRID[int(np.argmin(finals))],
    }
    fig, (left, right) = new_figure(2)
    left.plot(GRID, np.clip(finals, 1e-30, 1e30), "o-")
    left.axhline(initial, color="k", ls=":", lw=0.8, label="initial loss")
    left.axhline(1e-6, color="g", ls=":", lw=0.8, label="1e-6")
    left.set(xscale="log", yscale="log", xlabel="learning rate", ylabel=f"loss after {steps} steps",
             title="SGD on the turned ravine")
    for i in (0, 4, int(np.argmin(finals)), len(GRID) - 3):
        right.plot(np.clip(np.nan_to_num(losses[i], nan=1e30), 1e-30, 1e30), lw=1, label=f"lr {GRID[i]:.2g}")
    right.set(yscale="log", xlabel="step", ylabel="loss")
    finish(fig, left, right)
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when the largest lr ends above the initial loss (diverged), the smallest ends above 1% of
    it (crawling), and some lr in between reaches 1e-6."""
    finals = [as_float(v) for v in numbers["final_losses"]]
    initial = numbers["initial_loss"]
    diverged = not finals[-1] <= initial  # NaN counts as diverged
    crawled = finals[0] > 0.01 * initial
    reached = any(v < 1e-6 for v in finals[1:-1])
    return HELD if diverged and crawled and reached else DID_NOT_HOLD


CLAIM = Claim(
    id=8,
    title="lr-too-high-too-low",
    claim="Too high a learning rate makes the loss explode; too low a learning rate makes progress crawl.",
    rule="SGD on the ravine kappa=50 turned by 30 degrees, 13 lrs log-spaced in [1e-4, 1], float64: the "
    "largest lr ends above the initial loss, the smallest still above 1% of it, and some lr in between "
    "reaches 1e-6.",
    measure=measure,
    verdict=verdict,
)
