"""lr_find: state untouched, one compile, per-group ratios kept, schedules refused, a useful
suggestion on a known problem, warnings for a range that shows nothing, bad input named."""

import warnings

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _practice_helpers import assert_trees_equal, host, make_state

import optlab
from optlab.practice import LRFindWarning, lr_find
from optlab.practice import _lr_find
from optlab.train import FlatTrainState, TrainState, fit

KNOWN = {"start_lr": 1e-4, "end_lr": 1e3, "num_steps": 100}
SHORT = {"start_lr": 1e-4, "end_lr": 1e2, "num_steps": 40, "beta": 0.9}  # a full curve in 40 steps


@pytest.fixture(scope="module")
def logistic_curve(logistic, digits):
    """The range test of logistic regression on digits (SGD): a curve that falls, then blows up."""
    model, params, loss_fn = logistic
    state = make_state(model, params, optlab.sgd(1.0))
    return lr_find(state, loss_fn, digits.train.x, digits.train.y, batch_size=32, **KNOWN)


def _train_loss_after_one_epoch(logistic, digits, lr):
    model, params, loss_fn = logistic
    result = fit(make_state(model, params, optlab.sgd(lr)), loss_fn, (digits.train.x, digits.train.y),
                 epochs=1, batch_size=32, progress=False)
    return result.history["train_loss"][-1]


def test_curve_shape_and_smoothing(logistic_curve):
    r = logistic_curve
    n = len(r.losses)
    assert r.diverged_at is not None and n < 100  # stopped at divergence
    np.testing.assert_allclose(r.learning_rates, 1e-4 * (1e7) ** (np.arange(n) / 99), rtol=1e-12)
    average, expected = 0.0, []
    for i, loss in enumerate(r.losses):
        average = 0.98 * average + 0.02 * loss
        expected.append(average / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(r.smoothed_losses, expected, rtol=1e-12)
    assert r.smoothed_losses[-1] > 4 * r.smoothed_losses[:-1].min()
    assert r.diverged_at == r.learning_rates[-1]
    assert r.suggestion == r.suggestions["valley"]


@pytest.mark.parametrize("name", ["valley", "steepest"])
def test_suggestion_lies_on_the_descent_and_trains_better_than_100x(logistic_curve, logistic, digits, name):
    r = logistic_curve
    lr = r.suggestions[name]
    i = int(np.argmin(abs(np.log(r.learning_rates) - np.log(lr))))
    skip = len(r.losses) // 10
    assert skip <= i <= int(np.argmin(r.smoothed_losses))  # on the way down, before the minimum
    assert r.smoothed_losses[i] < r.smoothed_losses[skip]
    at_suggestion = _train_loss_after_one_epoch(logistic, digits, lr)
    assert at_suggestion < _train_loss_after_one_epoch(logistic, digits, 100 * lr)
    assert at_suggestion < r.losses[0]  # the epoch's mean loss is below the initial loss


def test_minimum_is_a_tenth_of_the_lowest_point(logistic_curve):
    r = logistic_curve
    skip = len(r.losses) // 10
    lowest = skip + int(np.argmin(r.smoothed_losses[skip:]))
    assert r.suggestions["minimum"] == pytest.approx(r.learning_rates[lowest] / 10)


def test_state_is_bit_identical_and_readable_afterwards(mlp, digits):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.adam(1e-3), ema_decay=0.9)
    state = state.replace(step=jnp.asarray(7, jnp.int32))
    before = host(state)
    first = lr_find(state, loss_fn, digits.train.x, digits.train.y, batch_size=64, **SHORT)
    assert_trees_equal(host(state), before)
    second = lr_find(state, loss_fn, digits.train.x, digits.train.y, batch_size=64, **SHORT)
    np.testing.assert_array_equal(first.losses, second.losses)
    assert float(optlab.current_learning_rate(state.opt_state)) == pytest.approx(1e-3)


