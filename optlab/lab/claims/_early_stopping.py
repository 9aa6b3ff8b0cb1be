"""Claim 9: early stopping's best snapshot beats the last epoch when training runs past the best."""

from __future__ import annotations

from typing import Any, Mapping

import optlab

from .._plots import new_figure
from ._base import DID_NOT_HOLD, HELD, INCONCLUSIVE, Budget, Claim, Measurement, finish
from ._digits import test_scores, train

TRAIN_SIZE = 150
LR = 3e-3


def measure(budget: Budget) -> Measurement:
    epochs = budget.pick(25, 60)
    result = train(optlab.adam(LR), epochs=epochs, batch_size=16, train_size=TRAIN_SIZE, monitor="val_loss")
    best_acc, best_loss = test_scores(result.best_params)
    last_acc, last_loss = test_scores(result.state.params)
    numbers = {
        "train_size": TRAIN_SIZE, "epochs": epochs, "best_epoch": result.best_epoch,
        "best_val_loss": result.best_metric,
        "best_snapshot_test_loss": best_loss, "last_epoch_test_loss": last_loss,
        "best_snapshot_test_accuracy": best_acc, "last_epoch_test_accuracy": last_acc,
    }
    fig, (ax,) = new_figure(1, 6.0, 3.5)
    history = result.history
    ax.plot(history["epoch"], history["train_loss"], ".-", label="train loss")
    ax.plot(history["epoch"], history["val_loss"], ".-", label="validation loss")
    ax.axvline(result.best_epoch or 0, color="k", ls=":", lw=0.8, label=f"best snapshot (epoch {result.best_epoch})")
    ax.set(yscale="log", xlabel="epoch", ylabel="loss", title=f"Adam on {TRAIN_SIZE} digits")
    finish(fig, ax)
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """Inconclusive when the best epoch is the last (training did not run past it); else held when the
    best snapshot's test loss is lower than the last epoch's, did not hold otherwise."""
    if numbers["best_epoch"] is None or numbers["best_epoch"] >= numbers["epochs"]:
        return INCONCLUSIVE
    return HELD if numbers["best_snapshot_test_loss"] < numbers["last_epoch_test_loss"] else DID_NOT_HOLD


CLAIM = Claim(
    id=9,
    title="early-stopping",
    claim="Train long, keep snapshots, pick the one with the best validation performance: it beats the "
    "last epoch once training runs past the best.",
    rule=f"Digits CNN on {TRAIN_SIZE} training images (so it overfits), Adam lr {LR:g}, best snapshot by "
    "validation loss: if the best epoch is before the last, held when the best snapshot's test loss "
    "(cross-entropy) is lower than the last epoch's, did not hold otherwise; inconclusive when the "
    "best epoch is the last.",
    measure=measure,
    verdict=verdict,
)
