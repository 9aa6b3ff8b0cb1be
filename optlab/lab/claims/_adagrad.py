"""Claim 4: AdaGrad's effective step shrinks until progress stalls; RMSProp's does not."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np

import optlab

from .._landscapes import plateau
from .._plots import new_figure
from .._race import sweep
from ._base import DID_NOT_HOLD, HELD, Budget, Claim, Measurement, finish

LR = 0.01
EARLY = 10


def effective_steps(loss, path: np.ndarray) -> np.ndarray:
    """``|w_{t+1} - w_t| / |grad f(w_t)|`` per step: the step size the rule actually applied."""
    grads = np.asarray(jax.vmap(jax.grad(loss))(path[:-1]))
    norms = np.linalg.norm(grads, axis=1)
    moves = np.linalg.norm(np.diff(path, axis=0), axis=1)
    return np.where(norms > 0, moves / np.where(norms > 0, norms, 1.0), np.nan)


def measure(budget: Budget) -> Measurement:
    steps = budget.pick(1000, 3000)
    land = plateau()
    fig, (left, right) = new_figure(2)
    numbers: dict[str, Any] = {"lr": LR, "steps": steps}
    with jax.enable_x64(True):
        for name in ("adagrad", "rmsprop"):
            losses, paths = sweep(getattr(optlab, name)(LR), land, [LR], steps, "float64")
            eff = effective_steps(land.loss, paths[0])
            numbers[f"{name}_effective_step_at_{EARLY}"] = float(eff[EARLY - 1])
            numbers[f"{name}_effective_step_at_end"] = float(eff[-1])
            numbers[f"{name}_final_loss"] = float(losses[0, -1])
            numbers[f"{name}_lowest_loss"] = float(losses[0].min())
            numbers[f"{name}_rose_after_its_lowest"] = bool(losses[0, -1] > losses[0].min())
            left.plot(eff, lw=1, label=name)
            right.plot(np.maximum(losses[0], 1e-20), lw=1, label=name)
    left.set(yscale="log", xlabel="step", ylabel="|step| / |gradient|", title=f"effective step, lr {LR:g}")
    right.set(yscale="log", xlabel="step", ylabel="loss - minimum (0 drawn at 1e-20)", title=land.name)
    finish(fig, left, right)
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when AdaGrad's effective step ends below 1/10 of its step-10 value with its loss still above
    1e-2 (stalled), RMSProp's effective step does not shrink, and RMSProp's final loss is lower."""
    a0, a1 = numbers[f"adagrad_effective_step_at_{EARLY}"], numbers["adagrad_effective_step_at_end"]
    r0, r1 = numbers[f"rmsprop_effective_step_at_{EARLY}"], numbers["rmsprop_effective_step_at_end"]
    stalled = a1 < 0.1 * a0 and numbers["adagrad_final_loss"] > 1e-2
    keeps_going = r1 >= r0 and numbers["rmsprop_final_loss"] < numbers["adagrad_final_loss"]
    return HELD if stalled and keeps_going else DID_NOT_HOLD


CLAIM = Claim(
    id=4,
    title="adagrad-stalls",
    claim="AdaGrad's accumulated squared gradients make its steps shrink until progress stalls; "
    "RMSProp's leaky average does not.",
    rule=f"On the plateau 1 - exp(-(x^2+y^2)/2) from (2.5, 1.5), both at lr {LR:g}, float64: AdaGrad's "
    f"effective step |dw|/|g| at the last step is below 1/10 of its value at step {EARLY} and its loss "
    f"is still above 1e-2, while RMSProp's effective step at the end is at least its step-{EARLY} value "
    "and its final loss is lower than AdaGrad's. (RMSProp's lowest loss is reported too: with a "
    "constant lr it may rise again late.)",
    measure=measure,
    verdict=verdict,
)
