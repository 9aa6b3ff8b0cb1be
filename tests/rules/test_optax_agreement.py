"""optlab against optax with mapped settings, where the conventions agree (real and complex leaves).

Documented differences (and how they are mapped here):
* adagrad: optax starts G at 0.1 and puts eps inside the sqrt -> compare with
  initial_accumulator_value=0.1 and eps=0 on both sides.
* rmsprop: optax defaults decay=0.9 and puts eps inside the sqrt -> compare with rho=decay, eps=0.
* adam/adamw: optax computes 1 - b**t in float32 (relative error up to ~1e-5 from cancellation);
  optlab uses -expm1(t*log b). Tolerance 5e-5 relative covers that difference, nothing more.
Everything else agrees to float32 rounding (rtol 1e-6).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optlab
from optlab import schedules

SCHEDULE = schedules.cosine(0.05, total_steps=20, final_value=0.005)

PAIRS = {
    "sgd": (optlab.sgd(SCHEDULE), optax.sgd(SCHEDULE), 1e-6),
    "momentum": (optlab.momentum(SCHEDULE, rho=0.9), optax.sgd(SCHEDULE, momentum=0.9), 1e-6),
    "nesterov": (
        optlab.nesterov(SCHEDULE, rho=0.9),
        optax.sgd(SCHEDULE, momentum=0.9, nesterov=True),
        1e-6,
    ),
    "adagrad": (
        optlab.adagrad(SCHEDULE, eps=0.0, initial_accumulator_value=0.1),
        optax.adagrad(SCHEDULE, initial_accumulator_value=0.1, eps=0.0),
        1e-6,
    ),
    "rmsprop": (
        optlab.rmsprop(SCHEDULE, rho=0.9, eps=0.0),
        optax.rmsprop(SCHEDULE, decay=0.9, eps=0.0),
        1e-6,
    ),
    "adam": (optlab.adam(SCHEDULE), optax.adam(SCHEDULE), 5e-5),
    "adamw": (
        optlab.adamw(SCHEDULE, weight_decay=0.1),
        optax.adamw(SCHEDULE, weight_decay=0.1),
        5e-5,
    ),
}


def _loss(params):
    return jnp.sum(jnp.sin(3.0 * params["a"]) + params["a"] ** 4) + jnp.sum(jnp.cosh(params["b"] - 0.3))


def _run(tx, steps=30):
    params = {"a": jnp.linspace(-1.0, 1.0, 5), "b": jnp.arange(6.0).reshape(2, 3) / 6}
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(_loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    for _ in range(steps):
        params, state = step(params, state)
    return params


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_matches_optax(name):
    ours, theirs, rtol = PAIRS[name]
    got, expected = _run(ours), _run(theirs)
    for key in ("a", "b"):
        np.testing.assert_allclose(got[key], expected[key], rtol=rtol, atol=rtol * 1e-1)


def test_adam_bias_correction_is_more_accurate_than_float32_cancellation():
    """The one place optlab's adam differs from optax's: 1 - b2**t without cancellation."""
    g = {"w": jnp.array([2.0])}
    ours, theirs = optlab.adam(0.1), optax.adam(0.1)
    (u_ours, _), (u_theirs, _) = ours.update(g, ours.init(g)), theirs.update(g, theirs.init(g))
    exact = -0.1 * 1.0 / (1.0 + 1e-8)  # the first Adam step is lr * sign(g), up to eps
    assert abs(float(u_ours["w"][0]) - exact) <= 1e-8
    assert abs(float(u_theirs["w"][0]) - exact) > 1e-7


def _complex_loss(params):
    z = params["z"]
    return jnp.sum(jnp.abs(jnp.sin(z) - 0.5j) ** 2 + 0.1 * jnp.abs(z) ** 4)


def _run_complex(tx, steps=30):
    params = {"z": (jnp.linspace(-1.0, 1.0, 6) + 1j * jnp.linspace(0.5, -0.5, 6)).astype(jnp.complex64)}
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.tree_util.tree_map(jnp.conj, jax.grad(_complex_loss)(params))  # optax's convention
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for _ in range(steps):
        params, state = step(params, state)
    return params["z"]


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_matches_optax_on_complex_leaves(name):
    """optax's complex convention (second moments from |g|^2, momentum complex), same numbers."""
    ours, theirs, rtol = PAIRS[name]
    got, expected = _run_complex(ours), _run_complex(theirs)
    assert got.dtype == jnp.complex64
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 1e-1)
    start = jnp.linspace(-1.0, 1.0, 6) + 1j * jnp.linspace(0.5, -0.5, 6)
    assert float(jnp.abs(got - start).max()) > 1e-2
