"""Lecture claim: schedules compared on digits (step, cosine, linear, exponential, constant) by final
test accuracy. Same init, same data order, momentum at lr 0.05, each decaying to ~1% of it.
Run: python examples/schedules_on_digits.py"""

import jax
import numpy as np

import optlab
from optlab import schedules
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.train import TrainState, classifier_loss, fit

EPOCHS, BATCH, LR = 4, 32, 0.05
data = load_digits(seed=0)
model = DigitsCNN()
params = model.init(jax.random.key(0), data.train.x[:1])["params"]
total = EPOCHS * (len(data.train.x) // BATCH)
tour = {
    "constant": schedules.constant(LR),
    "step": schedules.step(LR, every=-(-total // 3), factor=0.1),
    "cosine": schedules.cosine(LR, total),
    "linear": schedules.linear(LR, total),
    "exponential": schedules.exponential(LR, decay_percent=100 * (1 - 0.01 ** (1 / total))),
}
for name, schedule in tour.items():
    state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.momentum(schedule))
    result = fit(state, classifier_loss(model.apply), data.train, epochs=EPOCHS, batch_size=BATCH,
                 progress=False, tensorboard=False, plot=False)
    logits = model.apply({"params": result.state.params}, data.test.x)
    print(f"{name:<12} final test accuracy {np.mean(np.argmax(logits, -1) == data.test.y):.4f}")
