"""Every factory refuses bad hyperparameters eagerly, naming the argument and the value."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import optlab
from optlab import schedules

BAD_LEARNING_RATES = [
    (-1.0, r"learning_rate must be >= 0, got -1.0"),
    (float("nan"), r"learning_rate must be finite, got nan"),
    (math.inf, r"learning_rate must be finite, got inf"),
    (None, r"learning_rate must be a real number, got None"),
    (jnp.ones(2), r"learning_rate must be a real scalar, got .*shape \(2,\)"),
    ("0.1", r"learning_rate must be a real scalar, got '0.1'"),
    (True, r"learning_rate must be a real number, got True"),
]

OPTIMIZERS = [optlab.sgd, optlab.momentum, optlab.nesterov, optlab.adagrad, optlab.rmsprop, optlab.adam, optlab.adamw]


@pytest.mark.parametrize("factory", OPTIMIZERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value,message", BAD_LEARNING_RATES, ids=[repr(v)[:12] for v, _ in BAD_LEARNING_RATES])
def test_bad_learning_rate(factory, value, message):
    with pytest.raises(ValueError, match=message):
        factory(value)


def test_schedule_that_starts_negative_is_refused():
    with pytest.raises(ValueError, match=r"learning_rate\(0\) must be >= 0"):
        optlab.sgd(lambda step: -0.1 + 0.0 * step)


BAD_HYPERPARAMETERS = [
    (optlab.momentum, {"rho": 1.5}, r"rho must be in \[0, 1\), got 1.5"),
    (optlab.momentum, {"rho": 1.0}, r"rho must be in \[0, 1\), got 1.0"),
    (optlab.nesterov, {"rho": -0.1}, r"rho must be in \[0, 1\), got -0.1"),
    (optlab.rmsprop, {"rho": 1.0}, r"rho must be in \[0, 1\), got 1.0"),
    (optlab.rmsprop, {"eps": -1e-8}, r"eps must be >= 0, got -1e-08"),
    (optlab.adagrad, {"eps": -1.0}, r"eps must be >= 0, got -1.0"),
    (optlab.adagrad, {"initial_accumulator_value": -0.1}, r"initial_accumulator_value must be >= 0, got -0.1"),
    (optlab.adam, {"b1": 1.0}, r"b1 must be in \[0, 1\), got 1.0"),
    (optlab.adam, {"b2": -0.5}, r"b2 must be in \[0, 1\), got -0.5"),
    (optlab.adam, {"b2": float("nan")}, r"b2 must be finite, got nan"),
    (optlab.adam, {"eps": -1e-8}, r"eps must be >= 0, got -1e-08"),
    (optlab.adam, {"bias_correction": "yes"}, r"bias_correction must be a bool, got 'yes'"),
    (optlab.adamw, {"weight_decay": -0.01}, r"weight_decay must be >= 0, got -0.01"),
    (optlab.adamw, {"weight_decay": float("inf")}, r"weight_decay must be finite, got inf"),
]


@pytest.mark.parametrize(
    "factory,kwargs,message", BAD_HYPERPARAMETERS, ids=[f"{f.__name__}-{k}" for f, k, _ in BAD_HYPERPARAMETERS]
)
def test_bad_hyperparameter(factory, kwargs, message):
    with pytest.raises(ValueError, match=message):
        factory(0.1, **kwargs)


def test_bad_block_arguments():
    with pytest.raises(ValueError, match=r"rho must be in \[0, 1\), got 2"):
        optlab.momentum_trace(rho=2)
    with pytest.raises(ValueError, match=r"nesterov must be a bool, got 1"):
        optlab.momentum_trace(nesterov=1)
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0, got -1"):
        optlab.add_decayed_weights(-1)


BAD_SCHEDULES = [
    (lambda: schedules.constant(float("nan")), r"value must be finite, got nan"),
    (lambda: schedules.step(0.1, every=0), r"every must be a positive integer, got 0"),
    (lambda: schedules.step(0.1, every=2.5), r"every must be a positive integer, got 2.5"),
    (lambda: schedules.step(0.1, every=10, factor=0.0), r"factor must be > 0, got 0.0"),
    (lambda: schedules.step(0.1, every=10, factor=-2), r"factor must be > 0, got -2"),
    (lambda: schedules.cosine(0.1, total_steps=0), r"total_steps must be a positive integer, got 0"),
    (lambda: schedules.cosine(None, total_steps=10), r"init_value must be a real number, got None"),
    (lambda: schedules.linear(0.1, total_steps=-5), r"total_steps must be a positive integer, got -5"),
    (lambda: schedules.exponential(0.1, decay_percent=100), r"decay_percent must be in \[0, 100\), got 100"),
    (lambda: schedules.exponential(0.1, decay_percent=-1), r"decay_percent must be in \[0, 100\), got -1"),
    (lambda: schedules.warmup(0.1, warmup_steps=-1), r"warmup_steps must be a non-negative integer, got -1"),
    (lambda: schedules.warmup(0.1, warmup_steps=5, start_value=math.inf), r"start_value must be finite, got inf"),
    (lambda: schedules.cosine_restarts(0.1, period=0), r"period must be a positive integer, got 0"),
    (lambda: schedules.cosine_restarts(0.1, period=10, period_mult=0.5), r"period_mult must be >= 1, got 0.5"),
    (lambda: schedules.per_epoch(schedules.constant(0.1), steps_per_epoch=0), r"steps_per_epoch must be a positive integer, got 0"),
    (lambda: schedules.per_epoch(0.1, steps_per_epoch=10), r"schedule must be callable"),
]


@pytest.mark.parametrize("make,message", BAD_SCHEDULES, ids=[m for _, m in BAD_SCHEDULES])
def test_bad_schedule(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_set_learning_rate_refuses_bad_values_and_schedules():
    state = optlab.sgd(0.1).init({"w": jnp.ones(2)})
    with pytest.raises(ValueError, match=r"learning_rate must be >= 0, got -0.5"):
        optlab.set_learning_rate(state, -0.5)
    scheduled = optlab.sgd(schedules.linear(0.1, 10)).init({"w": jnp.ones(2)})
    with pytest.raises(ValueError, match=r"follows a schedule"):
        optlab.set_learning_rate(scheduled, 0.01)
    with pytest.raises(ValueError, match=r"exactly one learning-rate state"):
        optlab.current_learning_rate({"no": np.zeros(2)})


def test_weight_decay_needs_params_and_a_matching_mask():
    tx = optlab.adamw(0.1)
    params = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match=r"add_decayed_weights needs params"):
        tx.update(params, tx.init(params))
    masked = optlab.adamw(0.1, mask={"v": True})
    with pytest.raises(ValueError, match=r"mask tree does not match params"):
        masked.update(params, masked.init(params), params)
    not_bool = optlab.adamw(0.1, mask={"w": 1})
    with pytest.raises(ValueError, match=r"mask leaves must be Python bools, got 1"):
        not_bool.update(params, not_bool.init(params), params)


def test_apply_updates_never_broadcasts():
    with pytest.raises(ValueError, match=r"updates\['w'\] has shape \(1,\) but params\['w'\] has shape \(3,\)"):
        optlab.apply_updates({"w": jnp.ones(3)}, {"w": jnp.ones(1)})


def test_sgd_without_state_checks_grads_against_params():
    tx = optlab.sgd(0.1)
    params = {"w": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"grads\['w'\] has shape \(1,\) but params\['w'\] has shape \(3,\)"):
        tx.update({"w": jnp.ones(1)}, tx.init(params), params)
