import csv
import json
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import struct
from jax.flatten_util import ravel_pytree
from PIL import Image

import optlab
from optlab.models import DigitsCNN
from optlab.train import (
    DataChecks,
    EarlyStopping,
    NonFiniteError,
    TrainState,
    accuracy,
    classifier_loss,
    epoch_permutation,
    fit,
    read_scalars,
)
from optlab.train._guard import NonFiniteGuard

EPOCHS = 10


@pytest.fixture(scope="module")
def cnn_run(digits, tmp_path_factory):
    model = DigitsCNN()
    params = model.init(jax.random.key(0), digits.train.x[:1])["params"]
    state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(3e-3), ema_decay=0.9)
    run_dir = tmp_path_factory.mktemp("cnn_run")
    result = fit(
        state, classifier_loss(model.apply), digits.train, digits.val, epochs=EPOCHS, batch_size=32,
        metrics={"accuracy": accuracy}, run_dir=run_dir, monitor="val_accuracy", monitor_mode="max",
        progress=False,
    )
    test_acc = jax.jit(lambda p: accuracy(model.apply({"params": p}, digits.test.x), digits.test.y))
    return result, test_acc


def test_cnn_on_digits_reaches_95_percent(cnn_run):
    result, test_acc = cnn_run
    assert float(test_acc(result.best_params)) >= 0.95
    assert float(test_acc(result.state.ema_params)) >= 0.95
    assert result.best_metric == pytest.approx(max(result.history["val_accuracy"]), rel=1e-6)
    assert result.history["val_accuracy"][result.best_epoch - 1] == pytest.approx(result.best_metric, rel=1e-6)
    assert int(result.state.step) == EPOCHS * (1077 // 32)


def test_history_files_match_result(cnn_run):
    result, _ = cnn_run
    history = result.history
    assert history["epoch"] == list(range(1, EPOCHS + 1))
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_ema_loss", "val_ema_accuracy", "lr"):
        assert len(history[key]) == EPOCHS and all(math.isfinite(v) for v in history[key])
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["lr"] == [pytest.approx(3e-3)] * EPOCHS
    assert len(history["step_lr"]) == len(history["step_loss"]) == EPOCHS * (1077 // 32)
    with open(result.paths["history_json"]) as f:
        assert json.load(f) == history
    with open(result.paths["history_csv"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == EPOCHS and float(rows[-1]["val_loss"]) == history["val_loss"][-1]
    assert "step_lr" not in rows[0]


def test_tensorboard_events_hold_logged_values(cnn_run):
    result, _ = cnn_run
    scalars = read_scalars(result.paths["tensorboard"])
    for tag, key in (("val/accuracy", "val_accuracy"), ("train/loss", "train_loss"), ("val_ema/loss", "val_ema_loss")):
        steps, values = zip(*scalars[tag])
        assert list(steps) == list(range(1, EPOCHS + 1))
        np.testing.assert_allclose(values, result.history[key], rtol=1e-6)
    assert len(scalars["step/lr"]) == len(result.history["step_lr"])
    np.testing.assert_allclose([v for _, v in scalars["step/loss"]], result.history["step_loss"], rtol=1e-6)


def test_learning_curves_png_is_valid(cnn_run):
    result, _ = cnn_run
    with Image.open(result.paths["curves"]) as image:
        image.verify()
    with Image.open(result.paths["curves"]) as image:
        assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100


def test_best_checkpoint_holds_best_params(cnn_run):
    result, _ = cnn_run
    from optlab.train import Checkpoints

    with Checkpoints(result.paths["checkpoints"], mode="max") as ckpt:
        assert result.best_epoch in ckpt.epochs() and EPOCHS in ckpt.epochs()
        best = ckpt.restore_best({"state": result.state, "tracker": result.early_stopping})
    assert best.epoch == result.best_epoch
    for a, b in zip(jax.tree.leaves(best.tree["state"].params), jax.tree.leaves(result.best_params)):
        np.testing.assert_array_equal(a, b)


def small_state(tiny_mlp, tx=None, ema_decay=None):
    model, params = tiny_mlp
    params = jax.tree.map(jnp.copy, params)
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx or optlab.sgd(0.1), ema_decay=ema_decay)


def test_donation_without_warnings_keeps_the_callers_arrays(digits, tiny_mlp):
    state = small_state(tiny_mlp, optlab.adam(1e-3), ema_decay=0.9)
    before = jax.device_get(state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a donation XLA cannot use would warn
        result = fit(state, classifier_loss(tiny_mlp[0].apply), digits.train, digits.val, epochs=2,
                     batch_size=128, progress=False)
    assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(state))  # fit trained its own copy
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(state), before)
    assert int(result.state.step) == 2 * (1077 // 128)


ALLOW_NONFINITE = DataChecks(allow_nonfinite=True)  # NaN/inf data reach the skip-a-step guard


def test_poisoned_batch_leaves_state_bit_identical(digits, tiny_mlp):
    x = np.array(digits.train.x[:64])
    x[5, 0, 0, 0] = np.nan
    state = small_state(tiny_mlp, optlab.momentum(0.1), ema_decay=0.9)
    before = jax.device_get(state)
    result = fit(state, classifier_loss(tiny_mlp[0].apply), (x, digits.train.y[:64]), epochs=1,
                 batch_size=64, progress=False, data_checks=ALLOW_NONFINITE)
    for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(result.state)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert result.history["nonfinite_steps"] == [1]
    assert math.isnan(result.history["train_loss"][0])


def test_poisoned_row_skips_exactly_its_batches(digits, tiny_mlp):
    x = np.array(digits.train.x)
    x[17] = np.inf
    result = fit(small_state(tiny_mlp), classifier_loss(tiny_mlp[0].apply), (x, digits.train.y),
                 epochs=3, batch_size=100, seed=4, progress=False, data_checks=ALLOW_NONFINITE)
    used = 100 * (1077 // 100)
    expected = np.cumsum([17 in np.asarray(epoch_permutation(jax.random.key(4), e, 1077))[:used] for e in (1, 2, 3)])
    assert result.history["nonfinite_steps"] == list(expected) and expected[-1] >= 1
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(result.state.params))
    assert int(result.state.step) == 3 * (1077 // 100) - expected[-1]


def test_error_after_k_nonfinite_steps_in_a_row(digits, tiny_mlp):
    x = np.full_like(digits.train.x[:100], np.nan)
    with pytest.raises(NonFiniteError, match=r"max_nonfinite_steps=3\), the last at step 2 \(epoch 1\)"):
        fit(small_state(tiny_mlp), classifier_loss(tiny_mlp[0].apply), (x, digits.train.y[:100]),
            epochs=2, batch_size=20, max_nonfinite_steps=3, progress=False, data_checks=ALLOW_NONFINITE)
    assert issubclass(NonFiniteError, FloatingPointError)


def test_guard_counts_streaks():
    guard = NonFiniteGuard(limit=3)
    for ok in [False, False, True, False, False, False, False]:
        guard = guard.update(jnp.asarray(ok))
    assert int(guard.tripped_at) == 5 and int(guard.skipped) == 6 and int(guard.streak) == 4
    assert int(guard.steps) == 7


def test_schedule_position_logged_per_step(digits, tiny_mlp):
    schedule = optlab.schedules.cosine(0.1, total_steps=20)
    result = fit(small_state(tiny_mlp, optlab.sgd(schedule)), classifier_loss(tiny_mlp[0].apply),
                 digits.train, epochs=2, batch_size=100, progress=False)
    expected = [float(schedule(i)) for i in range(2 * (1077 // 100))]
    np.testing.assert_allclose(result.history["step_lr"], expected, rtol=1e-6)


def test_lr_logging_falls_back_for_plain_optax(digits, tiny_mlp):
    loss = classifier_loss(tiny_mlp[0].apply)
    plain = fit(small_state(tiny_mlp, optax.adam(1e-3)), loss, digits.train, epochs=1, batch_size=500, progress=False)
    assert "step_lr" not in plain.history and math.isnan(plain.history["lr"][0])
    injected = optax.inject_hyperparams(optax.adam)(learning_rate=2e-3)
    inj = fit(small_state(tiny_mlp, injected), loss, digits.train, epochs=1, batch_size=500, progress=False)
    assert inj.history["step_lr"] == [pytest.approx(2e-3)] * 2


def test_early_stopping_ends_fit_and_keeps_best(digits, tiny_mlp):
    es = EarlyStopping(patience=1, min_delta=10.0)  # only the first epoch can improve
    result = fit(small_state(tiny_mlp), classifier_loss(tiny_mlp[0].apply), digits.train, digits.val,
                 epochs=5, batch_size=200, early_stopping=es, progress=False)
    assert result.stopped_early and result.history["epoch"] == [1, 2]
    assert result.best_epoch == 1 and result.best_metric == pytest.approx(result.history["val_loss"][0])
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(result.best_params), jax.tree.leaves(result.state.params)))


@struct.dataclass
class FlatState:
    """Only the TrainState protocol, over one flat parameter vector (like FlatTrainState)."""

    step: jax.Array
    flat: jax.Array
    opt_state: optax.OptState
    unravel: object = struct.field(pytree_node=False)
    tx: object = struct.field(pytree_node=False)

    @property
    def params(self):
        return self.unravel(self.flat)

    ema_params = None

    def value_and_grad(self, loss_fn, *args, has_aux=False):
        value, grads = jax.value_and_grad(lambda f: loss_fn(self.unravel(f), *args), has_aux=has_aux)(self.flat)
        return value, grads

    def apply_gradients(self, *, grads):
        updates, opt_state = self.tx.update(grads, self.opt_state, self.flat)
        return self.replace(step=self.step + 1, flat=self.flat + updates, opt_state=opt_state)


def test_fit_uses_only_the_protocol(digits, tiny_mlp):
    model, params = tiny_mlp
    flat, unravel = ravel_pytree(params)
    tx = optlab.sgd(0.1)
    state = FlatState(jnp.int32(0), flat, tx.init(flat), unravel, tx)
    reference = small_state(tiny_mlp, tx)
    kwargs = dict(epochs=2, batch_size=100, progress=False, metrics={"accuracy": accuracy})
    flat_result = fit(state, classifier_loss(model.apply), digits.train, digits.val, **kwargs)
    tree_result = fit(reference, classifier_loss(model.apply), digits.train, digits.val, **kwargs)
    np.testing.assert_allclose(flat_result.state.flat, ravel_pytree(tree_result.state.params)[0], rtol=1e-5, atol=1e-6)
    assert flat_result.history["val_accuracy"] == pytest.approx(tree_result.history["val_accuracy"], abs=1e-3)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"epochs": 0}, "epochs must be an int >= 1, got 0"),
        ({"batch_size": 5000}, "batch_size must be <= the number of training examples 1077, got 5000"),
        ({"monitor": "val_acc"}, "monitor must be one of"),
        ({"monitor_mode": "up"}, "monitor_mode must be 'min' or 'max', got 'up'"),
        ({"max_nonfinite_steps": 0}, "max_nonfinite_steps must be an int >= 1, got 0"),
        ({"early_stopping": EarlyStopping(2, mode="max")}, "contradicts early_stopping.mode"),
    ],
)
def test_fit_arguments_validated(digits, tiny_mlp, kwargs, needle):
    args = {"epochs": 1, "batch_size": 100, "progress": False, "monitor_mode": "min", **kwargs}
    with pytest.raises(ValueError, match=needle):
        fit(small_state(tiny_mlp), classifier_loss(tiny_mlp[0].apply), digits.train, digits.val, **args)


def test_existing_checkpoints_need_resume(digits, tiny_mlp, tmp_path):
    loss = classifier_loss(tiny_mlp[0].apply)
    fit(small_state(tiny_mlp), loss, digits.train, epochs=1, batch_size=500, run_dir=tmp_path, progress=False, plot=False)
    with pytest.raises(ValueError, match="already holds checkpoints; pass resume=True"):
        fit(small_state(tiny_mlp), loss, digits.train, epochs=1, batch_size=500, run_dir=tmp_path, progress=False)


def test_fit_accepts_flat_train_state(digits, tiny_mlp):
    from optlab.train._flat_state import FlatTrainState

    model, params = tiny_mlp
    kwargs = dict(epochs=2, batch_size=100, progress=False, metrics={"accuracy": accuracy})
    flat = FlatTrainState.create(apply_fn=model.apply, params=jax.tree.map(jnp.copy, params),
                                 tx=optlab.adam(1e-3), ema_decay=0.9)
    flat_result = fit(flat, classifier_loss(model.apply), digits.train, digits.val, **kwargs)
    tree_result = fit(small_state(tiny_mlp, optlab.adam(1e-3), ema_decay=0.9), classifier_loss(model.apply),
                      digits.train, digits.val, **kwargs)
    for a, b in zip(jax.tree.leaves(flat_result.state.params), jax.tree.leaves(tree_result.state.params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(flat_result.best_params), jax.tree.leaves(tree_result.best_params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert flat_result.history["val_ema_loss"] == pytest.approx(tree_result.history["val_ema_loss"], rel=1e-5)


def test_progress_bar_shows_loss_and_metrics(digits, tiny_mlp, capsys):
    fit(small_state(tiny_mlp), classifier_loss(tiny_mlp[0].apply), digits.train, digits.val, epochs=1,
        batch_size=100, metrics={"accuracy": accuracy}, progress=True, log_every=2)
    err = capsys.readouterr().err
    assert "fit" in err and "val_accuracy=" in err and "train_loss=" in err
    fit(small_state(tiny_mlp), classifier_loss(tiny_mlp[0].apply), digits.train, epochs=1, batch_size=100,
        progress=False)
    assert capsys.readouterr().err == ""


def test_plotting_leaves_pyplot_alone(cnn_run, tmp_path):
    import matplotlib.pyplot as plt

    from optlab.train import plot_learning_curves

    before = plt.get_fignums()
    path = plot_learning_curves(cnn_run[0].history, str(tmp_path / "c.png"), title="t")
    assert plt.get_fignums() == before and (tmp_path / "c.png").stat().st_size > 0 and path.endswith("c.png")


def test_validation_means_are_exact_over_uneven_batches(digits, tiny_mlp):
    runs = [
        fit(small_state(tiny_mlp), classifier_loss(tiny_mlp[0].apply), digits.train, digits.val, epochs=1,
            batch_size=500, metrics={"accuracy": accuracy}, eval_batch_size=size, progress=False)
        for size in (1024, 100)  # 360 = one batch, or 100+100+100+60
    ]
    assert runs[1].history["val_loss"] == pytest.approx(runs[0].history["val_loss"], rel=1e-6)
    acc = runs[1].history["val_accuracy"][0]
    assert acc == pytest.approx(runs[0].history["val_accuracy"][0], abs=1e-6)
    assert acc * 360 == pytest.approx(round(acc * 360), abs=1e-4)  # a count over 360, not a mean of means
