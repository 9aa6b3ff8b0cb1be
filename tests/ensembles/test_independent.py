"""train_independent: K members in one vmapped program equal K fit runs; bad input is refused."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _ensemble_helpers import make_state_factory

import optlab
from optlab.ensembles import train_independent
from optlab.train import TrainState, accuracy, classifier_loss, fit

SEEDS = [3, 1, 4]


def assert_trees_close(a, b, rtol=2e-5, atol=2e-6):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batchnorm"])
def test_vmapped_members_equal_fit_run_one_by_one(small_digits, batch_norm):
    train, val = small_digits
    model, make_state = make_state_factory(batch_norm, ema_decay=0.9)
    loss = classifier_loss(model.apply)
    kw = dict(epochs=2, batch_size=32, metrics={"accuracy": accuracy})
    result = train_independent(make_state, loss, train, val, seeds=SEEDS, **kw)
    assert result.vmapped and result.members.size == len(SEEDS)
    for k, seed in enumerate(SEEDS):
        alone = fit(make_state(seed), loss, train, val, seed=seed, progress=False, tensorboard=False, plot=False, **kw)
        assert_trees_close(result.states[k].params, alone.state.params)
        assert_trees_close(result.states[k].ema_params, alone.state.ema_params)
        assert_trees_close(result.members.member(k)[0], alone.best_params)
        if batch_norm:
            assert_trees_close(result.states[k].model_state, alone.state.model_state)
            assert_trees_close(result.members.member(k)[1], alone.best_model_state)
        assert result.best_epochs[k] == alone.best_epoch
        for name in ("train_loss", "val_loss", "val_accuracy", "val_ema_loss", "lr"):
            np.testing.assert_allclose(result.histories[k][name], alone.history[name], rtol=1e-4, err_msg=name)
        np.testing.assert_allclose(result.histories[k]["step_loss"], alone.history["step_loss"], rtol=1e-4)
    # the members really differ
    w = np.asarray(result.members.params["Dense_0"]["kernel"])
    assert not np.allclose(w[0], w[1])


def test_sequential_fallback_gives_the_same_members(small_digits):
    train, val = small_digits
    model, make_state = make_state_factory()
    kw = dict(seeds=SEEDS[:2], epochs=1, batch_size=40)
    vmapped = train_independent(make_state, classifier_loss(model.apply), train, val, **kw)
    sequential = train_independent(make_state, classifier_loss(model.apply), train, val, vmap=False, **kw)
    assert not sequential.vmapped
    assert_trees_close(vmapped.members.params, sequential.members.params)


def test_data_order_differs_per_seed_even_with_one_init(small_digits):
    train, _ = small_digits
    model, make_state = make_state_factory()
    same_init = lambda seed: make_state(0)  # noqa: E731
    result = train_independent(same_init, classifier_loss(model.apply), train, seeds=[1, 2], epochs=1, batch_size=40)
    w = np.asarray(result.members.params["Dense_1"]["kernel"])
    assert not np.allclose(w[0], w[1])


def test_callers_arrays_stay_valid_and_two_calls_agree(small_digits):
    train, _ = small_digits
    model, make_state = make_state_factory()
    shared = make_state(0).params  # every member starts from the caller's arrays

    def from_shared(seed):
        return TrainState.create(apply_fn=model.apply, params=shared, tx=optlab.sgd(0.1))

    kw = dict(seeds=[5, 6], epochs=1, batch_size=40)
    first = train_independent(from_shared, classifier_loss(model.apply), train, **kw)
    second = train_independent(from_shared, classifier_loss(model.apply), train, **kw)
    np.asarray(shared["Dense_0"]["kernel"])  # still readable
    for a, b in zip(jax.tree.leaves(first.members.params), jax.tree.leaves(second.members.params)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.mark.parametrize("seeds", [[], [1, 2, 1], [1, -2], [1.5], "12"])
def test_bad_seeds_are_refused(small_digits, seeds):
    model, make_state = make_state_factory()
    with pytest.raises(ValueError, match="seeds"):
        train_independent(make_state, classifier_loss(model.apply), small_digits[0], seeds=seeds, epochs=1, batch_size=8)


def test_members_whose_trees_differ_are_refused(small_digits):
    model, make_state = make_state_factory()

    def mixed(seed):
        state = make_state(seed)
        if seed == 2:
            params = {**state.params, "Dense_0": {**state.params["Dense_0"], "bias": jnp.zeros(7)}}
            state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.momentum(0.05))
        return state

    with pytest.raises(ValueError, match="make_state.*Dense_0"):
        train_independent(mixed, classifier_loss(model.apply), small_digits[0], seeds=[1, 2], epochs=1, batch_size=8)


def test_bad_data_names_the_argument(small_digits):
    model, make_state = make_state_factory()
    (x, y), val = small_digits
    with pytest.raises(ValueError, match="train_data"):
        train_independent(make_state, classifier_loss(model.apply), (x, y + 10), seeds=[1], epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="val_data"):
        train_independent(make_state, classifier_loss(model.apply), (x, y), (val[0], -val[1]), seeds=[1], epochs=1, batch_size=8)
