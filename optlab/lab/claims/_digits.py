"""Shared by the digits claims: the data, the CNN and one ``fit`` run, all with fixed seeds."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optlab.data import DigitsSplits, load_digits
from optlab.models import DigitsCNN
from optlab.train import FitResult, TrainState, accuracy, classifier_loss, fit

SEED = 0


@functools.lru_cache(maxsize=1)
def digits() -> DigitsSplits:
    """sklearn's digits, split 1077/360/360 with seed 0."""
    return load_digits(seed=SEED)


def train(tx: optax.GradientTransformation, *, epochs: int, batch_size: int, train_size: int | None = None,
          monitor: str = "val_loss", validate: bool = True) -> FitResult:
    """``fit`` the digits CNN (init seed 0) with ``tx``; no files, no progress bar."""
    data = digits()
    model = DigitsCNN()
    params = model.init(jax.random.key(SEED), jnp.zeros((1, 8, 8, 1)))["params"]
    x, y = data.train
    if train_size is not None:
        x, y = x[:train_size], y[:train_size]
    state = TrainState.create(apply_fn=model.apply, params=params, tx=tx)
    return fit(
        state, classifier_loss(model.apply), (x, y), data.val if validate else None, epochs=epochs,
        batch_size=batch_size, metrics={"accuracy": accuracy}, seed=SEED, monitor=monitor if validate else None,
        progress=False, tensorboard=False, plot=False,
    )


def steps_per_epoch(batch_size: int, train_size: int | None = None) -> int:
    return (train_size or len(digits().train.x)) // batch_size


def test_scores(params: Any) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``params`` on the test split."""
    x, y = digits().test
    logits = DigitsCNN().apply({"params": params}, x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return float(np.mean(np.argmax(np.asarray(logits), -1) == np.asarray(y))), float(loss)
