"""Claim 5: without bias correction, Adam's first steps are much larger."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np

import optlab

from .._landscapes import ravine
from .._plots import new_figure
from .._race import sweep
from ._base import DID_NOT_HOLD, HELD, Budget, Claim, Measurement, finish

LR = 0.1
FIRST = 5


def measure(budget: Budget) -> Measurement:
    land = ravine(50.0, angle=30.0)
    numbers: dict[str, Any] = {"lr": LR}
    fig, (ax,) = new_figure(1, 6.0, 3.5)
    with jax.enable_x64(True):
        for corrected in (True, False):
            tx = optlab.adam(LR, bias_correction=corrected)
            _, paths = sweep(tx, land, [LR], FIRST, "float64")
            sizes = np.linalg.norm(np.diff(paths[0], axis=0), axis=1)
            key = "corrected" if corrected else "uncorrected"
            numbers[f"{key}_first_step_sizes"] = [float(s) for s in sizes]
            ax.plot(np.arange(1, FIRST + 1), sizes, "o-", label=f"bias_correction={corrected}")
    numbers["first_step_ratio"] = numbers["uncorrected_first_step_sizes"][0] / numbers["corrected_first_step_sizes"][0]
    ax.set(xlabel="step", ylabel="|w_t - w_{t-1}|", title=f"Adam's first steps, lr {LR:g}")
    finish(fig, ax)
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when the uncorrected first step is at least twice the corrected one."""
    return HELD if numbers["first_step_ratio"] >= 2.0 else DID_NOT_HOLD


CLAIM = Claim(
    id=5,
    title="adam-bias-correction",
    claim="Adam's moment estimates start at 0, so without bias correction its first steps are much "
    "larger (m/sqrt(v) = (1-b1)/sqrt(1-b2) = 3.2 times the corrected step at t = 1).",
    rule=f"Adam (b1 0.9, b2 0.999) at lr {LR:g} on the turned ravine, float64: the first step's length "
    "without bias correction is at least 2x the length with it.",
    measure=measure,
    verdict=verdict,
)
