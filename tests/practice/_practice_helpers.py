"""Helpers shared by the good-practice tests."""

import jax
import numpy as np

from optlab.train import TrainState


def make_state(model, params, tx, **kwargs):
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx, **kwargs)


def host(tree):
    """Every leaf on the host (raises if a buffer was donated or deleted)."""
    return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]


def assert_trees_equal(a, b):
    for left, right in zip(host(a), host(b), strict=True):
        np.testing.assert_array_equal(left, right)

