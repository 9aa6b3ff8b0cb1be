"""Every rule against a float64 NumPy reference of its formula, 25 steps on a non-quadratic loss.

Real leaves (float64/float32) and complex leaves (complex128/complex64, optax's convention: the
descent direction of a real loss ``f(z)`` is ``conj(jax.grad(f)(z)) = df/dx + i df/dy``).
"""

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


# --- complex leaves ------------------------------------------------------------------------------

C_A = _rng.normal(size=(6, 7)) + 1j * _rng.normal(size=(6, 7))
C_B = _rng.normal(size=6) + 1j * _rng.normal(size=6)
Z0 = _rng.normal(size=7) + 1j * _rng.normal(size=7)


def complex_loss_np(z):
    """Real loss of complex z: sum log(1 + |Az - b|^2) + 0.0125 * sum |z|^4."""
    r = C_A @ z - C_B
    return np.sum(np.log1p(np.abs(r) ** 2)) + 0.0125 * np.sum(np.abs(z) ** 4)


def complex_grad_np(z):
    """The descent direction df/dx + i df/dy = 2 df/d(conj z), in closed form."""
    r = C_A @ z - C_B
    return 2 * C_A.conj().T @ (r / (1 + np.abs(r) ** 2)) + 0.05 * np.abs(z) ** 2 * z


def complex_loss_jax(params):
    z = jnp.concatenate([params["x"], params["y"].ravel()])
    r = jnp.asarray(C_A, z.dtype) @ z - jnp.asarray(C_B, z.dtype)
    return jnp.sum(jnp.log1p(jnp.abs(r) ** 2)) + 0.0125 * jnp.sum(jnp.abs(z) ** 4)


def complex_reference_run(rule, lr):
    z, state, trajectory = Z0.copy(), rule.init(Z0), []
    for _ in range(STEPS):
        delta, state = rule.step(state, complex_grad_np(z), z, lr)
        z = z + delta
        trajectory.append(z)
    return np.stack(trajectory)


def complex_optlab_run(rule, lr, dtype):
    tx = rule.build(lr)
    params = {"x": jnp.asarray(Z0[:3], dtype), "y": jnp.asarray(Z0[3:].reshape(2, 2), dtype)}
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.tree_util.tree_map(jnp.conj, jax.grad(complex_loss_jax)(params))
        updates, state = tx.update(grads, state, params)
        return optlab.apply_updates(params, updates), state

    trajectory = []
    for _ in range(STEPS):
        params, state = step(params, state)
        assert all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(params))
        trajectory.append(np.concatenate([np.asarray(params["x"]), np.asarray(params["y"]).ravel()]))
    return np.stack(trajectory), state


def _real_fields_are_real(rule, state, dtype):
    """Second moments (``|g|^2``) are stored real, first moments complex."""
    for field in rule.state_dtypes:
        (node,) = [s for s in jax.tree_util.tree_leaves(state, is_leaf=lambda s: hasattr(s, field.field))
                   if hasattr(s, field.field)]
        for leaf in jax.tree_util.tree_leaves(getattr(node, field.field)):
            assert leaf.dtype == (jnp.finfo(dtype).dtype if field.real else dtype), (field, leaf.dtype)


def test_complex_closed_form_gradient_is_conj_of_jax_grad():
    with jax.enable_x64(True):
        params = {"x": jnp.asarray(Z0[:3]), "y": jnp.asarray(Z0[3:].reshape(2, 2))}
        grads = jax.grad(complex_loss_jax)(params)
        got = np.concatenate([np.asarray(grads["x"]), np.asarray(grads["y"]).ravel()])
    np.testing.assert_allclose(np.conj(got), complex_grad_np(Z0), rtol=1e-12)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_complex128_matches_numpy_reference(rule):
    expected = complex_reference_run(rule, 0.05)
    with jax.enable_x64(True):
        got, state = complex_optlab_run(rule, 0.05, jnp.complex128)
        _real_fields_are_real(rule, state, jnp.complex128)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13)
    # Both parts moved, and the loss went down.
    assert np.abs((expected[-1] - Z0).imag).max() > 1e-2 and np.abs((expected[-1] - Z0).real).max() > 1e-2
    assert complex_loss_np(expected[-1]) < complex_loss_np(Z0)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_complex64_tracks_complex128_reference(rule):
    expected = complex_reference_run(rule, 0.05)
    got, state = complex_optlab_run(rule, 0.05, jnp.complex64)
    _real_fields_are_real(rule, state, jnp.complex64)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
