"""Lecture claims: train while validation improves and keep the best snapshot (early stopping);
evaluate with a moving average of the parameters (Polyak: w_test = 0.95*w_test + 0.05*w).
Trains the digits CNN with Adam, resumable, logs to TensorBoard and draws learning curves.
Run: python examples/early_stopping_and_polyak.py [run_dir]"""

import sys
import tempfile

import jax
import numpy as np

import optlab
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.train import EarlyStopping, TrainState, accuracy, classifier_loss, fit

run_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="optlab-digits-")
data = load_digits(seed=0)
model = DigitsCNN()
params = model.init(jax.random.key(0), data.train.x[:1])["params"]
state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(3e-3), ema_decay=0.95)
loss_fn = classifier_loss(model.apply)
result = fit(
    state, loss_fn, (data.train.x, data.train.y), (data.val.x, data.val.y),
    epochs=12, batch_size=32, metrics={"accuracy": accuracy},
    early_stopping=EarlyStopping(patience=4, mode="max"), monitor="val_accuracy",
    run_dir=run_dir, resume=True, progress=False,
)


def test_accuracy(p):
    return float(np.mean(np.argmax(model.apply({"params": p}, data.test.x), -1) == data.test.y))


print(f"best epoch {result.best_epoch}: val accuracy {result.best_metric:.4f}")
print(f"test accuracy: best snapshot {test_accuracy(result.best_params):.4f}, "
      f"Polyak/EMA {test_accuracy(result.state.ema_params):.4f}, last {test_accuracy(result.state.params):.4f}")
print(f"run files: {sorted(result.paths)} under {run_dir}")
