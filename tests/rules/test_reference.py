"""Every rule against a float64 NumPy reference of its formula, 25 steps on a non-quadratic loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _registry import RULE_IDS, RULES

import optlab
from optlab import schedules

STEPS = 25
_rng = np.random.default_rng(0)
A = _rng.normal(size=(6, 7))
B = _rng.normal(size=6)
W0 = _rng.normal(size=7)


def loss_np(w):
    """Non-quadratic: sum log cosh(Aw - b) + 0.05 * sum w^4 / 4."""
    return np.sum(np.log(np.cosh(A @ w - B))) + 0.0125 * np.sum(w**4)


def grad_np(w):
    return A.T @ np.tanh(A @ w - B) + 0.05 * w**3


def to_tree(w, dtype):
    return {"x": jnp.asarray(w[:3], dtype), "y": jnp.asarray(w[3:].reshape(2, 2), dtype)}


def from_tree(tree):
    return np.concatenate([np.asarray(tree["x"], np.float64), np.asarray(tree["y"], np.float64).ravel()])


def loss_jax(params):
    w = jnp.concatenate([params["x"], params["y"].ravel()])
    return jnp.sum(jnp.log(jnp.cosh(jnp.asarray(A, w.dtype) @ w - jnp.asarray(B, w.dtype)))) + 0.0125 * jnp.sum(w**4)


def lr_closed_form(t):
    """warmup(cosine(0.1, 30, final 0.01), 5): the schedule as a closed form in float64."""
    if t < 5:
        return 0.1 * t / 5
    tau = min(t - 5, 30)
    return 0.01 + (0.1 - 0.01) * 0.5 * (1 + np.cos(np.pi * tau / 30))


SCHEDULE = schedules.warmup(schedules.cosine(0.1, total_steps=30, final_value=0.01), warmup_steps=5)


def reference_run(rule, lr_of_step):
    w, state, trajectory = W0.copy(), rule.init(W0), []
    for t in range(STEPS):
        delta, state = rule.step(state, grad_np(w), w, lr_of_step(t))
        w = w + delta
        trajectory.append(w)
    return np.stack(trajectory)


def optlab_run(rule, learning_rate, dtype):
    tx = rule.build(learning_rate)
    params = to_tree(W0, dtype)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(loss_jax)(params)
        updates, state = tx.update(grads, state, params)
        return optlab.apply_updates(params, updates), state

    trajectory = []
    for _ in range(STEPS):
        params, state = step(params, state)
        trajectory.append(from_tree(params))
    return np.stack(trajectory), state


@pytest.mark.parametrize("scheduled", [False, True], ids=["constant", "schedule"])
@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_float64_matches_numpy_reference(rule, scheduled):
    learning_rate, lr_of_step = (SCHEDULE, lr_closed_form) if scheduled else (0.05, lambda t: 0.05)
    expected = reference_run(rule, lr_of_step)
    with jax.enable_x64(True):
        got, state = optlab_run(rule, learning_rate, jnp.float64)
        last_lr = float(optlab.current_learning_rate(state))
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13)
    assert last_lr == pytest.approx(lr_of_step(STEPS - 1), rel=1e-12)
    # The run really moved and really lowered the loss.
    assert np.abs(expected[-1] - W0).max() > 1e-2
    assert loss_np(expected[-1]) < loss_np(W0)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_float32_tracks_float64_reference(rule):
    expected = reference_run(rule, lr_closed_form)
    got, _ = optlab_run(rule, SCHEDULE, jnp.float32)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
