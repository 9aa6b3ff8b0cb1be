"""Claim 7: learning-rate schedules compared on digits by final test accuracy."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

import optlab
from optlab import schedules

from .._plots import new_figure
from ._base import DID_NOT_HOLD, HELD, INCONCLUSIVE, Budget, Claim, Measurement, finish
from ._digits import digits, steps_per_epoch, test_scores, train

LR = 0.05
BATCH = 32


def lecture_schedules(lr: float, total_steps: int) -> dict[str, Any]:
    """The lecture's five schedules over one run, each decaying to about 1% of ``lr`` (not constant)."""
    return {
        "constant": schedules.constant(lr),
        "step": schedules.step(lr, every=-(-total_steps // 3), factor=0.1),
        "cosine": schedules.cosine(lr, total_steps),
        "linear": schedules.linear(lr, total_steps),
        "exponential": schedules.exponential(lr, decay_percent=100 * (1 - 0.01 ** (1 / total_steps))),
    }


def measure(budget: Budget) -> Measurement:
    epochs = budget.pick(4, 15)
    total = epochs * steps_per_epoch(BATCH)
    numbers: dict[str, Any] = {"lr": LR, "epochs": epochs, "test_size": len(digits().test.x)}
    fig, (left, right) = new_figure(2)
    for name, schedule in lecture_schedules(LR, total).items():
        result = train(optlab.momentum(schedule), epochs=epochs, batch_size=BATCH)
        acc, _ = test_scores(result.state.params)
        numbers[f"{name}_final_test_accuracy"] = acc
        left.plot(np.arange(total) / steps_per_epoch(BATCH), result.history["step_lr"], lw=1, label=name)
        right.plot(result.history["epoch"], result.history["train_loss"], ".-", lw=1, label=f"{name}: test {acc:.3f}")
    left.set(xlabel="epoch", ylabel="learning rate")
    right.set(yscale="log", xlabel="epoch", ylabel="training loss")
    finish(fig, left, right)
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when the best decaying schedule beats constant by at least one test image, did not hold
    when it is worse, inconclusive when they tie within one image."""
    one_image = 1.0 / numbers["test_size"]
    best = max(numbers[f"{n}_final_test_accuracy"] for n in ("step", "cosine", "linear", "exponential"))
    gain = best - numbers["constant_final_test_accuracy"]
    return HELD if gain >= one_image - 1e-9 else DID_NOT_HOLD if gain < -1e-9 else INCONCLUSIVE


CLAIM = Claim(
    id=7,
    title="schedules-on-digits",
    claim="A constant lr works for prototyping; decaying schedules (step, cosine, linear, exponential) "
    "squeeze out the last 1-2%.",
    rule=f"Digits CNN, momentum lr {LR:g}, batch {BATCH}, each schedule decaying to about 1% of the lr "
    "over the run (same init and data order): the best decaying schedule's final test accuracy "
    "exceeds constant's by at least one test image. Held if so, did not hold if it is lower, "
    "inconclusive if they tie.",
    measure=measure,
    verdict=verdict,
)
