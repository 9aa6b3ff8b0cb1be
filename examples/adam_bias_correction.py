"""Lecture claim: Adam's moments start at 0; without bias correction the first steps are much larger
(m/sqrt(v) = (1-b1)/sqrt(1-b2) = 3.16 at t = 1). Run: python examples/adam_bias_correction.py"""

import jax.numpy as jnp
import numpy as np

import optlab

grad = jnp.array([4.0, -0.01])  # a steep and a shallow coordinate
first = {}
for corrected in (True, False):
    tx = optlab.adam(0.1, bias_correction=corrected)
    state, sizes = tx.init(jnp.zeros(2)), []
    for _ in range(3):
        updates, state = tx.update(grad, state)
        sizes.append(float(jnp.linalg.norm(updates)))
    first[corrected] = sizes[0]
    print(f"bias_correction={corrected!s:<5}: first step sizes {np.round(sizes, 4).tolist()}")
print(f"uncorrected / corrected first step: {first[False] / first[True]:.2f}")
