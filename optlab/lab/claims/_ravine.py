"""Claim 1: on a ravine SGD jitters across and crawls along; momentum gets there faster."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np

from .._landscapes import ravine
from .._plots import plot_race
from ._base import DID_NOT_HOLD, HELD, Budget, Claim, Measurement
from ._races import TOLERANCE, race64

ANGLE = 30.0
KAPPA = 50.0
WINDOW = 20


def _steep_and_shallow(path: np.ndarray, landscape) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the path along the Hessian's steepest and flattest eigenvectors at the minimum."""
    with jax.enable_x64(True):
        hessian = np.asarray(jax.hessian(landscape.loss)(np.zeros(2)))
    _, vectors = np.linalg.eigh(hessian)
    return path @ vectors[:, 1], path @ vectors[:, 0]


def measure(budget: Budget) -> Measurement:
    land = ravine(KAPPA, angle=ANGLE)
    results = race64(("sgd", "momentum"), land, steps=budget.pick(600, 1000))
    sgd, momentum = results["sgd"], results["momentum"]
    steep, shallow = _steep_and_shallow(sgd.path, land)
    flips = int(np.sum(np.sign(steep[1 : WINDOW + 1]) != np.sign(steep[:WINDOW])))
    numbers = {
        "kappa": KAPPA,
        "angle_deg": ANGLE,
        "sgd_lr": sgd.learning_rate,
        "sgd_steps_to_1e-6": sgd.steps_to_tolerance,
        "momentum_lr": momentum.learning_rate,
        "momentum_steps_to_1e-6": momentum.steps_to_tolerance,
        f"sgd_steep_sign_flips_in_first_{WINDOW}": flips,
        f"sgd_shallow_distance_left_after_{WINDOW}": float(abs(shallow[WINDOW]) / abs(shallow[0])),
    }
    return Measurement(numbers, plot_race(land, list(results.values()), TOLERANCE))


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when SGD's steep coordinate changes sign at >= half of its first 20 steps (jitter) and
    momentum reaches the tolerance, in fewer steps than SGD (never reaching counts as infinitely many)."""
    sgd = numbers["sgd_steps_to_1e-6"]
    momentum = numbers["momentum_steps_to_1e-6"]
    jitter = numbers[f"sgd_steep_sign_flips_in_first_{WINDOW}"] >= WINDOW / 2
    faster = momentum is not None and (sgd is None or momentum < sgd)
    return HELD if jitter and faster else DID_NOT_HOLD


CLAIM = Claim(
    id=1,
    title="ravine",
    claim="On a ravine SGD jitters across the steep direction and crawls along the shallow one; "
    "momentum gets to the minimum faster.",
    rule=f"On the ravine kappa={KAPPA:g} turned by {ANGLE:g} degrees (the fair test: per-coordinate "
    "methods cannot exploit the axes), float64, each rule at its best lr of 25 in [1e-3, 10]: SGD's "
    f"steep coordinate changes sign at >= {WINDOW // 2} of its first {WINDOW} steps, and momentum "
    "reaches loss 1e-6 in fewer steps than SGD.",
    measure=measure,
    verdict=verdict,
)
