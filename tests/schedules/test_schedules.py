"""Every schedule against its float64 closed form at every step of a range, jitted."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optlab
from optlab import schedules

T = np.arange(0, 400)


def cosine_np(t, init, total, final):
    t = np.minimum(t, total)
    return final + (init - final) * 0.5 * (1 + np.cos(np.pi * t / total))


def restarts_np(t, init, period, mult, final):
    out = []
    for step in t:
        start, length = 0, period
        while step >= start + length:
            start, length = start + length, length * mult
        out.append(final + (init - final) * 0.5 * (1 + math.cos(math.pi * (step - start) / length)))
    return np.array(out)


CASES = {
    "constant": (schedules.constant(0.3), lambda t: np.full(t.shape, 0.3)),
    "step": (schedules.step(0.5, every=30, factor=0.1), lambda t: 0.5 * 0.1 ** np.floor(t / 30)),
    "step_up": (schedules.step(0.01, every=100, factor=2.0), lambda t: 0.01 * 2.0 ** np.floor(t / 100)),
    "cosine": (schedules.cosine(0.1, total_steps=300), lambda t: cosine_np(t, 0.1, 300, 0.0)),
    "cosine_final": (
        schedules.cosine(0.1, total_steps=250, final_value=0.002),
        lambda t: cosine_np(t, 0.1, 250, 0.002),
    ),
    "linear": (schedules.linear(0.2, total_steps=300), lambda t: 0.2 * (1 - np.minimum(t, 300) / 300)),
    "linear_final": (
        schedules.linear(0.2, total_steps=100, final_value=0.05),
        lambda t: 0.2 + (0.05 - 0.2) * np.minimum(t, 100) / 100,
    ),
    "exponential": (schedules.exponential(0.1, decay_percent=1.5), lambda t: 0.1 * (1 - 0.015) ** t),
    "warmup_cosine": (
        schedules.warmup(schedules.cosine(0.1, total_steps=200), warmup_steps=50, start_value=0.01),
        lambda t: np.where(t < 50, 0.01 + (0.1 - 0.01) * t / 50, cosine_np(np.maximum(t - 50, 0), 0.1, 200, 0.0)),
    ),
    "warmup_constant": (schedules.warmup(0.3, warmup_steps=10), lambda t: np.where(t < 10, 0.3 * t / 10, 0.3)),
    "warmup_zero": (schedules.warmup(schedules.linear(0.2, 300), warmup_steps=0), lambda t: 0.2 * (1 - np.minimum(t, 300) / 300)),
    "restarts": (schedules.cosine_restarts(0.1, period=50), lambda t: restarts_np(t, 0.1, 50, 1, 0.0)),
    "restarts_mult": (
        schedules.cosine_restarts(0.1, period=20, period_mult=2, final_value=0.001),
        lambda t: restarts_np(t, 0.1, 20, 2, 0.001),
    ),
    "restarts_mult_frac": (
        schedules.cosine_restarts(1.0, period=7, period_mult=1.5),
        lambda t: restarts_np(t, 1.0, 7, 1.5, 0.0),
    ),
    "per_epoch_step": (
        schedules.per_epoch(schedules.step(0.1, every=3, factor=0.1), steps_per_epoch=25),
        lambda t: 0.1 * 0.1 ** np.floor(np.floor(t / 25) / 3),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_closed_form_every_step(name):
    schedule, closed_form = CASES[name]
    expected = closed_form(T.astype(np.float64))
    vectorised = jax.jit(schedule)(jnp.asarray(T, jnp.int32))
    np.testing.assert_allclose(vectorised, expected, rtol=2e-6, atol=1e-9)
    scalar = jax.jit(schedule)
    for t in (0, 1, 49, 50, 51, 199, 399):
        np.testing.assert_allclose(scalar(jnp.int32(t)), expected[t], rtol=2e-6, atol=1e-9)
    assert vectorised.dtype == jnp.float32


def test_restarts_jump_back_at_each_cycle_start():
    schedule = jax.jit(schedules.cosine_restarts(0.1, period=10, period_mult=2))
    starts = [0, 10, 30, 70, 150]
    for start in starts:
        assert float(schedule(start)) == pytest.approx(0.1, rel=1e-6)
        if start:
            assert float(schedule(start - 1)) < 0.01


def test_schedule_drives_optimizer_lr():
    tx = optlab.sgd(schedules.warmup(schedules.exponential(0.1, 10), warmup_steps=3))
    params = {"w": jnp.ones(1)}
    state = tx.init(params)
    seen = []
    for _ in range(6):
        updates, state = tx.update({"w": jnp.ones(1)}, state, params)
        seen.append(-float(updates["w"][0]))
        assert float(optlab.current_learning_rate(state)) == pytest.approx(seen[-1], rel=1e-6)
    np.testing.assert_allclose(seen, [0.0, 0.1 / 3, 0.2 / 3, 0.1, 0.09, 0.081], rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    init=st.floats(1e-4, 10.0),
    final_fraction=st.floats(0.0, 1.0),
    total=st.integers(1, 10_000),
    t=st.integers(0, 20_000),
)
def test_decays_stay_between_final_and_init(init, final_fraction, total, t):
    final = init * final_fraction
    for schedule in (schedules.cosine(init, total, final), schedules.linear(init, total, final)):
        value = float(schedule(t))
        assert final * (1 - 1e-6) - 1e-12 <= value <= init * (1 + 1e-6)
        if t >= total:
            assert value == pytest.approx(final, rel=1e-6, abs=1e-9)
