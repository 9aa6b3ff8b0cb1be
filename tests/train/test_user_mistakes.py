"""``fit`` under user mistakes: the caller's arrays survive, and bad data is refused before step 1."""

import jax
import numpy as np
import pytest

import optlab
from optlab.train import DataChecks, TrainState, check_data, classifier_loss, fit, own_copy


@pytest.fixture()
def state(tiny_mlp):
    model, params = tiny_mlp
    return TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(1e-3), ema_decay=0.9)


def run(state, tiny_mlp, train, val=None, **kwargs):
    args = {"epochs": 1, "batch_size": 100, "progress": False, **kwargs}
    return fit(state, classifier_loss(tiny_mlp[0].apply), train, val, **args)


def assert_readable_and_unchanged(state, before):
    assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(state))
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(state), before)


def test_callers_params_and_state_survive_fit(state, tiny_mlp, digits):
    params_before = jax.device_get(tiny_mlp[1])
    before = jax.device_get(state)
    result = run(state, tiny_mlp, digits.train, digits.val, epochs=2)
    assert_readable_and_unchanged(state, before)
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(tiny_mlp[1]), params_before)
    assert int(result.state.step) == 2 * (1077 // 100)


def test_two_fits_from_one_state_are_bit_identical(state, tiny_mlp, digits):
    first = run(state, tiny_mlp, digits.train, digits.val, epochs=2)
    second = run(state, tiny_mlp, digits.train, digits.val, epochs=2)
    for a, b in zip(jax.tree.leaves(first.state), jax.tree.leaves(second.state)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    assert first.history == second.history


def test_callers_state_survives_a_raising_fit(state, tiny_mlp, digits):
    before = jax.device_get(state)

    def fail(epoch, row):
        raise RuntimeError("user callback failed")

    with pytest.raises(RuntimeError, match="user callback failed"):
        run(state, tiny_mlp, digits.train, on_epoch_end=fail)
    assert_readable_and_unchanged(state, before)
    run(state, tiny_mlp, digits.train)  # and it can be trained again


def test_own_copy_gives_new_buffers():
    tree = {"a": jax.numpy.arange(3.0), "n": 3}
    copy = own_copy(tree)
    assert copy["n"] == 3 and copy["a"] is not tree["a"]
    assert copy["a"].unsafe_buffer_pointer() != tree["a"].unsafe_buffer_pointer()


def bad(digits, x=None, y=None):
    return (digits.train.x if x is None else x, digits.train.y if y is None else y)


def with_label(digits, index, value, dtype=None):
    y = np.array(digits.train.y, dtype=dtype)
    y[index] = value
    return y


@pytest.mark.parametrize(
    "make, error, needle",
    [
        (lambda d: bad(d, y=with_label(d, 7, 12)), ValueError,
         r"train_data: class labels y must lie in \[0, 10\) for 10 classes, got y\[7\] = 12"),
        (lambda d: bad(d, y=with_label(d, 3, -1)), ValueError,
         r"train_data: class labels y must lie in \[0, 10\) for 10 classes, got y\[3\] = -1"),
        (lambda d: bad(d, y=np.asarray(d.train.y, np.float32)), TypeError,
         r"train_data: class labels y must be integers, got dtype float32"),
        (lambda d: bad(d, y=np.asarray(d.train.y).astype(str)), TypeError,
         r"train_data: y must be numeric, got dtype <U\d+ \(e.g. y\[0\] = '\d'\)"),
        (lambda d: bad(d, x=np.where(np.arange(1077)[:, None, None, None] == 4, np.nan, d.train.x)), ValueError,
         r"train_data: x must be finite, got x\[4, 0, 0, 0\] = nan \(64 non-finite values\)"),
        (lambda d: bad(d, y=np.asarray(d.train.y)[:, None]), ValueError,
         r"train_data: class labels y must be one-dimensional \(N,\), got shape \(1077, 1\)"),
        (lambda d: bad(d, x=[[object()]] * 1077), TypeError, r"train_data: x must be numeric, got dtype object"),
        (lambda d: bad(d, y=np.asarray(d.train.y)[:-1]), ValueError,
         r"train_data: x and y need the same non-zero leading size"),
    ],
    ids=["label-too-large", "negative-label", "float-labels", "string-labels", "nan-input", "labels-n-by-1",
         "object-input", "length-mismatch"],
)
def test_bad_training_data_is_refused_before_the_first_step(state, tiny_mlp, digits, make, error, needle):
    steps = []
    with pytest.raises(error, match=needle):
        run(state, tiny_mlp, make(digits), on_epoch_end=lambda epoch, row: steps.append(epoch))
    assert steps == []


@pytest.mark.parametrize(
    "val, needle",
    [
        (lambda d: (d.val.x, with_label(d, 0, 10)[: d.val.y.shape[0]]), r"val_data: class labels y must lie in \[0, 10\)"),
        (lambda d: (np.where(np.arange(d.val.x.shape[0])[:, None, None, None] == 2, np.inf, d.val.x), d.val.y),
         r"val_data: x must be finite, got x\[2, 0, 0, 0\] = inf"),
    ],
    ids=["val-label", "val-inf"],
)
def test_bad_validation_data_is_refused(state, tiny_mlp, digits, val, needle):
    with pytest.raises(ValueError, match=needle):
        run(state, tiny_mlp, digits.train, val(digits))


def test_given_num_classes_is_used(state, tiny_mlp, digits):
    with pytest.raises(ValueError, match=r"in \[0, 5\) for 5 classes, got y\[\d+\] = [5-9]"):
        run(state, tiny_mlp, digits.train, data_checks=DataChecks(num_classes=5))


def test_nonfinite_inputs_can_be_left_to_the_guard(state, tiny_mlp, digits):
    x = np.array(digits.train.x)
    x[0] = np.nan
    result = run(state, tiny_mlp, (x, digits.train.y), data_checks=DataChecks(allow_nonfinite=True))
    assert result.history["nonfinite_steps"][-1] >= 1  # the batch holding row 0 was skipped


def test_custom_losses_without_class_labels_are_not_range_checked(state, tiny_mlp, digits):
    loss = classifier_loss(tiny_mlp[0].apply)

    def plain(params, x, y, rng):  # a loss that does not declare class labels
        return loss(params, x, y % 10, rng)

    y = np.array(digits.train.y) + 10
    fit(state, plain, (digits.train.x, y), epochs=1, batch_size=100, progress=False)
    with pytest.raises(ValueError, match="data_checks must be an optlab.train.DataChecks"):
        fit(state, plain, digits.train, epochs=1, batch_size=100, progress=False, data_checks={})


def test_check_data_names_the_argument(digits):
    x, y = np.asarray(digits.train.x), np.asarray(digits.train.y)
    with pytest.raises(ValueError, match=r"^x_subset must be a pair \(x, y\)"):
        check_data(x, "x_subset")
    checked_x, checked_y = check_data((x, y), class_labels=True, checks=DataChecks(num_classes=10))
    np.testing.assert_array_equal(checked_x, x)
    np.testing.assert_array_equal(checked_y, y)


def test_a_second_fit_with_the_same_loss_does_not_compile_again(state, tiny_mlp, digits):
    from optlab.train._fit import _cached_train_step

    loss = classifier_loss(tiny_mlp[0].apply)
    results = []
    for lr in (1e-3, 1e-2):  # two learning rates compared from one init, as the lecture asks
        start = state.replace(opt_state=optlab.set_learning_rate(state.opt_state, lr))
        results.append(fit(start, loss, digits.train, epochs=1, batch_size=100, progress=False))
    assert _cached_train_step(loss, (), 100)._cache_size() == 1
    assert results[0].history["lr"] == [pytest.approx(1e-3)] and results[1].history["lr"] == [pytest.approx(1e-2)]
