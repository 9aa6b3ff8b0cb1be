"""Lecture claim: momentum's velocity carries it through a saddle point and out of a poor local
minimum, where plain SGD gets stuck. Run: python examples/saddle_and_local_minimum.py"""

import jax
import numpy as np

import optlab
from optlab.lab import local_minimum, saddle, sweep

GRID = np.geomspace(1e-3, 10.0, 25)

with jax.enable_x64(True):  # float64: no underflow to an exact minimizer
    land = saddle()  # f = 5x^2 + y^4/4 - y^2/2, saddle at 0, minima (0, +-1)
    for name in ("sgd", "momentum"):
        losses, _ = sweep(getattr(optlab, name)(1e-3), land, GRID, steps=300, dtype="float64")
        past = [np.argmax(row < 0.125) if (row < 0.125).any() else np.inf for row in losses]
        print(f"saddle: {name:<8} needs {min(past):.0f} steps to get halfway down past the saddle (best lr)")

    land = local_minimum()  # (x^2-1)^2 + x/2 + y^2: good minimum at x=-1.06, poor one at x=0.93
    good = np.asarray(land.minimizers[0])
    for name in ("sgd", "momentum"):
        _, paths = sweep(getattr(optlab, name)(1e-3), land, GRID, steps=300, dtype="float64")
        ends = np.nan_to_num(paths[:, -1], nan=np.inf)
        better = int(np.sum(np.max(np.abs(ends - good), axis=1) < 1e-3))
        print(f"local minimum: {name:<8} ends in the better minimum at {better} of {len(GRID)} learning rates")
