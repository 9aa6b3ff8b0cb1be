"""The run of the kill-and-resume test, importable by the test and runnable as its child process.

``python tests/train/_resume_job.py RUN_DIR EPOCHS KILL_AFTER`` runs ``fit`` and SIGKILLs itself
right after the checkpoint of epoch ``KILL_AFTER`` is written (no cleanup, no atexit handlers).
"""

import os
import signal
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

import optlab
from optlab.data import load_digits
from optlab.train import EarlyStopping, TrainState, accuracy, fit


class Mlp(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(24)(x.reshape((x.shape[0], -1)))))


def noisy_loss(params, x, y, rng):
    if rng is not None:  # training: input noise from the per-step key, so the RNG stream matters
        x = x + 0.1 * jax.random.normal(rng, x.shape, x.dtype)
    logits = Mlp().apply({"params": params}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits


def run(run_dir, epochs, kill_after=None, resume=False):
    splits = load_digits(seed=0)
    params = Mlp().init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    schedule = optlab.schedules.warmup(optlab.schedules.cosine(0.01, total_steps=12 * epochs), 6)
    state = TrainState.create(apply_fn=None, params=params, tx=optlab.adam(schedule), ema_decay=0.8)

    def on_epoch_end(epoch, row):
        if epoch == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    return fit(
        state, noisy_loss, (splits.train.x[:600], splits.train.y[:600]),
        (splits.val.x[:200], splits.val.y[:200]), epochs=epochs, batch_size=50, seed=7,
        metrics={"accuracy": accuracy}, run_dir=run_dir, early_stopping=EarlyStopping(3, mode="max"),
        monitor="val_ema_accuracy", keep_latest=2, keep_best=1, resume=resume, progress=False,
        plot=False, on_epoch_end=on_epoch_end,
    )


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), kill_after=int(sys.argv[3]))
