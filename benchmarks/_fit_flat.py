"""``optlab.train.fit`` on the digits CNN with ``TrainState`` vs ``FlatTrainState``: ms per epoch.

Same data, model (``optlab.models.DigitsCNN``), Adam 3e-3, batch 32, EMA 0.9 as
``benchmarks/fit_vs_handwritten.py``; the two states take turns, the first (compiling) epoch of
each run is dropped, medians are reported, and the final parameters are compared.
"""

from __future__ import annotations

import statistics
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import optlab
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.train import TrainState, accuracy, classifier_loss, fit
from optlab.train._flat_state import FlatTrainState

BATCH, LR, EMA = 32, 3e-3, 0.9


def _fit(cls: type, splits: Any, model: Any, params: Any, epochs: int) -> tuple[list[float], Any]:
    state = cls.create(apply_fn=model.apply, params=jax.tree.map(jnp.copy, params), tx=optlab.adam(LR), ema_decay=EMA)
    result = fit(
        state, classifier_loss(model.apply), splits.train, splits.val, epochs=epochs, batch_size=BATCH,
        metrics={"accuracy": accuracy}, progress=False,
    )
    return list(result.epoch_seconds), jax.device_get(result.state.params)


def run(epochs: int = 4, repeats: int = 2) -> dict[str, Any]:
    """``{"tree_ms_per_epoch", "flat_ms_per_epoch", "ratio", "leaves", "max_abs_param_diff"}``."""
    splits = load_digits(seed=0)
    model = DigitsCNN()
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    times: dict[str, list[float]] = {"tree": [], "flat": []}
    final: dict[str, Any] = {}
    for r in range(repeats):
        order = [("tree", TrainState), ("flat", FlatTrainState)]
        for name, cls in order if r % 2 == 0 else order[::-1]:
            seconds, final[name] = _fit(cls, splits, model, params, epochs)
            times[name].extend(seconds[1:])
    diff = max(
        float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
        for a, b in zip(jax.tree.leaves(final["tree"]), jax.tree.leaves(final["flat"]))
    )
    tree_ms, flat_ms = (1000 * statistics.median(times[k]) for k in ("tree", "flat"))
    return {
        "tree_ms_per_epoch": tree_ms, "flat_ms_per_epoch": flat_ms, "ratio": flat_ms / tree_ms,
        "leaves": len(jax.tree.leaves(params)), "max_abs_param_diff": diff,
    }
