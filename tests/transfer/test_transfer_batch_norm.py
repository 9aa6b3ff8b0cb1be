"""BatchNorm in frozen layers: inference mode and unchanged statistics by default; train_bn trains them."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optlab
from optlab.train import TrainState, classifier_loss, fit
from optlab.transfer import frozen_paths, partition, transfer_loss
from optlab.transfer._loss import _frozen_pattern, _inference_bn

FROZEN = "Conv_0/.*|BatchNorm_0/.*"  # the first block; BatchNorm_1 (after Conv_1) trains


def _run(bn_cnn, x, y, train_bn):
    model, params, model_state = bn_cnn
    tx = partition([(FROZEN, None), (".*", optlab.sgd(0.1))])
    loss = transfer_loss(model.apply, frozen_paths(tx, params), train_bn=train_bn)
    return loss(params, x, y, jax.random.key(0), model_state)


def test_frozen_batch_norm_runs_in_inference_mode(bn_cnn, small):
    model, params, model_state = bn_cnn
    x, y = jnp.asarray(small[0][:32]), jnp.asarray(small[1][:32])
    # running averages that differ from the batch's: inference mode is then visible in the outputs
    shifted = jax.tree.map(lambda s: s + 0.3, model_state)
    state = (model, params, shifted)
    loss, (logits, new_state) = _run(state, x, y, train_bn=False)
    stats = new_state["batch_stats"]
    for leaf in ("mean", "var"):
        np.testing.assert_array_equal(stats["BatchNorm_0"][leaf], shifted["batch_stats"]["BatchNorm_0"][leaf])
        assert not np.allclose(stats["BatchNorm_1"][leaf], shifted["batch_stats"]["BatchNorm_1"][leaf])
    # BatchNorm_0 normalised with the running averages: the first block equals its inference output
    first = lambda v, train: model.apply(v, x, train=train, capture_intermediates=True, mutable=["batch_stats", "intermediates"])  # noqa: E731
    _, inference = first({"params": params, **shifted}, False)
    _, training = first({"params": params, **shifted}, True)
    bn0 = lambda inter: inter["intermediates"]["BatchNorm_0"]["__call__"][0]  # noqa: E731
    assert not np.allclose(bn0(inference), bn0(training))  # the two modes differ on this batch
    # what transfer_loss runs: BN_0 in inference mode (same numbers), BN_1 in training mode
    with nn.intercept_methods(_inference_bn(_frozen_pattern(FROZEN))):
        _, mixed = first({"params": params, **shifted}, True)
    np.testing.assert_array_equal(bn0(mixed), bn0(inference))
    assert np.isfinite(float(loss)) and logits.shape == (32, 10)


def test_train_bn_keeps_every_batch_norm_training(bn_cnn, small):
    _, _, model_state = bn_cnn
    x, y = jnp.asarray(small[0][:32]), jnp.asarray(small[1][:32])
    frozen_loss, (frozen_logits, _) = _run(bn_cnn, x, y, train_bn=False)
    loss, (logits, new_state) = _run(bn_cnn, x, y, train_bn=True)
    for name in ("BatchNorm_0", "BatchNorm_1"):
        assert not np.allclose(new_state["batch_stats"][name]["mean"], model_state["batch_stats"][name]["mean"])
    model, params, _ = bn_cnn
    reference, (reference_logits, _) = classifier_loss(model.apply)(params, x, y, jax.random.key(0), model_state)
    np.testing.assert_array_equal(logits, reference_logits)  # train_bn=True: the plain classifier loss
    assert not np.allclose(frozen_logits, reference_logits)


def test_fit_keeps_frozen_statistics_and_parameters(bn_cnn, small):
    model, params, model_state = bn_cnn
    tx = partition([(FROZEN, None), (".*", optlab.adam(1e-2))])
    state = TrainState.create(apply_fn=model.apply, params=params, tx=tx, model_state=model_state)
    result = fit(state, transfer_loss(model.apply, FROZEN), small, epochs=1, batch_size=50, progress=False)
    stats = result.state.model_state["batch_stats"]
    np.testing.assert_array_equal(stats["BatchNorm_0"]["mean"], model_state["batch_stats"]["BatchNorm_0"]["mean"])
    assert not np.array_equal(stats["BatchNorm_1"]["mean"], model_state["batch_stats"]["BatchNorm_1"]["mean"])
    np.testing.assert_array_equal(result.state.params["BatchNorm_0"]["scale"], params["BatchNorm_0"]["scale"])


@pytest.mark.parametrize("frozen, train_bn, match", [("Conv_[", False, "frozen: invalid regex"), (3, False, "frozen must be"), ("x", 1, "train_bn must be a bool")])
def test_bad_arguments(bn_cnn, frozen, train_bn, match):
    with pytest.raises(ValueError, match=match):
        transfer_loss(bn_cnn[0].apply, frozen, train_bn=train_bn)
