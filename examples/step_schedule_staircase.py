"""Lecture claim: a step schedule (lr x0.1 every few epochs) gives a staircase training loss.
Trains the digits CNN with momentum; prints the training loss around each decay.
Run: python examples/step_schedule_staircase.py"""

import jax
import numpy as np

import optlab
from optlab import schedules
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.train import TrainState, classifier_loss, fit

data = load_digits(seed=0)
model = DigitsCNN()
params = model.init(jax.random.key(0), data.train.x[:1])["params"]
per_epoch, every = len(data.train.x) // 16, 2
lr = schedules.per_epoch(schedules.step(0.05, every=every, factor=0.1), per_epoch)
state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.momentum(lr))
result = fit(state, classifier_loss(model.apply), data.train, epochs=3 * every, batch_size=16,
             progress=False, tensorboard=False, plot=False)
loss, half = np.asarray(result.history["step_loss"]), per_epoch // 2
for k in (1, 2):
    b = k * every * per_epoch
    print(f"lr decay {k} at step {b}: mean loss {loss[b - half:b].mean():.4f} before, {loss[b:b + half].mean():.4f} after")
