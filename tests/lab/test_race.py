"""The lab's ravine race and the CLI that prints it."""

import subprocess
import sys

import numpy as np
import pytest

import optlab
from optlab import cli
from optlab.lab import race, ravine


def test_momentum_beats_sgd_on_a_ravine():
    """The lecture's claim: on a ravine SGD crawls, momentum (at its best lr) gets there faster."""
    grid = np.geomspace(1e-3, 1.0, 13)
    sgd, momentum = race(
        {"sgd": optlab.sgd(0.01), "momentum": optlab.momentum(0.01)},
        ravine(50.0),
        steps=600,
        learning_rates=grid,
    )
    assert sgd.steps_to_tolerance is not None and momentum.steps_to_tolerance is not None
    assert momentum.steps_to_tolerance < 0.8 * sgd.steps_to_tolerance
    # The best plain-SGD step is bounded by the stiff direction: lr < 2 / kappa.
    assert sgd.learning_rate < 2 / 50.0
    assert sgd.path.shape == (601, 2) and sgd.losses.shape == (601,)


def test_steps_to_tolerance_means_stays_below():
    (result,) = race({"sgd": optlab.sgd(0.03)}, ravine(50.0), steps=400, tolerance=1e-6)
    t = result.steps_to_tolerance
    assert np.all(result.losses[t:] < 1e-6) and result.losses[t - 1] >= 1e-6


def test_race_refuses_bad_arguments():
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        race({"sgd": optlab.sgd(0.1)}, ravine(), steps=0)
    with pytest.raises(ValueError, match="condition_number must be > 0, got -1"):
        ravine(-1)


def test_cli_race_prints_a_row_per_rule(capsys):
    assert cli.main(["race", "--steps", "300", "--rules", "sgd,adam"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["sgd"], ["adam"])]
    assert [row[0] for row in rows] == ["sgd", "adam"]
    for row in rows:
        float(row[1])  # the learning rate column parses
        assert float(row[-1]) < 1e-6  # both reach the tolerance in 300 steps


def test_python_m_optlab_help():
    out = subprocess.run([sys.executable, "-m", "optlab", "--help"], capture_output=True, text=True, check=True)
    for command in ("demo", "race", "compare"):
        assert command in out.stdout


def test_demo_runs_race_then_compare(capsys, tmp_path):
    assert cli.main(["demo", "--rules", "sgd", "--epochs", "1", "--run-dir", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.index("Race on ravine") < out.index("best val acc")
    assert (tmp_path / "compare.png").exists()
