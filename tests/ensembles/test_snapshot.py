"""snapshot_ensemble: one snapshot per cycle, taken where the cyclic learning rate is lowest."""

import os

import jax
import numpy as np
import pytest
from _ensemble_helpers import make_state_factory

import optlab
from optlab.ensembles import load_snapshots, snapshot_ensemble, snapshot_schedule
from optlab.train import classifier_loss

CYCLES, EPOCHS_PER_CYCLE, BATCH = 3, 2, 40  # 240 examples: 6 steps per epoch, 12 per cycle


@pytest.fixture(scope="module")
def snap(small_digits, tmp_path_factory):
    model, make_state = make_state_factory(batch_norm=True)
    state = make_state(0)
    run_dir = str(tmp_path_factory.mktemp("snap"))
    result = snapshot_ensemble(
        state, classifier_loss(model.apply), *small_digits, cycles=CYCLES, epochs_per_cycle=EPOCHS_PER_CYCLE,
        batch_size=BATCH, optimizer=optlab.momentum, max_lr=0.1, run_dir=run_dir,
    )
    return model, make_state, state, result, run_dir


def test_one_snapshot_per_cycle_at_the_cycle_end(snap):
    _, _, _, result, _ = snap
    assert len(result.snapshots) == CYCLES and result.members.size == CYCLES
    assert result.epochs == [EPOCHS_PER_CYCLE * (c + 1) for c in range(CYCLES)]
    last_params, last_stats = result.snapshots[-1]
    for a, b in zip(jax.tree.leaves((last_params, last_stats)), jax.tree.leaves((result.state.params, result.state.model_state))):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(result.snapshots[0][0]["Dense_0"]["kernel"], last_params["Dense_0"]["kernel"])


def test_the_learning_rate_at_each_snapshot_is_the_cycle_minimum(snap):
    _, _, _, result, _ = snap
    period = EPOCHS_PER_CYCLE * (240 // BATCH)
    step_lr = np.asarray(result.history["step_lr"])
    assert step_lr.size == CYCLES * period
    cycles = step_lr.reshape(CYCLES, period)
    np.testing.assert_array_equal(result.learning_rates, cycles.min(axis=1))
    np.testing.assert_array_equal(cycles[:, 0], np.float32(0.1))  # every cycle restarts at max_lr
    expected = 0.1 / 2 * (np.cos(np.pi * (period - 1) / period) + 1)  # Huang et al.'s a(t) at a cycle's last step
    np.testing.assert_allclose(result.learning_rates, expected, rtol=1e-5)


def test_snapshots_on_disk_equal_those_in_memory_and_the_run_dir_is_not_reused(snap, small_digits):
    model, _, state, result, run_dir = snap
    loaded = load_snapshots(run_dir, result.snapshots[0])
    assert len(loaded) == CYCLES
    for disk, memory in zip(loaded, result.snapshots):
        for a, b in zip(jax.tree.leaves(disk), jax.tree.leaves(memory)):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    assert os.path.exists(result.paths["history_json"])
    with pytest.raises(ValueError, match="run_dir"):
        snapshot_ensemble(state, classifier_loss(model.apply), *small_digits, cycles=1, epochs_per_cycle=1,
                          batch_size=BATCH, run_dir=run_dir)


def test_callers_state_stays_valid_and_two_runs_agree(snap, small_digits):
    model, _, state, result, _ = snap
    again = snapshot_ensemble(
        state, classifier_loss(model.apply), *small_digits, cycles=CYCLES, epochs_per_cycle=EPOCHS_PER_CYCLE,
        batch_size=BATCH, optimizer=optlab.momentum, max_lr=0.1,
    )
    np.asarray(state.params["Dense_0"]["kernel"])  # the caller's arrays are still readable
    for a, b in zip(jax.tree.leaves(again.snapshots), jax.tree.leaves(result.snapshots)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_a_state_that_already_cycles_is_used_as_is(small_digits):
    model, make_state = make_state_factory(tx=optlab.sgd(snapshot_schedule(0.2, 1, 240 // BATCH)))
    result = snapshot_ensemble(make_state(0), classifier_loss(model.apply), small_digits[0], cycles=2,
                               epochs_per_cycle=1, batch_size=BATCH)
    assert len(result.snapshots) == 2 and result.learning_rates[0] == result.learning_rates[1] < 0.2 / 10


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"cycles": 0}, "cycles"), ({"epochs_per_cycle": 0}, "epochs_per_cycle"),
    ({"optimizer": optlab.sgd}, "max_lr"), ({"max_lr": 0.1}, "optimizer"),
    ({"optimizer": optlab.sgd, "max_lr": -1.0}, "max_lr"),
])
def test_bad_arguments_name_themselves(small_digits, kwargs, name):
    model, make_state = make_state_factory()
    args = {"cycles": 2, "epochs_per_cycle": 1, "batch_size": BATCH, **kwargs}
    with pytest.raises(ValueError, match=name):
        snapshot_ensemble(make_state(0), classifier_loss(model.apply), small_digits[0], **args)
