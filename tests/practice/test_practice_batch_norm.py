"""The practice checks on a model with state (BatchNorm): the five-argument loss form."""

import jax
import numpy as np
import pytest
from _practice_helpers import assert_trees_equal, host

import optlab
import optlab.practice
import optlab.train
from optlab.models import DigitsCNN
from optlab.practice import check_initial_loss, lr_find, overfit_subset
from optlab.train import TrainState, classifier_loss


@pytest.fixture(scope="module")
def bn(digits):
    model = DigitsCNN(features=(8, 16), hidden=32, batch_norm=True)
    variables = model.init(jax.random.key(0), digits.train.x[:1])
    model_state = {"batch_stats": variables["batch_stats"]}
    return model, variables["params"], model_state, classifier_loss(model.apply)


def _state(bn, tx):
    model, params, model_state, _ = bn
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx, model_state=model_state, ema_decay=0.9)


def test_recalibrate_batch_stats_is_reexported():
    assert optlab.practice.recalibrate_batch_stats is optlab.train.recalibrate_batch_stats
    assert "recalibrate_batch_stats" in optlab.practice.__all__


def test_initial_loss_of_a_batch_norm_cnn(bn, digits):
    _, params, model_state, loss_fn = bn
    before = host(model_state)
    result = check_initial_loss(loss_fn, params, digits.train.x[:256], digits.train.y[:256], model_state=model_state)
    assert result.ok, result.message
    assert_trees_equal(host(model_state), before)


def test_initial_loss_without_model_state_fails_loudly(bn, digits):
    _, params, _, loss_fn = bn
    with pytest.raises(Exception, match="batch_stats"):  # flax: the collection is missing
        check_initial_loss(loss_fn, params, digits.train.x[:8], digits.train.y[:8])


def test_overfit_subset_with_batch_norm(bn, digits):
    state = _state(bn, optlab.adam(1e-2))
    before = host(state)
    result = overfit_subset(state, bn[3], digits.train.x[:32], digits.train.y[:32], steps=200)
    assert result.passed, result.message
    assert_trees_equal(host(state), before)  # params, opt state, EMA and batch_stats untouched


def test_lr_find_with_batch_norm_leaves_batch_stats_untouched(bn, digits):
    state = _state(bn, optlab.adam(1e-3))
    before = host(state)
    r = lr_find(state, bn[3], digits.train.x, digits.train.y, batch_size=64, start_lr=1e-4, end_lr=1e2,
                num_steps=30, beta=0.9)
    assert_trees_equal(host(state), before)
    assert np.isfinite(r.suggestion) and r.diverged_at is not None
    assert np.min(r.smoothed_losses) < 0.9 * r.smoothed_losses[0]


def test_labels_checked_against_the_model_outputs(bn, digits):
    state = _state(bn, optlab.adam(1e-3))
    y = np.array(digits.train.y[:32])
    y[5] = 10
    with pytest.raises(ValueError, match=r"overfit_subset data \(x, y\): class labels y must lie in \[0, 10\).*y\[5\] = 10"):
        overfit_subset(state, bn[3], digits.train.x[:32], y)
    with pytest.raises(ValueError, match=r"lr_find data \(x, y\): class labels"):
        lr_find(state, bn[3], digits.train.x[:32], y, batch_size=8)
