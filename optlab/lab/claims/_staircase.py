"""Claim 6: a step schedule gives a staircase training loss."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

import optlab
from optlab import schedules

from .._plots import new_figure
from ._base import DID_NOT_HOLD, HELD, INCONCLUSIVE, Budget, Claim, Measurement, finish
from ._digits import steps_per_epoch, train

LR = 0.05
BATCH = 16


def stairs(step_loss: np.ndarray, decays: list[int], window: int) -> tuple[list[float], list[float]]:
    """For each decay step: the log-loss drop across it (mean over ``window`` steps before vs after)
    and the drop over the ``window`` steps before that (the trend it is compared with)."""
    drops, trends = [], []
    for b in decays:
        before2, before, after = (np.log(step_loss[i : i + window].mean()) for i in (b - 2 * window, b - window, b))
        drops.append(float(before - after))
        trends.append(float(before2 - before))
    return drops, trends


def measure(budget: Budget) -> Measurement:
    every = budget.pick(2, 4)
    epochs = 3 * every
    per_epoch = steps_per_epoch(BATCH)
    schedule = schedules.per_epoch(schedules.step(LR, every=every, factor=0.1), per_epoch)
    result = train(optlab.momentum(schedule), epochs=epochs, batch_size=BATCH, validate=False)
    step_loss = np.asarray(result.history["step_loss"])
    decays = [k * every * per_epoch for k in (1, 2)]
    drops, trends = stairs(step_loss, decays, per_epoch // 2)
    numbers = {
        "lr": LR, "every_epochs": every, "epochs": epochs, "batch_size": BATCH,
        "log_loss_drop_at_decays": drops, "log_loss_drop_half_epoch_before": trends,
        "epoch_train_loss": [float(v) for v in result.history["train_loss"]],
    }
    fig, (ax,) = new_figure(1, 7.0, 3.5)
    smooth = np.convolve(step_loss, np.ones(per_epoch // 4) / (per_epoch // 4), mode="valid")
    ax.plot(step_loss, lw=0.4, alpha=0.4, label="per step")
    ax.plot(np.arange(len(smooth)) + per_epoch // 8, smooth, lw=1.2, label="moving average (1/4 epoch)")
    for b in decays:
        ax.axvline(b, color="k", ls=":", lw=0.8)
    ax.set(yscale="log", xlabel="step", ylabel="training loss",
           title=f"momentum, lr {LR:g} x0.1 every {every} epochs (dotted)")
    finish(fig, ax)
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """A decay is a stair when the loss falls by > 10% across it and by more than twice its fall over
    the half epoch before. Held if every decay is a stair, did not hold if none is, else inconclusive."""
    stair = [d > np.log(1 / 0.9) and d > 2 * max(t, 0.0)
             for d, t in zip(numbers["log_loss_drop_at_decays"], numbers["log_loss_drop_half_epoch_before"])]
    return HELD if all(stair) else DID_NOT_HOLD if not any(stair) else INCONCLUSIVE


CLAIM = Claim(
    id=6,
    title="step-schedule-staircase",
    claim="A step schedule (lr x0.1 at fixed epochs) gives the characteristic staircase loss curve: "
    "a plateau, then a drop at each decay.",
    rule=f"Digits CNN, momentum lr {LR:g}, batch {BATCH}, lr x0.1 twice: at each decay the training loss "
    "(mean over half an epoch) falls by more than 10% across the decay and by more than twice what it "
    "fell in the half epoch before. Held if every decay is such a stair, did not hold if none is, else "
    "inconclusive.",
    measure=measure,
    verdict=verdict,
)
