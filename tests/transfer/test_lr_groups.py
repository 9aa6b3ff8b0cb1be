"""Per-group learning rates: discriminative (geometric), layer-wise decay, readable, schedules, lr_find."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optlab
from optlab.train import TrainState
from optlab.transfer import (
    discriminative_lrs, geometric_lrs, group_learning_rates, layerwise_lr_decay, layerwise_lr_multipliers,
    partition,
)

PARAMS = {
    "Conv_0": {"kernel": jnp.full((3,), 1.0)},
    "Conv_1": {"kernel": jnp.full((2,), 2.0)},
    "Dense_0": {"kernel": jnp.full((2, 2), 3.0)},
    "Dense_1": {"kernel": jnp.full((4,), 4.0)},
}
GROUPS = ["Conv_0/.*", "Conv_1/.*", "Dense_0/.*", "Dense_1/.*"]
DEPTHS = [("Conv_0/.*", 0), ("Conv_1/.*", 1), ("Dense_0/.*", 2), ("Dense_1/.*", 3)]


def _grads(seed=0):
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), PARAMS)


def _one_sgd_step(tx):
    grads = _grads()
    updates, state = tx.update(grads, tx.init(PARAMS), PARAMS)
    return optlab.apply_updates(PARAMS, updates), state, grads


def test_discriminative_lrs_against_float64_reference():
    lo, hi = 1e-4, 3e-2
    new, state, grads = _one_sgd_step(discriminative_lrs(GROUPS, lo, hi, optimizer=optlab.sgd))
    for k, name in enumerate(PARAMS):
        lr = np.float64(lo) * (np.float64(hi) / lo) ** (k / 3.0)  # fastai slice(lo, hi)
        expected = np.asarray(PARAMS[name]["kernel"], np.float64) - lr * np.asarray(grads[name]["kernel"], np.float64)
        np.testing.assert_allclose(new[name]["kernel"], expected, rtol=2e-7)
    rates = {label: float(lr) for label, lr in group_learning_rates(state).items()}
    assert rates == pytest.approx({g: lo * (hi / lo) ** (k / 3) for k, g in enumerate(GROUPS)}, rel=1e-6)


def test_layerwise_multipliers_and_updates_follow_the_formula():
    base, decay = 2e-2, 0.6
    multipliers = layerwise_lr_multipliers(PARAMS, decay, DEPTHS)
    assert multipliers == pytest.approx({f"{n}/kernel": decay ** (3 - d) for n, d in zip(PARAMS, range(4))})
    new, state, grads = _one_sgd_step(layerwise_lr_decay(base, decay, DEPTHS, optimizer=optlab.sgd))
    for d, name in enumerate(PARAMS):
        lr = base * np.float64(decay) ** (3 - d)  # lr_i = base_lr * decay**(L - depth_i)
        expected = np.asarray(PARAMS[name]["kernel"], np.float64) - lr * np.asarray(grads[name]["kernel"], np.float64)
        np.testing.assert_allclose(new[name]["kernel"], expected, rtol=2e-7)
    assert sorted(group_learning_rates(state)) == ["depth 0", "depth 1", "depth 2", "depth 3"]
    # depth as a function of the path: same groups
    by_function = layerwise_lr_multipliers(PARAMS, decay, lambda path: int(path[-8]) if path.startswith("Conv") else 2 + int(path[6]))
    assert by_function == multipliers


def test_schedules_apply_per_group():
    tx = discriminative_lrs(["Conv_.*", ".*"], 1e-3, 1e-1,
                            optimizer=lambda lr: optlab.sgd(optlab.schedules.step(lr, every=1, factor=0.5)))
    state = tx.init(PARAMS)
    for _ in range(2):
        _, state = tx.update(_grads(), state, PARAMS)
    rates = group_learning_rates(state)
    # the rate the last (second) update used: schedule(1) = lr * 0.5, per group
    assert float(rates["Conv_.*"]) == pytest.approx(1e-3 * 0.5) and float(rates[".*"]) == pytest.approx(1e-1 * 0.5)


def test_lr_find_keeps_group_ratios(cnn, small):
    from optlab.practice import lr_find
    from optlab.practice._lr_groups import group_ratios, with_learning_rates  # what lr_find runs

    model, params = cnn
    tx = partition([("Conv_.*", optlab.sgd(1e-4)), (".*", optlab.sgd(1e-2))])
    state = TrainState.create(apply_fn=model.apply, params=params, tx=tx)
    rates = group_learning_rates(with_learning_rates(state.opt_state, group_ratios(state.opt_state), jnp.float32(0.5)))
    assert float(rates["Conv_.*"]) / float(rates[".*"]) == pytest.approx(0.01)
    assert float(rates[".*"]) == pytest.approx(0.5)
    from optlab.train import classifier_loss

    from optlab.practice._lr_find import LRFindWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LRFindWarning)  # 10 steps: too short to show a full curve
        result = lr_find(state, classifier_loss(model.apply), *small, batch_size=50, num_steps=10, start_lr=1e-4, end_lr=1e-3)
    # the recorded rate is the largest group's: it sweeps the range while the conv group stays 100x below
    np.testing.assert_allclose(result.learning_rates[[0, -1]], [1e-4, 1e-3], rtol=1e-5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: layerwise_lr_decay(1e-3, 0.0, DEPTHS), r"decay must be in \(0, 1\], got 0.0"),
        (lambda: layerwise_lr_decay(1e-3, 1.5, DEPTHS), r"decay must be in \(0, 1\], got 1.5"),
        (lambda: layerwise_lr_decay(-1.0, 0.5, DEPTHS), "base_lr must be > 0"),
        (lambda: layerwise_lr_decay(1e-3, 0.5, [("Conv_[", 0)]), r"depth\[0\]: invalid regex"),
        (lambda: layerwise_lr_multipliers(PARAMS, 0.5, [("Conv_0/.*", -1), (".*", 1)]), r"depth of 'Conv_0/kernel' must be >= 0, got -1"),
        (lambda: layerwise_lr_decay(1e-3, 0.5, lambda p: -2).init(PARAMS), r"depth of 'Conv_0/kernel' must be >= 0, got -2"),
        (lambda: layerwise_lr_multipliers(PARAMS, 0.5, [("Conv_.*", 0)]), r"depth: no rule covers 2 parameter"),
        (lambda: discriminative_lrs(GROUPS, 1e-2, 1e-4), "lo must be <= hi"),
        (lambda: discriminative_lrs(GROUPS, 1e-4, 1e-2, optimizer=lambda lr: "adam"), r"optimizer\(0.0001\) must return"),
        (lambda: geometric_lrs(1e-4, 1e-2, 0), "n must be an int >= 1"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
