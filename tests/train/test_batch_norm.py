"""Models with BatchNorm (``model_state``) in TrainState, FlatTrainState and ``fit``."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optlab
from optlab.models import DigitsCNN
from optlab.train import FlatTrainState, TrainState, accuracy, classifier_loss, fit, recalibrate_batch_stats


class BnMlp(nn.Module):
    """x -> dense(8) -> BatchNorm -> relu -> dense(10): small enough for a float64 reference."""

    @nn.compact
    def __call__(self, x, train=False):
        h = nn.Dense(8, name="dense")(x.reshape((x.shape[0], -1)))
        h = nn.BatchNorm(use_running_average=not train, momentum=0.7, name="bn")(h)
        return nn.Dense(10)(nn.relu(h))


def create(model, x, tx, state_class=TrainState, **kwargs):
    variables = model.init(jax.random.key(0), x[:1])
    return state_class.create(
        apply_fn=model.apply, params=variables["params"], tx=tx,
        model_state={"batch_stats": variables["batch_stats"]}, **kwargs,
    )


@pytest.fixture(scope="module")
def bn_run(digits):
    model = DigitsCNN(features=(8, 16), hidden=32, batch_norm=True)
    state = create(model, digits.train.x, optlab.adam(3e-3), ema_decay=0.8)
    result = fit(
        state, classifier_loss(model.apply), digits.train, digits.val, epochs=3, batch_size=64,
        metrics={"accuracy": accuracy}, monitor="val_ema_accuracy", monitor_mode="max", progress=False,
    )
    return model, state, result


def test_a_batchnorm_cnn_trains_and_its_statistics_move(bn_run):
    _, initial, result = bn_run
    assert result.history["val_accuracy"][-1] > 0.85
    stats = result.state.model_state["batch_stats"]
    assert float(jnp.abs(stats["BatchNorm_0"]["mean"]).max()) > 1e-3  # init: zeros
    assert float(jnp.abs(stats["BatchNorm_0"]["var"] - 1).max()) > 1e-3  # init: ones
    assert not np.allclose(initial.model_state["batch_stats"]["BatchNorm_1"]["var"], stats["BatchNorm_1"]["var"])


def test_best_model_state_goes_with_the_ema_snapshot(bn_run, digits):
    model, _, result = bn_run
    assert set(result.best_model_state) == {"batch_stats"}
    recomputed = recalibrate_batch_stats(
        model.apply, result.best_params, result.state.model_state, digits.train.x, batch_size=1024
    )
    if result.best_epoch == len(result.history["epoch"]):  # the best was the last epoch: same statistics
        jax.tree.map(np.testing.assert_allclose, result.best_model_state, recomputed)
    logits = model.apply({"params": result.best_params, **result.best_model_state}, digits.val.x)
    assert float(accuracy(logits, digits.val.y)) == pytest.approx(result.best_metric, abs=1e-6)


def test_evaluation_does_not_change_batch_stats(bn_run, digits):
    model, state, result = bn_run
    loss = classifier_loss(model.apply)
    _, (_, after) = loss(result.state.params, digits.val.x, digits.val.y, None, result.state.model_state)
    assert after is result.state.model_state
    # the same run without validation data ends with the same statistics, bit for bit
    without_val = fit(state, loss, digits.train, epochs=3, batch_size=64, progress=False)
    for a, b in zip(jax.tree.leaves(without_val.state.model_state), jax.tree.leaves(result.state.model_state)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_ema_is_evaluated_with_recalibrated_statistics(digits):
    model = BnMlp()
    state = create(model, digits.train.x, optlab.sgd(0.1), ema_decay=0.9)
    args = dict(epochs=2, batch_size=64, metrics={"accuracy": accuracy}, progress=False)
    loss = classifier_loss(model.apply)
    on = fit(state, loss, digits.train, digits.val, **args)
    off = fit(state, loss, digits.train, digits.val, recalibrate_bn=False, **args)
    assert on.history["val_loss"] == off.history["val_loss"]
    stats = recalibrate_batch_stats(model.apply, on.state.ema_params, on.state.model_state, digits.train.x, batch_size=1024)
    by_hand, _ = loss(on.state.ema_params, digits.val.x, digits.val.y, None, stats)
    assert on.history["val_ema_loss"][-1] == pytest.approx(float(by_hand), rel=1e-5)
    assert on.history["val_ema_loss"][-1] != pytest.approx(off.history["val_ema_loss"][-1], rel=1e-4)


def test_recalibration_equals_a_float64_recomputation(digits):
    model = BnMlp()
    variables = model.init(jax.random.key(1), digits.train.x[:1])
    params, model_state = variables["params"], {"batch_stats": variables["batch_stats"]}
    x = np.asarray(digits.train.x[:250])
    stats = recalibrate_batch_stats(model.apply, params, model_state, x, batch_size=64)
    kernel = np.asarray(params["dense"]["kernel"], np.float64)
    bias = np.asarray(params["dense"]["bias"], np.float64)
    batches = [x[i : i + 64].reshape(-1, 64).astype(np.float64) @ kernel + bias for i in range(0, 250, 64)]
    mean = np.mean([h.mean(0) for h in batches], axis=0)  # equal weight per batch (the last has 58 rows)
    var = np.mean([h.var(0) for h in batches], axis=0)  # biased batch variance, as BatchNorm uses
    np.testing.assert_allclose(stats["batch_stats"]["bn"]["mean"], mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stats["batch_stats"]["bn"]["var"], var, rtol=1e-4, atol=1e-5)


def test_recalibration_refuses_bad_arguments(digits):
    model = BnMlp()
    variables = model.init(jax.random.key(1), digits.train.x[:1])
    with pytest.raises(ValueError, match="model_state must be a non-empty dict"):
        recalibrate_batch_stats(model.apply, variables["params"], {}, digits.train.x, batch_size=8)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        recalibrate_batch_stats(model.apply, variables["params"], {"batch_stats": variables["batch_stats"]},
                                digits.train.x, batch_size=0)


def test_flat_state_trains_a_batchnorm_model_like_the_tree_state(digits):
    model = BnMlp()
    loss = classifier_loss(model.apply)
    args = dict(epochs=2, batch_size=64, progress=False)
    tree = fit(create(model, digits.train.x, optlab.momentum(0.05)), loss, digits.train, **args)
    flat = fit(create(model, digits.train.x, optlab.momentum(0.05), FlatTrainState), loss, digits.train, **args)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), flat.state.params, tree.state.params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                 flat.state.model_state, tree.state.model_state)
