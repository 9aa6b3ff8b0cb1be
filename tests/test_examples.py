"""Each example script runs and prints what it claims."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "ravine_momentum.py": "momentum needs",
    "schedules_tour.py": "cosine restarts every 30 epochs",
    "change_lr_without_recompiling.py": "compiled 1 time(s) for 3 learning rates",
    "early_stopping_and_polyak.py": "test accuracy: best snapshot",
    "ensemble_independent.py": "independent ensemble of 3",
    "ensemble_snapshot_swa.py": "snapshot ensemble of 3",
    "saddle_and_local_minimum.py": "ends in the better minimum at",
    "nesterov_vs_heavy_ball.py": "nesterov",
    "adagrad_stalls.py": "effective step |dw|/|g|",
    "adam_bias_correction.py": "uncorrected / corrected first step: 3.16",
    "step_schedule_staircase.py": "lr decay 2 at step",
    "schedules_on_digits.py": "exponential  final test accuracy",
    "lr_too_high_too_low.py": "diverged",
    "initial_loss_check.py": "final layer x100: initial loss",
    "overfit_tiny_subset.py": "labels shuffled every step: passed=False",
    "lr_range_test.py": "suggested learning rate (valley):",
    "diagnose_run.py": "overfitting from epoch",
    "transfer_lr_groups.py": "layer-wise decay: {'depth 0': '1.25e-04'",
    "transfer_two_stage.py": "convolutions unchanged: True",
    "multihost_fit.py": "processes x 4 devices: val accuracy",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert EXPECTED[name] in result.stdout


def test_every_example_is_tested():
    on_disk = {p.name for p in EXAMPLES.glob("*.py")}
    assert on_disk <= set(EXPECTED), sorted(on_disk - set(EXPECTED))
