"""Lecture claim: on a ravine SGD jitters across the steep direction and crawls along the shallow one;
momentum damps the jitter and gets there sooner; per-parameter step sizes (AdaGrad/RMSProp/Adam) fix
the conditioning. Run: python examples/ravine_momentum.py"""

import numpy as np

import optlab
from optlab.lab import format_table, race, ravine

RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")

results = race(
    {name: getattr(optlab, name)(1e-3) for name in RULES},
    ravine(condition_number=50.0),
    steps=1000,
    learning_rates=np.geomspace(1e-3, 10.0, 25),
)
print(format_table(results, tolerance=1e-6))
steps = {r.name: r.steps_to_tolerance for r in results}
print(f"momentum needs {steps['momentum'] / steps['sgd']:.0%} of SGD's steps")
