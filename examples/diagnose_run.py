"""Lecture claim: monitor the learning curves; they tell poor initialization, under-, over- or
right-fitting. An MLP trained on only 50 digits overfits; diagnose says from which epoch.
Run: python examples/diagnose_run.py [run_dir]"""

import sys
import tempfile

import flax.linen as nn
import jax
import jax.numpy as jnp

import optlab
from optlab.data import load_digits
from optlab.practice import diagnose
from optlab.train import TrainState, classifier_loss, fit


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(256)(x.reshape((x.shape[0], -1)))))


run_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="optlab-diagnose-")
data = load_digits(seed=0)
model = MLP()
params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(1e-2))
result = fit(
    state, classifier_loss(model.apply), (data.train.x[:50], data.train.y[:50]), (data.val.x, data.val.y),
    epochs=100, batch_size=25, run_dir=run_dir, checkpoint_every=100, progress=False, tensorboard=False, plot=False,
)
h = result.history
print(f"train loss {h['train_loss'][0]:.3f} -> {h['train_loss'][-1]:.4f}; "
      f"val loss best {min(h['val_loss']):.3f}, {h['val_loss'][-1]:.3f} at the end")
findings = diagnose(run_dir, num_classes=10)  # same as diagnose(result.history, ...)
for finding in findings:
    print(f"epoch {finding.epoch}: {finding.kind}: {finding.message}")
print(f"{len(findings)} finding(s); the same from the shell: python -m optlab diagnose {run_dir} --num-classes 10")
