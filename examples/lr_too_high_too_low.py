"""Lecture claim: too high a learning rate diverges, too low crawls. SGD on the turned ravine at 13
learning rates (one vmapped run). Run: python examples/lr_too_high_too_low.py"""

import jax
import numpy as np

import optlab
from optlab.lab import ravine, sweep

grid = np.geomspace(1e-4, 1.0, 13)
with jax.enable_x64(True), np.errstate(over="ignore"):
    losses, _ = sweep(optlab.sgd(1e-3), ravine(50.0, angle=30.0), grid, steps=500, dtype="float64")
print(f"initial loss {losses[0, 0]:.3g}")
for lr, final in zip(grid, losses[:, -1]):
    verdict = "diverged" if not final < losses[0, 0] else "reached 1e-6" if final < 1e-6 else "crawling"
    print(f"lr {lr:8.2g}: loss after 500 steps {final:10.3g}  {verdict}")
