"""The flat-buffer fast path gives the numbers of the per-leaf path (bitwise or within 1 ulp)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optlab
from optlab.train import TrainState
from optlab.train._flat_state import FlatTrainState

STEPS = 12

RULES = {
    "sgd": lambda: optlab.sgd(0.05),
    "momentum": lambda: optlab.momentum(0.05, rho=0.9),
    "nesterov": lambda: optlab.nesterov(0.05, rho=0.9),
    "adagrad": lambda: optlab.adagrad(0.05),
    "rmsprop": lambda: optlab.rmsprop(0.01),
    "adam": lambda: optlab.adam(0.01),
    "adamw": lambda: optlab.adamw(0.01, weight_decay=0.1),
    "adam_schedule": lambda: optlab.adam(optlab.schedules.cosine(0.01, 20)),
    "optax_adam": lambda: optax.adam(0.01),
}


def _params(dtypes=(jnp.float32,)):
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), (3, 2, 4), (1,), (11,)]
    return {
        f"l{i}": jnp.asarray(rng.normal(size=shape), dtypes[i % len(dtypes)])
        for i, shape in enumerate(shapes)
    }


def _grads(params, step):
    rng = np.random.default_rng(100 + step)
    return jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), p.dtype), params)


def _assert_close(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype == jnp.bfloat16:  # 1 ulp of bf16 = 65536 ulp of its float32 image
        diff = np.abs(got.view(np.int16).astype(np.int32) - want.view(np.int16).astype(np.int32))
        assert diff.max(initial=0) <= 1, diff
    else:
        np.testing.assert_array_max_ulp(got, want, maxulp=1)


def _run_both(make_tx, params, ema_decay=None, dynamic_offsets=False):
    tree = TrainState.create(apply_fn=None, params=params, tx=make_tx(), ema_decay=ema_decay)
    flat = FlatTrainState.create(
        apply_fn=None, params=params, tx=make_tx(), ema_decay=ema_decay, dynamic_offsets=dynamic_offsets
    )
    tree_step = jax.jit(lambda s, g: s.apply_gradients(grads=g))
    flat_step = jax.jit(lambda s, g: s.apply_gradients(grads=s.flat_grads(g)))
    for step in range(STEPS):
        g = _grads(params, step)
        tree, flat = tree_step(tree, g), flat_step(flat, g)
    return tree, flat


@pytest.mark.parametrize("name", sorted(RULES))
def test_flat_update_equals_per_leaf_update(name):
    tree, flat = _run_both(RULES[name], _params())
    jax.tree.map(_assert_close, flat.params, tree.params)
    assert int(flat.step) == int(tree.step) == STEPS
    if not name.startswith("optax"):
        np.testing.assert_array_equal(
            optlab.current_learning_rate(flat.opt_state), optlab.current_learning_rate(tree.opt_state)
        )


@pytest.mark.parametrize("dynamic_offsets", [False, True])
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
def test_mixed_dtypes_use_one_buffer_per_dtype_and_match(name, dynamic_offsets):
    params = _params((jnp.float32, jnp.bfloat16))
    tree, flat = _run_both(RULES[name], params, dynamic_offsets=dynamic_offsets)
    assert sorted(flat.flat_params) == ["bfloat16", "float32"]
    assert flat.flat_params["bfloat16"].dtype == jnp.bfloat16
    jax.tree.map(_assert_close, flat.params, tree.params)


def test_global_norm_clipping_is_valid_up_to_summation_order():
    """A global norm over the buffers sums in another order than over the leaves: not bitwise."""
    make_tx = lambda: optax.chain(optax.clip_by_global_norm(0.5), optlab.momentum(0.1))  # noqa: E731
    tree, flat = _run_both(make_tx, _params())
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), flat.params, tree.params)


def test_ema_matches_tree_state():
    tree, flat = _run_both(RULES["adam"], _params(), ema_decay=0.9)
    jax.tree.map(_assert_close, flat.ema_params, tree.ema_params)


def test_apply_gradients_accepts_tree_or_flat_grads():
    params = _params()
    state = FlatTrainState.create(apply_fn=None, params=params, tx=optlab.momentum(0.1))
    g = _grads(params, 0)
    by_tree = state.apply_gradients(grads=g)
    by_flat = state.apply_gradients(grads=optlab.perf.flatten(g, state.layout))
    jax.tree.map(np.testing.assert_array_equal, by_tree.flat_params, by_flat.flat_params)
