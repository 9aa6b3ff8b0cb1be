"""The contract every optlab optimizer keeps, checked over one registry (tests/_registry.py)."""

import warnings

import flax.training.train_state as flax_train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _registry import RULE_IDS, RULES

import optlab

PARAMS = {"w": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.full((3,), 0.5)}


def grads_like(params, t=0.0):
    return jax.tree_util.tree_map(lambda p: (jnp.cos(p + t) * 0.3).astype(p.dtype), params)


def run_steps(tx, update, params, steps=4):
    state = tx.init(params)
    outs = []
    for t in range(steps):
        updates, state = update(grads_like(params, t), state, params)
        outs.append(updates)
    return outs, state


@pytest.fixture(params=RULES, ids=RULE_IDS)
def rule(request):
    return request.param


def test_jit_equals_no_jit(rule):
    tx = rule.build(0.1)
    eager, state_eager = run_steps(tx, tx.update, PARAMS)
    jitted, state_jit = run_steps(tx, jax.jit(tx.update), PARAMS)
    # XLA may fuse differently from op-by-op dispatch (FMA), so allow float32 rounding, no more.
    for a, b in zip(eager, jitted):
        jax.tree_util.tree_map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-8), a, b)
    jax.tree_util.tree_map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6), state_eager, state_jit)


def test_second_step_and_lr_change_do_not_recompile(rule):
    tx = rule.build(0.1)
    update = jax.jit(tx.update)
    state = tx.init(PARAMS)
    g = grads_like(PARAMS)
    u1, state = update(g, state, PARAMS)
    u2, state = update(g, state, PARAMS)
    assert update._cache_size() == 1
    state = optlab.set_learning_rate(state, 0.2)
    u3, state = update(g, state, PARAMS)
    assert update._cache_size() == 1
    assert float(optlab.current_learning_rate(state)) == pytest.approx(0.2)
    # The new lr is really used: sgd-like first steps scale with it.
    fresh = optlab.set_learning_rate(tx.init(PARAMS), 0.2)
    u_fresh, _ = update(g, fresh, PARAMS)
    u_base, _ = update(g, tx.init(PARAMS), PARAMS)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, 2 * b, rtol=1e-6), u_fresh, u_base)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=["f32", "bf16"])
def test_dtype_kept_and_hyperparameters_stay_float32(rule, dtype):
    params = jax.tree_util.tree_map(lambda p: p.astype(dtype), PARAMS)
    tx = rule.build(0.1)
    outs, state = run_steps(tx, jax.jit(tx.update), params)
    for leaf in jax.tree_util.tree_leaves(outs[-1]):
        assert leaf.dtype == dtype
    assert optlab.current_learning_rate(state).dtype == jnp.float32
    for leaf in jax.tree_util.tree_leaves(state):
        assert leaf.dtype in (dtype, jnp.int32, jnp.float32), leaf.dtype
    new_params = optlab.apply_updates(params, outs[-1])
    assert all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(new_params))


def test_bf16_params_do_not_round_decay_rates(rule):
    """b2 = 0.999 in bf16 is 1.0; the moments must still move as in float32 (within bf16 storage)."""
    params32 = PARAMS
    params16 = jax.tree_util.tree_map(lambda p: p.astype(jnp.bfloat16), PARAMS)
    tx = rule.build(0.1)
    out32, _ = run_steps(tx, tx.update, params32, steps=3)
    out16, _ = run_steps(tx, tx.update, params16, steps=3)
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(np.asarray(b, np.float32), a, rtol=3e-2, atol=3e-3),
        out32[-1],
        out16[-1],
    )


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16], ids=["f16", "bf16"])
def test_zero_grads_in_half_precision_stay_finite(rule, dtype):
    params = jax.tree_util.tree_map(lambda p: p.astype(dtype), PARAMS)
    tx = rule.build(0.1)
    state = tx.init(params)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    for _ in range(3):
        updates, state = jax.jit(tx.update)(zeros, state, params)
        params = optlab.apply_updates(params, updates)
    for leaf in jax.tree_util.tree_leaves((updates, state, params)):
        assert bool(jnp.all(jnp.isfinite(leaf)))


def test_works_inside_optax_chain(rule):
    clip = optax.clip_by_global_norm(0.05)
    chained = optax.chain(clip, rule.build(0.1))
    tx = rule.build(0.1)
    g = grads_like(PARAMS)
    u_chain, _ = chained.update(g, chained.init(PARAMS), PARAMS)
    clipped, _ = clip.update(g, clip.init(PARAMS))
    u_manual, _ = tx.update(clipped, tx.init(PARAMS), PARAMS)
    jax.tree_util.tree_map(np.testing.assert_array_equal, u_chain, u_manual)
    assert float(optlab.current_learning_rate(chained.init(PARAMS))) == pytest.approx(0.1)


def test_works_in_flax_train_state(rule):
    tx = rule.build(0.1)
    state = flax_train_state.TrainState.create(apply_fn=lambda p, x: x, params=PARAMS, tx=tx)
    g = grads_like(PARAMS)
    state = jax.jit(lambda s, g: s.apply_gradients(grads=g))(state, g)
    updates, _ = tx.update(g, tx.init(PARAMS), PARAMS)
    expected = optax.apply_updates(PARAMS, updates)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), state.params, expected)
    assert int(state.step) == 1
    assert float(optlab.current_learning_rate(state.opt_state)) == pytest.approx(0.1)


def test_state_types_stable_through_lax_cond(rule):
    tx = rule.build(optlab.schedules.linear(0.1, total_steps=10))
    state = tx.init(PARAMS)
    g = grads_like(PARAMS)

    @jax.jit
    def maybe_step(pred, state):
        return jax.lax.cond(pred, lambda s: tx.update(g, s, PARAMS)[1], lambda s: s, state)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stepped = maybe_step(True, state)
        kept = maybe_step(False, state)
    assert jax.tree_util.tree_structure(stepped) == jax.tree_util.tree_structure(state)
    assert type(stepped[-1]) is optlab.ScheduledLearningRateState
    jax.tree_util.tree_map(np.testing.assert_array_equal, kept, state)


def test_integer_leaves_pass_through_untouched(rule):
    params = {"w": jnp.ones(3), "n": jnp.array([7, 8], jnp.int32)}
    grads = {"w": jnp.full(3, 0.5), "n": jnp.array([0, 0], jnp.int32)}
    tx = rule.build(0.1)
    state = tx.init(params)
    for _ in range(3):
        updates, state = tx.update(grads, state, params)
        params = optlab.apply_updates(params, updates)
    assert updates["n"].dtype == jnp.int32
    np.testing.assert_array_equal(updates["n"], grads["n"])
    np.testing.assert_array_equal(params["n"], [7, 8])
    assert params["n"].dtype == jnp.int32
    assert float(jnp.abs(params["w"] - 1.0).max()) > 0


def test_mismatched_grads_name_the_path(rule):
    tx = rule.build(0.1)
    state = tx.init(PARAMS)
    bad_shape = {"w": PARAMS["w"], "b": jnp.ones((1,))}
    with pytest.raises(ValueError, match=r"grads\['b'\] has shape \(1,\) but params\['b'\] has shape \(3,\)"):
        tx.update(bad_shape, state, PARAMS)
    with pytest.raises(ValueError, match=r"missing grads\['b'\]"):
        tx.update({"w": PARAMS["w"]}, state, PARAMS)
    with pytest.raises(ValueError, match=r"unexpected grads\['extra'\]"):
        tx.update({**PARAMS, "extra": jnp.ones(2)}, state, PARAMS)
