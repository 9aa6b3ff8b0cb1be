"""Transfer learning in two stages: pretrain on digits 0-4, then learn 5-9 from 10 labels per class.

Stage 1 (feature extraction) freezes the pretrained convolutions and trains a new head; stage 2
(fine-tuning) starts from that head and trains everything, the convolutions at a 10x smaller lr.
"""

import jax
import jax.numpy as jnp
import numpy as np

import optlab
from optlab.data import load_digits
from optlab.models import DigitsCNN
from optlab.train import TrainState, accuracy, classifier_loss, fit
from optlab.transfer import few_labels, fine_tuning, two_stage

splits = load_digits(seed=0)
model = DigitsCNN(num_classes=5)


def classes(split, first):
    keep = (split.y >= first) & (split.y < first + 5)
    return split.x[keep], split.y[keep] - first


source, target, test = classes(splits.train, 0), classes(splits.train, 5), classes(splits.test, 5)
init = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
quiet = dict(progress=False, plot=False, tensorboard=False)
pretrained = fit(TrainState.create(apply_fn=model.apply, params=init, tx=optlab.adam(3e-3)),
                 classifier_loss(model.apply), source, epochs=5, batch_size=32, **quiet).state.params

train = few_labels(*target, n=10, seed=0)  # 50 labelled images of 5-9
head = model.init(jax.random.key(1), jnp.zeros((1, 8, 8, 1)))["params"]
params = {**head, "Conv_0": pretrained["Conv_0"], "Conv_1": pretrained["Conv_1"]}  # new dense head
result = two_stage(model.apply, params, train, backbone="Conv_.*", head_tx=optlab.adam(3e-3),
                   fine_tune_tx=fine_tuning("Conv_.*", 3e-4, 3e-3), epochs=(20, 20), batch_size=25, **quiet)


def test_accuracy(p):
    return float(accuracy(model.apply({"params": p}, test[0]), test[1]))


unchanged = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(result.stage1.state.params["Conv_0"]),
                                                      jax.tree.leaves(pretrained["Conv_0"])))
print(f"stage 1 (feature extraction): convolutions unchanged: {unchanged}, "
      f"test accuracy on 5-9 {test_accuracy(result.stage1.state.params):.3f}")
print(f"stage 2 (fine-tuning) started from stage 1's head; test accuracy on 5-9 {test_accuracy(result.params):.3f}")
