"""Lecture claim: AdaGrad's accumulated squared gradients shrink its steps until progress stalls;
RMSProp's leaky average keeps the step size up. Both at lr 0.01 on a plateau.
Run: python examples/adagrad_stalls.py"""

import jax
import numpy as np

import optlab
from optlab.lab import plateau, sweep

land = plateau()  # 1 - exp(-(x^2 + y^2)/2), start (2.5, 1.5): far out, the gradient is tiny
with jax.enable_x64(True):
    for name in ("adagrad", "rmsprop"):
        losses, paths = sweep(getattr(optlab, name)(0.01), land, [0.01], steps=1000, dtype="float64")
        grads = np.asarray(jax.vmap(jax.grad(land.loss))(paths[0, :-1]))
        step = np.linalg.norm(np.diff(paths[0], axis=0), axis=1) / np.linalg.norm(grads, axis=1)
        print(f"{name:<8} effective step |dw|/|g|: {step[9]:.3g} at step 10, {step[-1]:.3g} at step 1000; "
              f"loss after 1000 steps {losses[0, -1]:.3g}")
