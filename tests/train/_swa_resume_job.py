"""The SWA run of the kill-and-resume test: ``_resume_job``'s model and loss with an SWA state.

``python tests/train/_swa_resume_job.py RUN_DIR EPOCHS KILL_AFTER`` SIGKILLs itself right after the
checkpoint of epoch ``KILL_AFTER`` is written.
"""

import os
import signal
import sys

import jax
import jax.numpy as jnp

import optlab
from optlab.data import load_digits
from optlab.train import TrainState, fit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _resume_job import Mlp, noisy_loss  # noqa: E402  (reused, not copied)

STEPS_PER_EPOCH = 12  # 600 examples, batch 50


def run(run_dir, epochs, kill_after=None, resume=False):
    splits = load_digits(seed=0)
    params = Mlp().init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    state = TrainState.create(
        apply_fn=Mlp().apply, params=params, tx=optlab.momentum(optlab.schedules.cosine_restarts(0.05, 18)),
        swa_start=STEPS_PER_EPOCH + 5, swa_every=3,  # samples start inside epoch 2, span the kill
    )

    def on_epoch_end(epoch, row):
        if epoch == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    return fit(
        state, noisy_loss, (splits.train.x[:600], splits.train.y[:600]), epochs=epochs, batch_size=50, seed=3,
        run_dir=run_dir, resume=resume, progress=False, plot=False, tensorboard=False, on_epoch_end=on_epoch_end,
    )


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), kill_after=int(sys.argv[3]))
