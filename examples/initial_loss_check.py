"""Lecture claim: observe the initial loss value; for C-class softmax cross-entropy it should be
log C (2.303 for 10 digits). A final layer initialized 100x too large is caught, with its cause.
Run: python examples/initial_loss_check.py"""

import jax

from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.practice import check_initial_loss
from optlab.train import classifier_loss

data = load_digits(seed=0)
model = DigitsCNN()
params = model.init(jax.random.key(0), data.train.x[:1])["params"]
loss_fn = classifier_loss(model.apply)
x, y = data.train.x[:256], data.train.y[:256]

fresh = check_initial_loss(loss_fn, params, x, y)
print(f"fresh DigitsCNN: initial loss {fresh.loss:.3f}, expected log(10) = {fresh.expected:.3f}, ok={fresh.ok}")

last = sorted(name for name in params if name.startswith("Dense"))[-1]
scaled = {**params, last: jax.tree.map(lambda w: 100.0 * w, params[last])}
broken = check_initial_loss(loss_fn, scaled, x, y)
print(f"final layer x100: initial loss {broken.loss:.3f}, ok={broken.ok}")
print(broken.message)
