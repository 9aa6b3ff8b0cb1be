"""The transfer modules' docstring examples run (doctest); partition works on an nnx State."""

import doctest
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import optlab
from optlab.train import TrainState
from optlab.transfer import partition


@pytest.mark.parametrize("name", ["optlab.transfer._paths", "optlab.transfer._partition", "optlab.transfer._lr_groups"])
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_partition_on_an_nnx_state():
    class Net(nnx.Module):
        def __init__(self, rngs):
            self.body = nnx.Linear(3, 4, rngs=rngs)
            self.norm = nnx.LayerNorm(4, rngs=rngs)
            self.head = nnx.Linear(4, 2, rngs=rngs)

        def __call__(self, x):
            return self.head(self.norm(self.body(x)))

    graph, params = nnx.split(Net(nnx.Rngs(0)), nnx.Param)
    tx = partition([("body/.*|norm/.*", None), ("head/.*", optlab.adam(1e-2))])
    state = TrainState.create(apply_fn=None, params=params, tx=tx)
    x = jnp.ones((5, 3))
    loss = lambda p: jnp.sum(nnx.merge(graph, p)(x) ** 2)  # noqa: E731
    for _ in range(2):
        value, grads = state.value_and_grad(loss)
        state = state.apply_gradients(grads=grads)
    np.testing.assert_array_equal(state.params["norm"]["scale"][...], params["norm"]["scale"][...])
    np.testing.assert_array_equal(state.params["body"]["kernel"][...], params["body"]["kernel"][...])
    assert not np.array_equal(state.params["head"]["kernel"][...], params["head"]["kernel"][...])
    assert not np.any(np.asarray(jax.tree.leaves(grads["body"])[0]))
