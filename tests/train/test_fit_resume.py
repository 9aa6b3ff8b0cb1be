"""A run SIGKILLed after epoch k and resumed equals the uninterrupted run, bit for bit."""

import importlib.util
import os
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from optlab.train import Checkpoints

EPOCHS, KILL_AFTER = 5, 2
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_job():
    spec = importlib.util.spec_from_file_location("_resume_job", os.path.join(HERE, "_resume_job.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_bit_identical(a, b):
    """Same leaf paths and node types (the static ``tx`` objects differ between runs), same bytes."""
    flat_a, flat_b = jax.tree_util.tree_flatten_with_path(a)[0], jax.tree_util.tree_flatten_with_path(b)[0]
    assert [jax.tree_util.keystr(p) for p, _ in flat_a] == [jax.tree_util.keystr(p) for p, _ in flat_b]
    assert type(a) is type(b)
    for (_, x), (_, y) in zip(flat_a, flat_b):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "batchnorm"])
def runs(request, tmp_path_factory):
    batch_norm = request.param
    job = load_job()
    reference = job.run(str(tmp_path_factory.mktemp("reference")), EPOCHS, batch_norm=batch_norm)
    killed_dir = str(tmp_path_factory.mktemp("killed"))
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.run(
        [sys.executable, os.path.join(HERE, "_resume_job.py"), killed_dir, str(EPOCHS), str(KILL_AFTER)]
        + (["bn"] if batch_norm else []),
        cwd=ROOT, env=env, capture_output=True, timeout=300,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    checkpoints = os.path.join(killed_dir, "checkpoints")
    with Checkpoints(checkpoints) as ckpt:
        assert ckpt.epochs()[-1] == KILL_AFTER
    # what a crash in the middle of saving epoch k+1 leaves behind
    os.makedirs(os.path.join(checkpoints, f"{KILL_AFTER + 1}.orbax-checkpoint-tmp-99", "state"))
    os.makedirs(os.path.join(checkpoints, f"{KILL_AFTER + 1}", "state"))
    resumed = job.run(killed_dir, EPOCHS, resume=True, batch_norm=batch_norm)
    if batch_norm:  # the statistics are part of what resumes bit-exactly, and they did move
        assert_bit_identical(resumed.state.model_state, reference.state.model_state)
        assert_bit_identical(resumed.best_model_state, reference.best_model_state)
        stats = reference.state.model_state["batch_stats"]["BatchNorm_0"]
        assert np.abs(np.asarray(stats["mean"])).max() > 1e-3
    return job, reference, resumed, batch_norm


def test_resumed_state_is_bit_identical(runs):
    _, reference, resumed, _ = runs
    assert int(resumed.state.step) == int(reference.state.step) > 0
    assert_bit_identical(resumed.state, reference.state)  # params, opt_state (schedule count), EMA


def test_resumed_early_stopping_and_best_are_bit_identical(runs):
    _, reference, resumed, _ = runs
    assert_bit_identical(resumed.early_stopping, reference.early_stopping)
    assert resumed.best_epoch == reference.best_epoch and resumed.best_metric == reference.best_metric


def test_resumed_history_is_identical(runs):
    _, reference, resumed, _ = runs
    assert resumed.history.keys() == reference.history.keys()
    for key, values in reference.history.items():
        np.testing.assert_array_equal(np.asarray(resumed.history[key]), np.asarray(values), err_msg=key)
    assert len(resumed.epoch_seconds) == len(reference.history["epoch"]) - KILL_AFTER  # only the rest ran
    assert len(set(resumed.history["step_lr"])) > 2  # the schedule really moved


def test_resume_of_a_finished_run_changes_nothing(runs, tmp_path):
    job, reference, _, batch_norm = runs
    again = job.run(reference.paths["run_dir"], EPOCHS, resume=True, batch_norm=batch_norm)
    assert again.epoch_seconds == []
    assert_bit_identical(again.state, reference.state)
    assert again.history == reference.history