def test_one_compile_for_every_learning_rate(mlp, digits):
    model, params, loss_fn = mlp

    def fresh_loss(params, x, y, rng):  # a loss no other test has compiled
        return loss_fn(params, x, y, rng)

    state = make_state(model, params, optlab.adam(1e-3))
    before = _lr_find._step._cache_size()
    result = lr_find(state, fresh_loss, digits.train.x, digits.train.y, batch_size=64, **SHORT)
    assert len(result.losses) > 10
    assert _lr_find._step._cache_size() == before + 1
    state = state.replace(opt_state=optlab.set_learning_rate(state.opt_state, 3e-3))
    lr_find(state, fresh_loss, digits.train.x, digits.train.y, batch_size=64, **SHORT)
    assert _lr_find._step._cache_size() == before + 1  # called again (another base lr): no new program


def _two_group_state(slow_lr, fast_lr):
    """Params a, b; loss = 10 + a + 3 b: each step lowers it by lr_a + 3^2 lr_b (exactly linear)."""
    params = {"a": jnp.zeros(()), "b": jnp.zeros(())}
    tx = optax.multi_transform({"slow": optlab.sgd(slow_lr), "fast": optlab.sgd(fast_lr)},
                               {"a": "fast", "b": "slow"})
    return TrainState.create(apply_fn=None, params=params, tx=tx)


def _linear_loss(params, x, y, rng):
    del y, rng
    return 10.0 + params["a"] + 3.0 * params["b"] + 0.0 * x.sum(), None


def test_per_group_ratios_are_kept():
    state = _two_group_state(slow_lr=0.01, fast_lr=0.1)  # ratio 1/10 for b
    x, y = np.zeros((8, 1), np.float32), np.zeros(8, np.int32)
    with pytest.warns(LRFindWarning):  # a linear loss never turns up
        r = lr_find(state, _linear_loss, x, y, batch_size=4, start_lr=1e-2, end_lr=1.0, num_steps=20)
    drops = -np.diff(r.losses) / r.learning_rates[:-1]  # = 1 + 3^2 * (lr_b / lr_a)
    np.testing.assert_allclose(drops, 1 + 9 * 0.1, rtol=1e-3)


def test_per_group_ratios_are_kept_with_optax_inject_hyperparams():
    params = {"a": jnp.zeros(()), "b": jnp.zeros(())}
    tx = optax.multi_transform(
        {"slow": optax.inject_hyperparams(optax.sgd)(learning_rate=0.01), "fast": optlab.sgd(0.1)},
        {"a": "fast", "b": "slow"},
    )
    state = TrainState.create(apply_fn=None, params=params, tx=tx)
    x, y = np.zeros((8, 1), np.float32), np.zeros(8, np.int32)
    with pytest.warns(LRFindWarning):
        r = lr_find(state, _linear_loss, x, y, batch_size=4, start_lr=1e-2, end_lr=1.0, num_steps=20)
    drops = -np.diff(r.losses) / r.learning_rates[:-1]
    np.testing.assert_allclose(drops, 1 + 9 * 0.1, rtol=1e-3)
    assert float(state.opt_state.inner_states["slow"].inner_state.hyperparams["learning_rate"]) == pytest.approx(0.01)


def test_optax_optimizer_through_inject_hyperparams(mlp, digits):
    model, params, loss_fn = mlp
    state = make_state(model, params, optax.inject_hyperparams(optax.adam)(learning_rate=1e-3))
    before = host(state)
    r = lr_find(state, loss_fn, digits.train.x, digits.train.y, batch_size=64, **SHORT)
    assert_trees_equal(host(state), before)
    assert np.isfinite(r.suggestion) and r.diverged_at is not None


def test_schedule_in_inject_hyperparams_is_refused(mlp, digits):
    model, params, loss_fn = mlp
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=optax.cosine_decay_schedule(1e-3, 100))
    with pytest.raises(ValueError, match="inject_hyperparams with a schedule.*constant learning rate"):
        lr_find(make_state(model, params, tx), loss_fn, digits.train.x, digits.train.y, batch_size=32)


def test_schedule_is_refused_with_what_to_pass(mlp, digits):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.adam(optlab.schedules.cosine(1e-3, total_steps=100)))
    with pytest.raises(ValueError, match="schedule.*constant learning rate"):
        lr_find(state, loss_fn, digits.train.x, digits.train.y, batch_size=32)


