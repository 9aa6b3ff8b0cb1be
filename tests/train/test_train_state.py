from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import optlab
from optlab.train import TrainState


class BatchNormState(TrainState):
    batch_stats: Any = None


class BNNet(nn.Module):
    @nn.compact
    def __call__(self, x, train):
        x = nn.Dense(4)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.5)(x)
        return nn.Dense(1)(nn.relu(x))


def test_linen_with_batch_stats_field_under_jit():
    model = BNNet()
    x = jax.random.normal(jax.random.key(1), (16, 3))
    y = x.sum(axis=1, keepdims=True)
    variables = model.init(jax.random.key(0), x, train=False)
    state = BatchNormState.create(
        apply_fn=model.apply, params=variables["params"], tx=optlab.adam(3e-2),
        ema_decay=0.9, batch_stats=variables["batch_stats"],
    )

    @jax.jit
    def step(state):
        def loss_fn(params):
            out, updates = state.apply_fn(
                {"params": params, "batch_stats": state.batch_stats}, x, train=True, mutable=["batch_stats"]
            )
            return jnp.mean((out - y) ** 2), updates["batch_stats"]

        (loss, stats), grads = state.value_and_grad(loss_fn, has_aux=True)
        return state.apply_gradients(grads=grads, batch_stats=stats), loss

    losses = []
    for _ in range(60):
        state, loss = step(state)
        losses.append(float(loss))
    assert isinstance(state, BatchNormState) and int(state.step) == 60
    assert losses[-1] < 0.5 * losses[0]
    mean = state.batch_stats["BatchNorm_0"]["mean"]
    assert not np.allclose(mean, 0.0)  # the running statistics were carried through the state
    assert jax.tree.structure(state.ema_params) == jax.tree.structure(state.params)
    assert float(optlab.current_learning_rate(state.opt_state)) == pytest.approx(3e-2)


def test_value_and_grad_matches_jax():
    state = TrainState.create(apply_fn=None, params={"w": jnp.array([1.0, 2.0])}, tx=optax.sgd(0.1))
    value, grads = state.value_and_grad(lambda p, s: s * jnp.sum(p["w"] ** 2), 3.0)
    assert float(value) == 15.0
    np.testing.assert_array_equal(grads["w"], [6.0, 12.0])
    (value, aux), _ = state.value_and_grad(lambda p: (jnp.sum(p["w"]), "aux"), has_aux=True)
    assert float(value) == 3.0 and aux == "aux"


def test_state_is_immutable_and_static_fields_not_leaves():
    state = TrainState.create(apply_fn=jnp.sin, params={"w": jnp.ones(2)}, tx=optax.sgd(0.1), ema_decay=0.5)
    with pytest.raises(AttributeError):
        state.step = 3
    leaves = jax.tree.leaves(state)
    assert all(isinstance(leaf, jax.Array) for leaf in leaves)
    assert len(leaves) == 3  # step, params/w, ema/w (sgd without momentum keeps no state arrays)


def test_create_rejects_non_transformation():
    with pytest.raises(ValueError, match="tx must be an optax.GradientTransformation"):
        TrainState.create(apply_fn=None, params={}, tx=0.1)


class NnxNet(nnx.Module):
    def __init__(self, rngs):
        self.linear = nnx.Linear(3, 1, rngs=rngs)

    def __call__(self, x):
        return self.linear(x)


def _regression_data():
    x = jax.random.normal(jax.random.key(2), (32, 3))
    return x, x @ jnp.array([[1.0], [-2.0], [0.5]])


def test_nnx_split_merge_trains():
    x, y = _regression_data()
    graphdef, params = nnx.split(NnxNet(nnx.Rngs(0)), nnx.Param)
    state = TrainState.create(apply_fn=None, params=params, tx=optlab.adam(0.05), ema_decay=0.9)

    def loss_fn(params):
        return jnp.mean((nnx.merge(graphdef, params)(x) - y) ** 2)

    step = jax.jit(lambda s: s.apply_gradients(grads=s.value_and_grad(loss_fn)[1]))
    first = float(loss_fn(state.params))
    for _ in range(100):
        state = step(state)
    assert float(loss_fn(state.params)) < 0.01 * first
    model = nnx.merge(graphdef, state.params)
    np.testing.assert_allclose(model.linear.kernel[...][:, 0], [1.0, -2.0, 0.5], atol=0.05)


def test_optlab_adam_inside_nnx_optimizer_matches_train_state():
    x, y = _regression_data()
    # nnx.split shares Variables with the module; nnx.Optimizer mutates its module in place, so
    # the TrainState gets an identical but separate copy.
    graphdef, params = nnx.split(NnxNet(nnx.Rngs(0)), nnx.Param)
    state = TrainState.create(apply_fn=None, params=params, tx=optlab.adam(0.05))
    model = NnxNet(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optlab.adam(0.05), wrt=nnx.Param)

    def loss(m):
        return jnp.mean((m(x) - y) ** 2)

    for _ in range(5):
        grads = nnx.grad(loss)(model)
        optimizer.update(model, grads)
        _, g = state.value_and_grad(lambda p: loss(nnx.merge(graphdef, p)))
        state = state.apply_gradients(grads=g)
    np.testing.assert_allclose(model.linear.kernel[...], state.params["linear"]["kernel"][...], rtol=1e-6)
    assert float(optlab.current_learning_rate(optimizer.opt_state)) == pytest.approx(0.05)
    assert int(optimizer.step[...]) == 5
