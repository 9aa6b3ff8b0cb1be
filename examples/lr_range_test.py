"""The LR range test ("what learning rate to use?"): train a copy of the digits CNN while the
learning rate grows from 1e-7 to 10, read the suggestion off the smoothed loss, save the curve.
Run: python examples/lr_range_test.py [out_dir]"""

import os
import sys
import tempfile

import jax

import optlab
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.practice import lr_find
from optlab.train import TrainState, classifier_loss

out_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="optlab-lr-find-")
data = load_digits(seed=0)
model = DigitsCNN()
params = model.init(jax.random.key(0), data.train.x[:1])["params"]
state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(1e-3))  # any constant lr

result = lr_find(state, classifier_loss(model.apply), data.train.x, data.train.y, batch_size=32)
print(f"{len(result.losses)} steps; stopped at lr {result.diverged_at}")
for name, lr in result.suggestions.items():
    print(f"  {name:<9} {lr:.2g}")
print(f"suggested learning rate (valley): {result.suggestion:.2g}")
print(f"plot: {result.plot(os.path.join(out_dir, 'lr_find.png'))}")
