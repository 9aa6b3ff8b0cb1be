import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optlab.train import TrainState, ema_decay_at, ema_update


def sequence(n):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3,)).astype(np.float32) for _ in range(n)]


def test_ema_matches_closed_form_float64():
    d, ws = 0.95, sequence(30)
    ema = {"w": jnp.asarray(ws[0])}
    for t, w in enumerate(ws[1:]):
        ema = ema_update(ema, {"w": jnp.asarray(w)}, d, jnp.int32(t))
    n = len(ws) - 1  # closed form: d^n w0 + sum_k (1-d) d^(n-k) w_k
    expected = d**n * np.float64(ws[0]) + sum((1 - d) * d ** (n - k) * np.float64(ws[k]) for k in range(1, n + 1))
    np.testing.assert_allclose(np.asarray(ema["w"], np.float64), expected, rtol=1e-5, atol=1e-6)


def test_warmup_decay_schedule_and_recursion():
    assert float(ema_decay_at(0.99, jnp.int32(0), True)) == pytest.approx(0.1)
    assert float(ema_decay_at(0.99, jnp.int32(1000), True)) == pytest.approx(0.99)
    assert float(ema_decay_at(0.99, jnp.int32(0), False)) == pytest.approx(0.99)
    ws = sequence(12)
    ema, ref = {"w": jnp.asarray(ws[0])}, np.float64(ws[0])
    for t, w in enumerate(ws[1:]):
        ema = ema_update(ema, {"w": jnp.asarray(w)}, 0.99, jnp.int32(t), warmup=True)
        dt = min(0.99, (1 + t) / (10 + t))
        ref = dt * ref + (1 - dt) * np.float64(w)
    np.testing.assert_allclose(np.asarray(ema["w"], np.float64), ref, rtol=1e-5, atol=1e-6)


def test_integer_leaves_copied_not_averaged():
    ema = ema_update({"n": jnp.int32(0), "w": jnp.zeros(2)}, {"n": jnp.int32(7), "w": jnp.ones(2)}, 0.5, jnp.int32(0))
    assert ema["n"].dtype == jnp.int32 and int(ema["n"]) == 7
    np.testing.assert_array_equal(ema["w"], [0.5, 0.5])


def test_train_state_ema_is_polyak_average_of_iterates():
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    state = TrainState.create(apply_fn=None, params=params, tx=optax.sgd(0.1), ema_decay=0.95)
    iterates = [np.float64(params["w"])]
    for _ in range(5):
        state = state.apply_gradients(grads={"w": state.params["w"] ** 2})
        iterates.append(np.float64(state.params["w"]))
    ref = iterates[0]
    for w in iterates[1:]:
        ref = 0.95 * ref + 0.05 * w  # the lecture's w_test = 0.95 w_test + 0.05 w
    np.testing.assert_allclose(np.float64(state.ema_params["w"]), ref, rtol=1e-6)
    assert int(state.step) == 5


@pytest.mark.parametrize("bad", [1.0, -0.1, 2, True, "0.9"])
def test_ema_decay_validated(bad):
    with pytest.raises(ValueError, match="ema_decay must be None or a float in"):
        TrainState.create(apply_fn=None, params={"w": jnp.zeros(1)}, tx=optax.sgd(0.1), ema_decay=bad)
