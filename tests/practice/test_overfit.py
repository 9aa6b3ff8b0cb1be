"""overfit_subset: a correct pipeline memorizes a tiny subset; two broken ones cannot."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _practice_helpers import assert_trees_equal, host, make_state

import optlab
from optlab.practice import overfit_subset


@pytest.fixture(scope="module")
def subset(digits):
    return digits.train.x[:32], digits.train.y[:32]


def test_correct_pipeline_passes_and_stops_early(mlp, subset):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.adam(1e-2))
    result = overfit_subset(state, loss_fn, *subset, steps=300, target_loss=0.05)
    assert result.passed, result.message
    assert result.final_loss <= 0.05 and result.losses[-1] <= 0.05  # full batch: last pass = last step
    assert result.steps_run < 300 and len(result.losses) == result.steps_run
    assert result.losses[0] > 1.5  # started near log 10
    assert "memorized 32 examples" in result.message


def test_minibatches_pass_too(mlp, subset):
    model, params, loss_fn = mlp
    result = overfit_subset(make_state(model, params, optlab.adam(1e-2)), loss_fn, *subset, batch_size=8, steps=400)
    assert result.passed, result.message
    assert result.final_loss == pytest.approx(np.mean(result.losses[-4:]))


def test_labels_shuffled_every_step_cannot_be_memorized(mlp, subset):
    model, params, loss_fn = mlp

    def shuffled_loss(params, x, y, rng):
        return loss_fn(params, x, jax.random.permutation(rng, y), rng)

    result = overfit_subset(make_state(model, params, optlab.adam(1e-2)), shuffled_loss, *subset, steps=200)
    assert not result.passed
    assert result.steps_run == 200
    assert result.final_loss > 1.0
    assert "failed" in result.message


@pytest.mark.parametrize("how", ["sgd(0)", "set_learning_rate"])
def test_learning_rate_zero_cannot_overfit(mlp, subset, how):
    model, params, loss_fn = mlp
    if how == "sgd(0)":
        state = make_state(model, params, optlab.sgd(0.0))
    else:
        state = make_state(model, params, optlab.adam(1e-2))
        state = state.replace(opt_state=optlab.set_learning_rate(state.opt_state, 0.0))
    result = overfit_subset(state, loss_fn, *subset, steps=30)
    assert not result.passed
    np.testing.assert_allclose(result.losses, result.losses[0], rtol=1e-6)  # only the batch order changes
    assert "barely moved" in result.message and "learning rate of 0" in result.message


def test_callers_state_survives_and_runs_repeat_bit_identically(mlp, subset):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.adam(1e-2), ema_decay=0.9)
    before = host(state)
    first = overfit_subset(state, loss_fn, *subset, steps=20, batch_size=8)
    second = overfit_subset(state, loss_fn, *subset, steps=20, batch_size=8)
    assert_trees_equal(host(state), before)  # readable (not donated) and unchanged
    np.testing.assert_array_equal(first.losses, second.losses)
    np.asarray(params["Dense_0"]["kernel"])  # the caller's params too


def test_nonfinite_loss_fails_at_once(mlp, subset):
    model, params, loss_fn = mlp

    def nan_loss(params, x, y, rng):
        loss, logits = loss_fn(params, x, y, rng)
        return loss * jnp.log(-jnp.sign(x.sum())), logits  # NaN: log of a negative number

    result = overfit_subset(make_state(model, params, optlab.sgd(0.1)), nan_loss, *subset, steps=100)
    assert not result.passed
    assert result.steps_run == 1 and np.isnan(result.losses[-1]) and np.isnan(result.final_loss)
    assert "too high" in result.message and "NaN" in result.message


@pytest.mark.parametrize(
    "kwargs, name",
    [({"steps": 0}, "steps"), ({"steps": -3}, "steps"), ({"batch_size": 33}, "batch_size"),
     ({"batch_size": 0}, "batch_size"), ({"target_loss": 0.0}, "target_loss"), ({"seed": -1}, "seed")],
)
def test_bad_arguments_are_named(mlp, subset, kwargs, name):
    model, params, loss_fn = mlp
    with pytest.raises(ValueError, match=name):
        overfit_subset(make_state(model, params, optlab.sgd(0.1)), loss_fn, *subset, **kwargs)


def test_bad_data_is_named(mlp, subset):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.sgd(0.1))
    with pytest.raises(ValueError, match=r"overfit_subset data \(x, y\).*same non-zero leading size"):
        overfit_subset(state, loss_fn, subset[0][:0], subset[1][:0])
    x = np.array(subset[0])
    x[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"overfit_subset data \(x, y\): x must be finite"):
        overfit_subset(state, loss_fn, x, subset[1])


def test_callers_state_survives_when_overfit_subset_raises(mlp, subset):
    model, params, loss_fn = mlp
    state = make_state(model, params, optlab.adam(1e-2))
    before = host(state)

    def broken(params, x, y, rng):
        raise RuntimeError("bug in the loss")

    with pytest.raises(RuntimeError, match="bug in the loss"):
        overfit_subset(state, broken, *subset, steps=5)
    assert_trees_equal(host(state), before)
