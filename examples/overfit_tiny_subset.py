"""Lecture claim: overfit a very small subset to make sure the basic things are in place. The
digits CNN memorizes 32 images in a few dozen Adam steps; with labels shuffled at every step (a
broken pipeline) it cannot.
Run: python examples/overfit_tiny_subset.py"""

import jax

import optlab
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.practice import overfit_subset
from optlab.train import TrainState, classifier_loss

data = load_digits(seed=0)
model = DigitsCNN()
params = model.init(jax.random.key(0), data.train.x[:1])["params"]
state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(1e-2))
loss_fn = classifier_loss(model.apply)
x, y = data.train.x[:32], data.train.y[:32]

good = overfit_subset(state, loss_fn, x, y, steps=200, target_loss=0.05)
print(f"correct pipeline: passed={good.passed}, loss {good.losses[0]:.3f} -> {good.final_loss:.4f} in {good.steps_run} steps")


def shuffled_labels(params, x, y, rng):  # a bug: labels no longer belong to their images
    return loss_fn(params, x, jax.random.permutation(rng, y), rng)


bad = overfit_subset(state, shuffled_labels, x, y, steps=100, target_loss=0.05)
print(f"labels shuffled every step: passed={bad.passed}, loss {bad.losses[0]:.3f} -> {bad.final_loss:.3f}")
print(bad.message)
