"""Time per epoch: ``optlab.train.fit`` vs a hand-written jitted flax+optax loop doing the same work.

Both train the digits CNN (adam 3e-3, batch 32, EMA 0.9) with a jitted, state-donating step that
gathers its batch on the device from a per-epoch permutation, and validate params and EMA params
after each epoch. ``fit`` additionally runs its non-finite guard, learning-rate logging and
early-stopping bookkeeping; files and progress bars are off. The two run interleaved in one
process (alternating which goes first); the first epoch of every run (compilation) is dropped and
the median of the rest is reported.

    python benchmarks/fit_vs_handwritten.py [--epochs 8] [--repeats 5]
    python -m benchmarks.fit_vs_handwritten     # the same, from the repository root
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if __name__ == "__main__" and __package__ in (None, ""):  # run as a file: make optlab importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

import optlab  # noqa: E402
from optlab.data import load_digits  # noqa: E402
from optlab.models import DigitsCNN  # noqa: E402
from optlab.train import TrainState, accuracy, classifier_loss, epoch_permutation, fit  # noqa: E402

BATCH, LR, EMA = 32, 3e-3, 0.9


def _setup():
    splits = load_digits(seed=0)
    model = DigitsCNN()
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    return splits, model, params


def time_fit(splits, model, params, epochs: int) -> list[float]:
    """Seconds per epoch of ``fit`` (first epoch included; it compiles)."""
    state = TrainState.create(
        apply_fn=model.apply, params=jax.tree.map(jnp.copy, params), tx=optlab.adam(LR), ema_decay=EMA
    )
    result = fit(
        state, classifier_loss(model.apply), splits.train, splits.val, epochs=epochs, batch_size=BATCH,
        metrics={"accuracy": accuracy}, progress=False,
    )
    jax.block_until_ready(result.state)
    return result.epoch_seconds


def time_handwritten(splits, model, params, epochs: int) -> list[float]:
    """Seconds per epoch of the plain loop (first epoch included; it compiles)."""
    tx = optlab.adam(LR)
    x, y = jnp.asarray(splits.train.x), jnp.asarray(splits.train.y)
    vx, vy = jnp.asarray(splits.val.x), jnp.asarray(splits.val.y)
    steps = x.shape[0] // BATCH

    def loss_fn(p, xb, yb):
        logits = model.apply({"params": p}, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), logits

    @jax.jit
    def init(p):
        return p, tx.init(p), jax.tree.map(jnp.copy, p)

    def step(carry, x, y, perm, i):
        p, opt, ema = carry
        rows = jax.lax.dynamic_slice_in_dim(perm, i * BATCH, BATCH)
        xb, yb = x[rows], y[rows]
        (loss, logits), g = jax.value_and_grad(loss_fn, has_aux=True)(p, xb, yb)
        updates, opt = tx.update(g, opt, p)
        p = optax.apply_updates(p, updates)
        ema = jax.tree.map(lambda e, q: EMA * e + (1 - EMA) * q, ema, p)
        return (p, opt, ema), (loss, accuracy(logits, yb))

    step = jax.jit(step, donate_argnums=0)

    @jax.jit
    def evaluate(p, vx, vy):
        loss, logits = loss_fn(p, vx, vy)
        return loss, accuracy(logits, vy)

    carry, key, times = init(params), jax.random.key(0), []
    for epoch in range(1, epochs + 1):
        began = time.perf_counter()
        perm = epoch_permutation(key, epoch, x.shape[0])
        outs = []
        for i in range(steps):
            carry, out = step(carry, x, y, perm, i)
            outs.append(out)
        jax.device_get(outs)
        jax.device_get((evaluate(carry[0], vx, vy), evaluate(carry[2], vx, vy)))
        times.append(time.perf_counter() - began)
    return times


def run(epochs: int = 8, repeats: int = 5) -> dict:
    """Interleave ``repeats`` runs of each; return median ms/epoch of both and their ratio."""
    splits, model, params = _setup()
    fit_times: list[float] = []
    hand_times: list[float] = []
    for r in range(repeats):
        order = [(time_fit, fit_times), (time_handwritten, hand_times)]
        for fn, sink in order if r % 2 == 0 else order[::-1]:
            sink.extend(fn(splits, model, params, epochs)[1:])  # drop the compiling epoch
    fit_ms = 1000 * statistics.median(fit_times)
    hand_ms = 1000 * statistics.median(hand_times)
    return {
        "fit_ms_per_epoch": fit_ms,
        "handwritten_ms_per_epoch": hand_ms,
        "ratio": fit_ms / hand_ms,
        "epochs_timed_each": len(fit_times),
        "steps_per_epoch": splits.train.x.shape[0] // BATCH,
        "device": str(jax.devices()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    out = run(epochs=args.epochs, repeats=args.repeats)
    print(
        f"fit:         {out['fit_ms_per_epoch']:8.2f} ms/epoch\n"
        f"handwritten: {out['handwritten_ms_per_epoch']:8.2f} ms/epoch\n"
        f"ratio fit/handwritten: {out['ratio']:.3f}  "
        f"({out['epochs_timed_each']} epochs each, {out['steps_per_epoch']} steps/epoch, {out['device']})"
    )


if __name__ == "__main__":
    main()
