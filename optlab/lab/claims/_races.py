"""Shared by the landscape claims: a float64 race of named rules over one learning-rate grid."""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np

import optlab

from .._landscapes import Landscape
from .._race import RaceResult, race

GRID = tuple(float(v) for v in np.geomspace(1e-3, 10.0, 25))
"""Each rule's learning rate is the best of these 25 (log-spaced in [1e-3, 10])."""
TOLERANCE = 1e-6


def race64(names: Sequence[str], landscape: Landscape, steps: int, grid: Sequence[float] = GRID,
           **kwargs) -> dict[str, RaceResult]:
    """``race`` in float64 (the lab notes: float32 iterates can underflow to the minimizer and freeze
    there, faking convergence); ``kwargs`` go to every rule's factory."""
    optimizers = {name: getattr(optlab, name)(1e-3, **kwargs) for name in names}
    with jax.enable_x64(True):
        results = race(optimizers, landscape, steps=steps, tolerance=TOLERANCE, learning_rates=grid,
                       dtype="float64")
    return {r.name: r for r in results}


def rank(result: RaceResult) -> tuple:
    """Who won a race: reaching the tolerance first, else the lower final loss."""
    reached = result.steps_to_tolerance is not None
    return (not reached, result.steps_to_tolerance if reached else 0, result.final_loss)
