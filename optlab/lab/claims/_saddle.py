"""Claim 2: momentum carries through a saddle and out of a poor local minimum where SGD stays."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np

import optlab

from .._landscapes import local_minimum, saddle
from .._plots import draw_landscape, new_figure
from .._race import RaceResult, sweep
from ._base import DID_NOT_HOLD, HELD, Budget, Claim, Measurement, both
from ._races import GRID


def _escape_step(losses: np.ndarray, below: float) -> int | None:
    """First step at which ``loss - minimum`` is below ``below``; None if never."""
    hits = np.nonzero(losses < below)[0]
    return int(hits[0]) if hits.size else None


def _basins(paths: np.ndarray, minimizers) -> list[str]:
    """Where each run ended: "better", "poor" (within 1e-3 of that minimizer) or "elsewhere"."""
    good, poor = (np.asarray(m) for m in minimizers)
    ends = np.nan_to_num(paths[:, -1], nan=np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        near_good, near_poor = (np.max(np.abs(ends - m), axis=1) < 1e-3 for m in (good, poor))
    return ["better" if g else "poor" if p else "elsewhere" for g, p in zip(near_good, near_poor)]


def _result(name, lr, losses, path) -> RaceResult:
    return RaceResult(name, lr, losses, path, None, float(losses[-1]))


def measure(budget: Budget) -> Measurement:
    steps = budget.pick(300, 500)
    fig, (left, right) = new_figure(2)
    numbers: dict[str, Any] = {}
    # The saddle: steps until the loss is halfway from the saddle's value down to the minimum.
    land = saddle()
    halfway = 0.5 * (0.0 - land.minimum)
    shown = []
    with jax.enable_x64(True):
        for name in ("sgd", "momentum"):
            losses, paths = sweep(getattr(optlab, name)(1e-3), land, GRID, steps, "float64")
            escapes = [_escape_step(row, halfway) for row in losses]
            best = min(range(len(GRID)), key=lambda i: (escapes[i] is None, escapes[i] or 0))
            numbers[f"saddle_{name}_lr"] = GRID[best]
            numbers[f"saddle_{name}_steps_past_saddle"] = escapes[best]
            shown.append(_result(name, GRID[best], losses[best], paths[best]))
        draw_landscape(left, land, shown)
        # The local minimum: which basin each run of the same grid ends in.
        land = local_minimum()
        shown = []
        for name in ("sgd", "momentum"):
            losses, paths = sweep(getattr(optlab, name)(1e-3), land, GRID, steps, "float64")
            basins = _basins(paths, land.minimizers)
            numbers[f"local_{name}_runs_in_better_minimum"] = basins.count("better")
            numbers[f"local_{name}_runs_in_poor_minimum"] = basins.count("poor")
            pick = basins.index("better") if "better" in basins else (basins.index("poor") if "poor" in basins else 0)
            shown.append(_result(name, GRID[pick], losses[pick], paths[pick]))
        draw_landscape(right, land, shown)
    numbers["grid_size"] = len(GRID)
    fig.tight_layout()
    return Measurement(numbers, fig)


def saddle_verdict(numbers: Mapping[str, Any]) -> str:
    """Momentum gets halfway down past the saddle, in fewer steps than SGD (never = infinitely many)."""
    sgd, momentum = numbers["saddle_sgd_steps_past_saddle"], numbers["saddle_momentum_steps_past_saddle"]
    return HELD if momentum is not None and (sgd is None or momentum < sgd) else DID_NOT_HOLD


def local_verdict(numbers: Mapping[str, Any]) -> str:
    """No SGD run of the grid ends in the better minimum; at least one momentum run does."""
    sgd, momentum = numbers["local_sgd_runs_in_better_minimum"], numbers["local_momentum_runs_in_better_minimum"]
    return HELD if sgd == 0 and momentum > 0 else DID_NOT_HOLD


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held if both parts hold, did not hold if neither does, else inconclusive."""
    return both(saddle_verdict(numbers), local_verdict(numbers))


CLAIM = Claim(
    id=2,
    title="saddle-and-local-minimum",
    claim="Momentum's accumulated velocity carries it through a saddle point and out of a poor local "
    "minimum, where SGD gets stuck.",
    rule="float64, lrs of 25 in [1e-3, 10]. Saddle f = 5x^2 + y^4/4 - y^2/2 from (1, 1e-3): at each "
    "rule's best lr, momentum gets halfway down from the saddle to the minimum in fewer steps than SGD. "
    "Local minimum f = (x^2-1)^2 + x/2 + y^2 from (1.5, 0.5): no SGD run of the grid ends in the better "
    "minimum and at least one momentum run does. Held if both parts hold, did not hold if neither, "
    "else inconclusive.",
    measure=measure,
    verdict=verdict,
)
