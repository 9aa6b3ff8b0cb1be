"""Claim 11: a correct model and training loop can overfit a tiny subset; a broken one cannot."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp

import optlab
from optlab.models import DigitsCNN
from optlab.practice import overfit_subset
from optlab.train import TrainState, classifier_loss

from .._plots import new_figure
from ._base import DID_NOT_HOLD, HELD, INCONCLUSIVE, Budget, Claim, Measurement, finish
from ._digits import SEED, digits

SUBSET = 32
TARGET = 0.05
LR = 1e-2


def measure(budget: Budget) -> Measurement:
    steps = budget.pick(30, 200)
    data = digits()
    model = DigitsCNN()
    params = model.init(jax.random.key(SEED), jnp.zeros((1, 8, 8, 1)))["params"]
    loss_fn = classifier_loss(model.apply)

    def shuffled_labels(params, x, y, rng):  # a broken pipeline: labels detached from their images
        return loss_fn(params, x, jax.random.permutation(rng, y), rng)

    x, y = data.train.x[:SUBSET], data.train.y[:SUBSET]
    runs = {
        "correct": (optlab.adam(LR), loss_fn),
        "shuffled_labels": (optlab.adam(LR), shuffled_labels),
        "lr_zero": (optlab.adam(0.0), loss_fn),
    }
    numbers: dict[str, Any] = {"subset": SUBSET, "steps": steps, "target_loss": TARGET, "lr": LR}
    fig, (ax,) = new_figure(1, 6.0, 3.5)
    for name, (tx, fn) in runs.items():
        state = TrainState.create(apply_fn=model.apply, params=params, tx=tx)
        result = overfit_subset(state, fn, x, y, steps=steps, target_loss=TARGET, seed=SEED)
        numbers[f"{name}_passed"] = result.passed
        numbers[f"{name}_final_loss"] = result.final_loss
        numbers[f"{name}_steps_run"] = result.steps_run
        ax.plot(range(1, result.steps_run + 1), result.losses, label=f"{name.replace('_', ' ')}")
    ax.axhline(TARGET, color="k", ls=":", lw=0.8, label=f"target {TARGET:g}")
    ax.set(yscale="log", xlabel="step", ylabel="training loss", title=f"Adam on {SUBSET} digits")
    finish(fig, ax)
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when the correct pipeline reaches the target and neither broken one does; did not hold
    when the correct one does not; inconclusive when a broken one also passes (no discrimination)."""
    if not numbers["correct_passed"]:
        return DID_NOT_HOLD
    if numbers["shuffled_labels_passed"] or numbers["lr_zero_passed"]:
        return INCONCLUSIVE
    return HELD


CLAIM = Claim(
    id=11,
    title="overfit-tiny-subset",
    claim="A correct model and training loop can overfit a tiny subset of the data.",
    rule=f"optlab.practice.overfit_subset: the digits CNN with Adam lr {LR:g} on {SUBSET} training images "
    f"must reach a training loss <= {TARGET:g}; two broken pipelines (labels shuffled at every step, "
    "learning rate 0) must not. Held when all three behave so; did not hold when the correct one "
    "fails; inconclusive when a broken one passes too.",
    measure=measure,
    verdict=verdict,
)
