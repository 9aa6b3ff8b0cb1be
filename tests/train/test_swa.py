"""SWA in TrainState and FlatTrainState: the equal-weight mean of the sampled weights, jittable."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optlab
from optlab.train import FlatTrainState, TrainState, accuracy, classifier_loss, fit, recalibrate_batch_stats

START, EVERY, STEPS = 3, 2, 12


def quadratic_grads(params, t):
    """Gradients of a quadratic with a step-dependent target, so every step moves every weight."""
    return jax.tree.map(lambda p: p - jnp.sin(t + jnp.arange(p.size, dtype=p.dtype).reshape(p.shape)), params)


def run(cls, params, steps=STEPS, **kwargs):
    state = cls.create(apply_fn=None, params=params, tx=optlab.momentum(0.1), swa_start=START, swa_every=EVERY, **kwargs)
    step = jax.jit(lambda s, t: s.apply_gradients(grads=quadratic_grads(s.params, t)))
    trajectory = []
    for t in range(steps):
        state = step(state, jnp.float32(t))
        trajectory.append(jax.tree.map(lambda a: np.asarray(a, np.float64), state.params))
    return state, trajectory


@pytest.mark.parametrize("cls", [TrainState, FlatTrainState])
def test_swa_is_the_arithmetic_mean_of_the_sampled_weights(cls):
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    state, trajectory = run(cls, params)
    sampled = [trajectory[s - 1] for s in range(1, STEPS + 1) if s >= START and (s - START) % EVERY == 0]
    assert len(sampled) == 5 and int(state.swa_count) == len(sampled)
    reference = jax.tree.map(lambda *xs: np.mean(np.stack(xs), axis=0), *sampled)  # float64 mean
    for got, want in zip(jax.tree.leaves(state.swa_params), jax.tree.leaves(reference)):
        np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=2e-6, atol=1e-7)
    # and it is not just the last weights
    assert not np.allclose(np.asarray(state.swa_params["w"]), trajectory[-1]["w"])


def test_before_the_first_sample_the_average_is_the_initial_copy_and_count_zero():
    params = {"w": jnp.ones(3)}
    state, _ = run(TrainState, params, steps=START - 1)
    assert int(state.swa_count) == 0
    np.testing.assert_array_equal(state.swa_params["w"], params["w"])


def test_integer_leaves_are_copied_and_dtypes_kept():
    params = {"w": jnp.ones(3, jnp.bfloat16), "n": jnp.array([5], jnp.int32)}
    state = TrainState.create(apply_fn=None, params=params, tx=optlab.sgd(0.1), swa_start=0)
    grads = {"w": jnp.ones(3, jnp.bfloat16), "n": jnp.zeros(1, jnp.int32)}
    state = state.apply_gradients(grads=grads)
    state = state.replace(params={**state.params, "n": jnp.array([7], jnp.int32)}).apply_gradients(grads=grads)
    assert state.swa_params["n"].dtype == jnp.int32 and int(state.swa_params["n"][0]) == 7
    assert state.swa_params["w"].dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(state.swa_params["w"], np.float32), 0.85, rtol=1e-2)  # mean(0.9, 0.8)


def test_swa_off_by_default():
    state = TrainState.create(apply_fn=None, params={"w": jnp.ones(2)}, tx=optlab.sgd(0.1))
    state = state.apply_gradients(grads={"w": jnp.ones(2)})
    assert state.swa_params is None and state.swa_count is None


def test_swa_state_runs_under_vmap():
    params = {"w": jnp.ones((4, 3))}
    first = TrainState.create(apply_fn=None, params=params, tx=optlab.sgd(0.5), swa_start=1)
    second = first.replace(params={"w": 2 * params["w"]})
    stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), first, second)
    out = jax.vmap(lambda s: s.apply_gradients(grads=s.params).apply_gradients(grads=s.params))(stacked)
    np.testing.assert_allclose(out.swa_params["w"][1], 2 * out.swa_params["w"][0])
    np.testing.assert_array_equal(out.swa_count, [2, 2])


@pytest.mark.parametrize("cls", [TrainState, FlatTrainState])
@pytest.mark.parametrize(("kwargs", "name"), [({"swa_start": -1}, "swa_start"), ({"swa_start": 0, "swa_every": 0}, "swa_every"),
                                              ({"swa_start": 1.5}, "swa_start"), ({"swa_start": 0, "swa_every": True}, "swa_every")])
def test_bad_swa_arguments_name_the_argument(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls.create(apply_fn=None, params={"w": jnp.ones(2)}, tx=optlab.sgd(0.1), **kwargs)


class TinyBN(nn.Module):
    @nn.compact
    def __call__(self, x, train=False):
        h = nn.Dense(12)(x.reshape((x.shape[0], -1)))
        h = nn.BatchNorm(use_running_average=not train, momentum=0.8)(h)
        return nn.Dense(10)(nn.relu(h))


def test_fit_validates_the_swa_weights_with_recalibrated_statistics(digits):
    model = TinyBN()
    variables = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
    train, val = (digits.train.x[:200], digits.train.y[:200]), (digits.val.x[:80], digits.val.y[:80])
    state = TrainState.create(apply_fn=model.apply, params=variables["params"], tx=optlab.momentum(0.05),
                              model_state={"batch_stats": variables["batch_stats"]}, swa_start=10, swa_every=5)
    loss = classifier_loss(model.apply)
    result = fit(state, loss, train, val, epochs=3, batch_size=40, metrics={"accuracy": accuracy},
                 progress=False, tensorboard=False, plot=False)
    history = result.history["val_swa_loss"]
    assert np.isnan(history[0]) and np.isfinite(history[1:]).all()  # 5 steps per epoch: first sample at step 10
    final = result.state
    stats = recalibrate_batch_stats(model.apply, final.swa_params, final.model_state, train[0], batch_size=1024)
    expected, _ = loss(final.swa_params, *val, None, stats)
    assert history[-1] == pytest.approx(float(expected), rel=1e-5)
    stale, _ = loss(final.swa_params, *val, None, final.model_state)  # the trained weights' statistics differ
    assert abs(float(stale) - history[-1]) > 1e-4
