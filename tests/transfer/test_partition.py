"""partition: frozen leaves have no state, never move, survive checkpoints; bad input is named."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optlab
from optlab.train import FlatTrainState, TrainState, classifier_loss, fit
from optlab.transfer import partition, trainable_mask

FROZEN = "Conv_.*"


def _bits(tree):
    return [np.asarray(leaf).view(np.uint32) for leaf in jax.tree.leaves(tree)]


def _tx():
    # gradient clipping before, AdamW (decoupled weight decay) inside the trainable group
    return optax.chain(
        optax.clip_by_global_norm(0.5),
        partition([(FROZEN, None), (".*", optlab.adamw(1e-2, weight_decay=0.1))]),
    )


def test_frozen_leaves_bit_identical_through_fit_with_adamw_ema_swa_clipping(cnn, small, tmp_path):
    model, params = cnn
    state = TrainState.create(apply_fn=model.apply, params=params, tx=_tx(), ema_decay=0.9, swa_start=2)
    result = fit(state, classifier_loss(model.apply), small, epochs=3, batch_size=50, progress=False,
                 run_dir=tmp_path / "run", plot=False, tensorboard=False)
    final = result.state.params
    for name in ("Conv_0", "Conv_1"):
        assert all(np.array_equal(a, b) for a, b in zip(_bits(final[name]), _bits(params[name])))
    for name in ("Dense_0", "Dense_1"):
        assert not np.array_equal(final[name]["kernel"], params[name]["kernel"])
    # the averages of a constant stay that constant (to rounding)
    for average in (result.state.ema_params, result.state.swa_params):
        np.testing.assert_allclose(average["Conv_0"]["kernel"], params["Conv_0"]["kernel"], rtol=1e-6)
    assert int(result.state.swa_count) > 0
    # checkpoints and resume: 2 epochs, then resumed to 3 = the uninterrupted run, bit for bit
    fit(state, classifier_loss(model.apply), small, epochs=2, batch_size=50, progress=False,
        run_dir=tmp_path / "resumed", plot=False, tensorboard=False)
    resumed = fit(state, classifier_loss(model.apply), small, epochs=3, batch_size=50, progress=False,
                  run_dir=tmp_path / "resumed", resume=True, plot=False, tensorboard=False)
    assert all(np.array_equal(a, b) for a, b in zip(_bits(resumed.state.params), _bits(final)))
    assert all(np.array_equal(a, b) for a, b in zip(_bits(resumed.state.opt_state), _bits(result.state.opt_state)))


def test_frozen_leaves_hold_no_optimizer_state(cnn):
    model, params = cnn
    opt_state = partition([(FROZEN, None), (".*", optlab.adam(1e-3))]).init(params)
    trainable = sum(v.size for k, layer in params.items() if not k.startswith("Conv") for v in layer.values())
    moments = sum(leaf.size for leaf in jax.tree.leaves(opt_state) if leaf.ndim > 0)
    assert moments == 2 * trainable  # Adam's m and v for the trainable leaves only
    everything = optlab.adam(1e-3).init(params)
    assert sum(leaf.size for leaf in jax.tree.leaves(everything) if leaf.ndim > 0) > moments


def test_frozen_update_is_exactly_minus_zero():
    params = {"a": jnp.array([-0.0, 1.0, -3.5]), "b": jnp.ones(3)}
    tx = partition([("a", None), ("b", optlab.sgd(0.1))])
    updates, _ = tx.update({"a": jnp.ones(3), "b": jnp.ones(3)}, tx.init(params), params)
    assert np.all(updates["a"] == 0) and np.all(np.signbit(updates["a"]))
    new = optlab.apply_updates(params, updates)
    np.testing.assert_array_equal(np.signbit(new["a"]), np.signbit(params["a"]))  # -0.0 stays -0.0
    np.testing.assert_array_equal(new["a"], params["a"])


def test_default_and_trainable_mask_through_chain(cnn):
    _, params = cnn
    tx = optax.chain(optax.clip(1.0), partition([("Dense_1/.*", optlab.sgd(0.1))], default=None))
    mask = trainable_mask(tx, params)
    assert mask["Dense_1"] == {"bias": True, "kernel": True}
    assert mask["Conv_0"] == {"bias": False, "kernel": False} and mask["Dense_0"]["kernel"] is False
    assert all(jax.tree.leaves(trainable_mask(optlab.sgd(0.1), params)))


def test_flat_train_state_refuses_a_partition(cnn):
    _, params = cnn
    with pytest.raises(ValueError, match="FlatTrainState cannot run it; use optlab.train.TrainState"):
        FlatTrainState.create(apply_fn=None, params=params, tx=partition([(FROZEN, None), (".*", optlab.sgd(0.1))]))


@pytest.mark.parametrize(
    "rules, default, match",
    [
        ([("Conv_.*", optax.adam)], None, r"rules\[0\] \('Conv_\.\*'\) must be an optax.GradientTransformation"),
        ([("Conv_(", None)], None, r"rules\[0\]: invalid regex 'Conv_\('"),
        ([(".*", None)], "adam", "default must be an optax.GradientTransformation or None"),
    ],
)
def test_bad_partition_arguments(rules, default, match):
    with pytest.raises(ValueError, match=match):
        partition(rules, default) if default is not None else partition(rules)


def test_rule_matching_nothing_and_uncovered_leaves_at_init(cnn):
    _, params = cnn
    with pytest.raises(ValueError, match=r"partition: rules\[0\] 'conv_.\*' matches no parameter"):
        partition([("conv_.*", None), (".*", optlab.sgd(0.1))]).init(params)
    with pytest.raises(ValueError, match="no rule covers 4 parameter.*Dense_0/bias"):
        partition([("Conv_.*", None)]).init(params)