def test_optimizer_without_a_learning_rate_state_is_refused(mlp, digits):
    model, params, loss_fn = mlp
    with pytest.raises(ValueError, match="no learning rate to scale"):
        lr_find(make_state(model, params, optax.adam(1e-3)), loss_fn, digits.train.x, digits.train.y, batch_size=32)


def test_narrow_range_warns_never_diverged_and_never_fell(mlp, digits):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.sgd(1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = lr_find(state, loss_fn, digits.train.x, digits.train.y, batch_size=64, start_lr=1e-7,
                    end_lr=1e-6, num_steps=20)
    messages = [str(w.message) for w in caught if issubclass(w.category, LRFindWarning)]
    assert any("never fell" in m for m in messages) and any("never diverged" in m for m in messages)
    assert r.diverged_at is None and len(r.losses) == 20


def test_early_divergence_warns_and_suggests_nothing(mlp, digits):
    model, params, loss_fn = mlp

    state = make_state(model, params, optlab.sgd(1.0))
    with pytest.warns(LRFindWarning, match="diverged after"):
        r = lr_find(state, loss_fn, digits.train.x, digits.train.y, batch_size=64, start_lr=1e4,
                    end_lr=1e9, num_steps=10)
    assert np.isnan(r.suggestion) and r.diverged_at is not None


def test_plot_writes_a_png(logistic_curve, tmp_path):
    path = logistic_curve.plot(tmp_path / "lr.png")
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(data) < 300_000


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"start_lr": 1.0, "end_lr": 0.1}, "start_lr must be < end_lr"),
        ({"start_lr": 1.0, "end_lr": 1.0}, "start_lr must be < end_lr"),
        ({"start_lr": 0.0}, "start_lr"),
        ({"num_steps": 0}, "num_steps"),
        ({"num_steps": -5}, "num_steps"),
        ({"beta": 1.0}, "beta"),
        ({"beta": -0.1}, "beta"),
        ({"diverge_factor": 1.0}, "diverge_factor"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10_000}, "batch_size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_are_named(mlp, digits, kwargs, name):
    model, params, loss_fn = mlp
    kwargs = {"batch_size": 32, **kwargs}
    with pytest.raises(ValueError, match=name):
        lr_find(make_state(model, params, optlab.sgd(1.0)), loss_fn, digits.train.x, digits.train.y, **kwargs)


def test_bad_data_is_named(mlp, digits):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.sgd(1.0))
    with pytest.raises(ValueError, match=r"lr_find data \(x, y\): x and y need the same"):
        lr_find(state, loss_fn, digits.train.x, digits.train.y[:10], batch_size=8)
    with pytest.raises(ValueError, match=r"lr_find data \(x, y\)"):
        lr_find(state, loss_fn, digits.train.x[:0], digits.train.y[:0], batch_size=8)


def test_all_learning_rates_zero_is_refused(mlp, digits):
    model, params, loss_fn = mlp
    with pytest.raises(ValueError, match="every learning rate in state.opt_state is 0"):
        lr_find(make_state(model, params, optlab.sgd(0.0)), loss_fn, digits.train.x, digits.train.y, batch_size=32)


def test_flat_train_state_gives_the_same_curve(mlp, digits):
    model, params, loss_fn = mlp
    tree = lr_find(make_state(model, params, optlab.adam(1e-3)), loss_fn, digits.train.x, digits.train.y,
                   batch_size=64, **SHORT)
    flat_state = FlatTrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(1e-3))
    before = host(flat_state)
    flat = lr_find(flat_state, loss_fn, digits.train.x, digits.train.y, batch_size=64, **SHORT)
    assert_trees_equal(host(flat_state), before)
    assert len(flat.losses) == len(tree.losses)
    np.testing.assert_allclose(flat.losses, tree.losses, rtol=1e-4)


def test_callers_state_survives_when_lr_find_raises(mlp, digits):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.adam(1e-3))
    before = host(state)

    def broken(params, x, y, rng):
        raise RuntimeError("bug in the loss")

    with pytest.raises(RuntimeError, match="bug in the loss"):
        lr_find(state, broken, digits.train.x, digits.train.y, batch_size=64, **SHORT)
    assert_trees_equal(host(state), before)
