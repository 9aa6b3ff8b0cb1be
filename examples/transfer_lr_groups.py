"""Learning rates per group of parameters: fastai's slice(lo, hi) and ELECTRA's layer-wise decay.

Every group is a path regex (re.fullmatch on "Conv_0/kernel"-style paths); the learning rate of
each group is read back from the optimizer state.
"""

import jax
import jax.numpy as jnp

import optlab
from optlab.models import DigitsCNN
from optlab.transfer import discriminative_lrs, group_learning_rates, layerwise_lr_decay, param_paths, partition

params = DigitsCNN().init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
print("parameter paths:", ", ".join(param_paths(params)))

# geometric spacing from the lowest group (lo) to the highest (hi), like fastai's slice(1e-4, 1e-2)
tx = discriminative_lrs(["Conv_.*", "Dense_0/.*", "Dense_1/.*"], 1e-4, 1e-2)
print("discriminative:", {k: f"{float(v):.0e}" for k, v in group_learning_rates(tx.init(params)).items()})

# lr_i = base_lr * decay**(L - depth_i): the head at base_lr, each layer below 0.5x the one above
depth = [("Conv_0/.*", 0), ("Conv_1/.*", 1), ("Dense_0/.*", 2), ("Dense_1/.*", 3)]
tx = layerwise_lr_decay(1e-3, 0.5, depth)
print("layer-wise decay:", {k: f"{float(v):.2e}" for k, v in group_learning_rates(tx.init(params)).items()})

# None freezes: the convolutions get no optimizer state and are not differentiated
tx = partition([("Conv_.*", None), (".*", optlab.adam(1e-3))])
moments = sum(x.size for x in jax.tree.leaves(tx.init(params)) if x.ndim)
print(f"adam moments with frozen convolutions: {moments} numbers (all trainable: "
      f"{sum(x.size for x in jax.tree.leaves(optlab.adam(1e-3).init(params)) if x.ndim)})")
