"""Lecture claims: snapshot ensembles (train 1, get M for free: a cyclic cosine learning rate and a
snapshot at each cycle's end, Huang et al. 2017) and weight averaging (SWA, Izmailov et al. 2018,
and Polyak's EMA) kept by the TrainState, BatchNorm statistics recomputed for the averaged weights.
Run: python examples/ensemble_snapshot_swa.py"""

import jax
import jax.numpy as jnp

import optlab
from optlab.data import load_digits
from optlab.ensembles import evaluate, snapshot_ensemble
from optlab.models import DigitsCNN
from optlab.train import TrainState, classifier_loss, fit, recalibrate_batch_stats

data = load_digits(seed=0)
model = DigitsCNN(batch_norm=True)
variables = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
steps, epochs = len(data.train.x) // 32, 6
state = TrainState.create(
    apply_fn=model.apply, params=variables["params"], model_state={"batch_stats": variables["batch_stats"]},
    tx=optlab.momentum(optlab.schedules.cosine(0.05, total_steps=epochs * steps)),
    ema_decay=0.95, swa_start=epochs // 2 * steps, swa_every=steps,  # one SWA sample per epoch, 2nd half
)
loss = classifier_loss(model.apply)
final = fit(state, loss, data.train, epochs=epochs, batch_size=32, progress=False, tensorboard=False, plot=False).state


def scores(params, stats):
    return evaluate(model.apply, [(params, stats)], data.test)


def recalibrated(params):
    return recalibrate_batch_stats(model.apply, params, final.model_state, data.train.x, batch_size=len(data.train.x))


for name, params, stats in [("single model", final.params, final.model_state),
                            ("Polyak / EMA", final.ema_params, recalibrated(final.ema_params)),
                            (f"SWA of {int(final.swa_count)}", final.swa_params, recalibrated(final.swa_params))]:
    s = scores(params, stats)
    print(f"{name:<15} test accuracy {s['accuracy']:.4f}, NLL {s['nll']:.4f}")

snap = snapshot_ensemble(state, loss, data.train, cycles=3, epochs_per_cycle=epochs // 3, batch_size=32,
                         optimizer=optlab.momentum, max_lr=0.05)
s = evaluate(model.apply, snap.members, data.test)
print(f"snapshot ensemble of {len(snap.snapshots)} (lr at the snapshots {snap.learning_rates[0]:.2e}): "
      f"test accuracy {s['accuracy']:.4f}, NLL {s['nll']:.4f}")
