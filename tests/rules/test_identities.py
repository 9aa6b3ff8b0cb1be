"""Composability identities that hold exactly (bit for bit), showing how the rules are built."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from hypothesis import given, settings
from hypothesis import strategies as st

import optlab

PARAMS = {"a": jnp.linspace(-1.0, 2.0, 7), "b": jnp.ones((2, 3))}


def _grads(t):
    return jax.tree_util.tree_map(lambda p: jnp.sin(3.0 * p + t) + 0.1 * t, PARAMS)


def _updates(tx, steps=12):
    state, out = tx.init(PARAMS), []
    for t in range(steps):
        u, state = tx.update(_grads(t), state, PARAMS)
        out.append(u)
    return out


def assert_same(tx1, tx2):
    for u1, u2 in zip(_updates(tx1), _updates(tx2)):
        jax.tree_util.tree_map(np.testing.assert_array_equal, u1, u2)


@settings(max_examples=15, deadline=None)
@given(b2=st.floats(0.0, 0.999), eps=st.sampled_from([0.0, 1e-8, 1e-3]))
def test_adam_without_momentum_or_correction_is_rmsprop(b2, eps):
    assert_same(
        optlab.adam_scaling(b1=0.0, b2=b2, eps=eps, bias_correction=False),
        optlab.rms_scaling(rho=b2, eps=eps),
    )


def test_momentum_with_zero_rho_is_sgd():
    assert_same(optlab.momentum(0.1, rho=0.0), optlab.sgd(0.1))
    assert_same(optlab.nesterov(0.1, rho=0.0), optlab.sgd(0.1))


def test_adamw_without_decay_is_adam():
    assert_same(optlab.adamw(0.01, weight_decay=0.0), optlab.adam(0.01))


def test_optimizers_are_chains_of_blocks():
    assert_same(optlab.adam(0.01), optax.chain(optlab.adam_scaling(), optlab.scale_by_learning_rate(0.01)))
    assert_same(
        optlab.adagrad(0.3), optax.chain(optlab.adagrad_accumulator(), optlab.scale_by_learning_rate(0.3))
    )
    assert_same(optlab.rmsprop(0.3), optax.chain(optlab.rms_scaling(), optlab.scale_by_learning_rate(0.3)))
    assert_same(optlab.nesterov(0.3), optax.chain(optlab.momentum_trace(nesterov=True), optlab.scale_by_learning_rate(0.3)))


def test_momentum_trace_matches_optax_trace():
    for nesterov in (False, True):
        assert_same(optlab.momentum_trace(0.9, nesterov=nesterov), optax.trace(0.9, nesterov=nesterov))


def test_adagrad_step_equals_sign_on_first_step():
    """AdaGrad's first step is lr*g/|g| (G = g^2): per-parameter step sizes."""
    (u,) = _updates(optlab.adagrad(0.5, eps=0.0), steps=1)
    g = _grads(0)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, -0.5 * np.sign(b), rtol=1e-6), u, g)


def test_weight_decay_mask_skips_leaves():
    mask = {"a": False, "b": True}
    tx = optax.chain(optlab.add_decayed_weights(0.5, mask=mask), optlab.scale_by_learning_rate(1.0))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, PARAMS)
    u, _ = tx.update(zeros, tx.init(PARAMS), PARAMS)
    np.testing.assert_array_equal(u["a"], 0.0)
    np.testing.assert_array_equal(u["b"], -0.5 * PARAMS["b"])
    callable_mask = optlab.add_decayed_weights(0.5, mask=lambda p: {"a": False, "b": True})
    u2, _ = callable_mask.update(zeros, callable_mask.init(PARAMS), PARAMS)
    np.testing.assert_array_equal(u2["a"], 0.0)
