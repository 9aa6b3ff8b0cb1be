"""Lecture claim: Nesterov momentum (gradient at the look-ahead point) beats heavy-ball momentum.
Races both at their best learning rate on the turned ravine and on Rosenbrock.
Run: python examples/nesterov_vs_heavy_ball.py"""

import jax
import numpy as np

import optlab
from optlab.lab import format_table, race, ravine, rosenbrock

with jax.enable_x64(True):
    for land in (ravine(50.0, angle=30.0), rosenbrock()):
        results = race({"momentum": optlab.momentum(1e-3), "nesterov": optlab.nesterov(1e-3)}, land,
                       steps=2000, learning_rates=np.geomspace(1e-3, 10.0, 25), dtype="float64")
        print(land.name)
        print(format_table(results, tolerance=1e-6))
