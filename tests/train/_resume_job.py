"""The run of the kill-and-resume test, importable by the test and runnable as its child process.

``python tests/train/_resume_job.py RUN_DIR EPOCHS KILL_AFTER [bn]`` runs ``fit`` and SIGKILLs
itself right after the checkpoint of epoch ``KILL_AFTER`` is written (no cleanup, no atexit
handlers). With ``bn`` the model has BatchNorm (its ``batch_stats`` are the state's ``model_state``).
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
    batch_norm: bool = False

    @nn.compact
    def __call__(self, x, train=False):
        h = nn.Dense(24)(x.reshape((x.shape[0], -1)))
        if self.batch_norm:
            h = nn.BatchNorm(use_running_average=not train, momentum=0.8)(h)
        return nn.Dense(10)(nn.relu(h))


def noisy_loss(params, x, y, rng):
    if rng is not None:  # training: input noise from the per-step key, so the RNG stream matters
        x = x + 0.1 * jax.random.normal(rng, x.shape, x.dtype)
    logits = Mlp().apply({"params": params}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits


def noisy_bn_loss(params, x, y, rng, model_state):
    """The stateful form: ``(loss, (logits, new_model_state))``; inference mode when ``rng is None``."""
    variables = {"params": params, **model_state}
    if rng is None:
        logits = Mlp(batch_norm=True).apply(variables, x)
    else:
        x = x + 0.1 * jax.random.normal(rng, x.shape, x.dtype)
        logits, model_state = Mlp(batch_norm=True).apply(variables, x, train=True, mutable=["batch_stats"])
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), (logits, model_state)


def run(run_dir, epochs, kill_after=None, resume=False, batch_norm=False):
    splits = load_digits(seed=0)
    model = Mlp(batch_norm=batch_norm)
    variables = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
    schedule = optlab.schedules.warmup(optlab.schedules.cosine(0.01, total_steps=12 * epochs), 6)
    state = TrainState.create(
        apply_fn=model.apply, params=variables["params"], tx=optlab.adam(schedule), ema_decay=0.8,
        model_state={"batch_stats": variables["batch_stats"]} if batch_norm else None,
    )

    def on_epoch_end(epoch, row):
        if epoch == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    return fit(
        state, noisy_bn_loss if batch_norm else noisy_loss, (splits.train.x[:600], splits.train.y[:600]),
        (splits.val.x[:200], splits.val.y[:200]), epochs=epochs, batch_size=50, seed=7,
        metrics={"accuracy": accuracy}, run_dir=run_dir, early_stopping=EarlyStopping(3, mode="max"),
        monitor="val_ema_accuracy", keep_latest=2, keep_best=1, resume=resume, progress=False,
        plot=False, on_epoch_end=on_epoch_end,
    )


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), kill_after=int(sys.argv[3]), batch_norm=sys.argv[4:] == ["bn"])
