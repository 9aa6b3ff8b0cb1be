"""The lab's races (on every landscape), the sweep under them and the `race` command."""

import subprocess
import sys

import jax
import numpy as np
import pytest

import optlab
from optlab import cli
from optlab.lab import LANDSCAPES, race, ravine, sweep


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


def test_race_is_reproducible_bit_for_bit():
    grid = np.geomspace(1e-3, 1.0, 5)
    optimizers = {"momentum": optlab.momentum(0.01), "adam": optlab.adam(0.01)}
    first = race(optimizers, LANDSCAPES["saddle"](), steps=100, learning_rates=grid)
    second = race(optimizers, LANDSCAPES["saddle"](), steps=100, learning_rates=grid)
    for a, b in zip(first, second):
        assert a.learning_rate == b.learning_rate and a.steps_to_tolerance == b.steps_to_tolerance
        np.testing.assert_array_equal(a.losses, b.losses)
        np.testing.assert_array_equal(a.path, b.path)


def test_sweep_runs_every_learning_rate_and_float64_needs_x64():
    losses, paths = sweep(optlab.sgd(0.1), ravine(50.0), [0.001, 0.03, 0.05], steps=50)
    assert losses.shape == (3, 51) and paths.shape == (3, 51, 2)
    assert losses[2, -1] > losses[2, 0] and losses[1, -1] < losses[0, -1]  # 0.05 > 2/kappa diverges
    with pytest.raises(ValueError, match="float64 needs jax.enable_x64"):
        sweep(optlab.sgd(0.1), ravine(), [0.01], steps=5, dtype="float64")
    with jax.enable_x64(True):
        losses64, paths64 = sweep(optlab.sgd(0.1), ravine(), [0.03], steps=1500, dtype="float64")
    assert paths64.dtype == np.float64 and 0 < losses64[0, -1] < 1e-30  # no underflow to exactly 0


def test_rotation_does_not_change_sgd_but_hurts_adagrad():
    """The lab notes: the axis-aligned ravine flatters per-coordinate methods; the turned one is fair."""
    grid = np.geomspace(1e-3, 10.0, 13)
    with jax.enable_x64(True):
        flat = {r.name: r for r in race({"sgd": optlab.sgd(0.1), "adagrad": optlab.adagrad(0.1)}, ravine(50.0),
                                        steps=300, learning_rates=grid, dtype="float64")}
        turned = {r.name: r for r in race({"sgd": optlab.sgd(0.1), "adagrad": optlab.adagrad(0.1)},
                                          ravine(50.0, angle=30.0), steps=300, learning_rates=grid, dtype="float64")}
    assert flat["sgd"].steps_to_tolerance == turned["sgd"].steps_to_tolerance
    assert flat["adagrad"].steps_to_tolerance < 20
    assert turned["adagrad"].steps_to_tolerance is None or turned["adagrad"].steps_to_tolerance > 100


def test_cli_race_on_a_landscape_writes_pictures(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "race"
    assert cli.main(["race", "--landscape", "local-minimum", "--rules", "sgd,momentum", "--steps", "200",
                     "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Race on local-minimum" in text and str(out / "race.gif") in text
    for name in ("contour.png", "losses.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG"
    with Image.open(out / "race.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames > 5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["race", "--steps", "-5"], "steps must be a positive integer, got -5"),
        (["race", "--rules", "sgd,lion"], "--rules must be a comma-separated subset"),
        (["race", "--landscape", "saddle", "--kappa", "3"], "--kappa applies to --landscape ravine"),
        (["race", "--kappa", "-1"], "condition_number must be > 0"),
    ],
)
def test_cli_race_user_errors_are_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
