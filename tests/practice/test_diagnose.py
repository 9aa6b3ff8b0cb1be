"""diagnose: each synthetic kind of learning curve gives exactly that finding; a healthy run none."""

import json
import math

import pytest
from _practice_helpers import make_state

import optlab
from optlab.practice import KINDS, DiagnoseThresholds, diagnose
from optlab.train import fit

HEALTHY = {
    "epoch": [1, 2, 3, 4, 5, 6],
    "train_loss": [1.0, 0.45, 0.25, 0.15, 0.1, 0.08],
    "val_loss": [0.9, 0.5, 0.33, 0.27, 0.25, 0.245],
    "nonfinite_steps": [0, 0, 0, 0, 0, 0],
    "step_loss": [2.31, 1.9, 1.4, 0.9],
}


def _with(**changes):
    return {**HEALTHY, **changes}


SYNTHETIC = {
    "nonfinite": _with(train_loss=[1.0, 0.45, 0.25, math.nan, math.nan, math.nan],
                       val_loss=[0.9, 0.5, 0.33, math.nan, math.nan, math.nan]),
    "diverging": _with(train_loss=[1.0, 0.45, 0.3, 0.6, 2.0, 5.0], val_loss=[0.9, 0.5, 0.35, 0.7, 2.2, 5.5]),
    "not_decreasing": _with(train_loss=[2.30, 2.29, 2.31, 2.30, 2.29, 2.30], val_loss=[2.30] * 6),
    "underfitting": _with(train_loss=[2.0, 1.8, 1.65, 1.55, 1.5, 1.48], val_loss=[2.0, 1.85, 1.7, 1.6, 1.55, 1.53]),
    "overfitting": _with(train_loss=[1.0, 0.5, 0.25, 0.12, 0.06, 0.03], val_loss=[0.9, 0.5, 0.4, 0.45, 0.55, 0.7]),
    "initial_loss": _with(step_loss=[31.0, 9.0, 3.0, 1.5]),
}
EPOCH = {"nonfinite": 4, "diverging": 4, "not_decreasing": 1, "underfitting": 6, "overfitting": 4, "initial_loss": 1}


def test_healthy_run_has_no_findings():
    assert diagnose(HEALTHY, num_classes=10) == []


@pytest.mark.parametrize("kind", sorted(SYNTHETIC))
def test_each_synthetic_history_gives_exactly_its_kind(kind):
    findings = diagnose(SYNTHETIC[kind], num_classes=10)
    assert [f.kind for f in findings] == [kind]
    assert findings[0].epoch == EPOCH[kind]
    assert findings[0].message


def test_every_kind_is_covered():
    assert set(SYNTHETIC) == set(KINDS)


def test_skipped_steps_are_nonfinite_but_the_trend_rules_still_run():
    history = _with(nonfinite_steps=[0, 0, 3, 3, 3, 3])
    findings = diagnose(history)
    assert [(f.kind, f.epoch) for f in findings] == [("nonfinite", 3)]
    assert "3 steps skipped" in findings[0].message


def test_initial_loss_needs_a_reference():
    assert diagnose(SYNTHETIC["initial_loss"]) == []  # no num_classes / expected: not checked
    assert [f.kind for f in diagnose(SYNTHETIC["initial_loss"], expected_initial_loss=30.0)] == []
    assert "scale the final layer" in diagnose(SYNTHETIC["initial_loss"], num_classes=10)[0].message


def test_overfitting_names_the_epoch_it_began():
    (finding,) = diagnose(SYNTHETIC["overfitting"])
    assert "from epoch 4" in finding.message and "epoch 3" in finding.message


def test_thresholds_change_the_verdict():
    history = SYNTHETIC["overfitting"]
    assert diagnose(history, thresholds=DiagnoseThresholds(overfit_rise=1.0)) == []  # 0.7 < 2 x 0.4


def test_reads_history_json_and_run_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    history = dict(SYNTHETIC["nonfinite"])
    history["train_loss"] = [None if math.isnan(v) else v for v in history["train_loss"]]  # as fit writes NaN
    history["val_loss"] = [None if math.isnan(v) else v for v in history["val_loss"]]
    (run / "history.json").write_text(json.dumps(history))
    expected = diagnose(SYNTHETIC["nonfinite"])
    assert diagnose(run) == expected
    assert diagnose(str(run / "history.json")) == expected


def test_a_real_fit_history(tmp_path, mlp, digits):
    model, params, loss_fn = mlp
    result = fit(
        make_state(model, params, optlab.adam(1e-2)), loss_fn, (digits.train.x, digits.train.y),
        (digits.val.x, digits.val.y), epochs=4, batch_size=32, run_dir=tmp_path / "run", progress=False,
        tensorboard=False, plot=False,
    )
    findings = diagnose(result.history, num_classes=10)
    assert diagnose(tmp_path / "run", num_classes=10) == findings
    assert findings == []  # 4 healthy epochs: loss from ~log 10 well down, validation following


@pytest.mark.parametrize(
    "history, match",
    [
        ({"val_loss": [1.0]}, "needs the key 'train_loss'"),
        ({"train_loss": []}, "empty"),
        ({"train_loss": [1.0, 0.5], "val_loss": [1.0]}, r"history\['val_loss'\] has 1 values"),
        ({"train_loss": ["a"]}, r"history\['train_loss'\] must be a list of numbers"),
        ({"train_loss": 1.0}, r"history\['train_loss'\] must be a list"),
        (3, "history must be"),
    ],
)
def test_bad_histories_are_named(history, match):
    with pytest.raises(ValueError, match=match):
        diagnose(history)


def test_missing_files_and_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="no history.json"):
        diagnose(tmp_path)
    (tmp_path / "history.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        diagnose(tmp_path)
    with pytest.raises(ValueError, match="num_classes"):
        diagnose(HEALTHY, num_classes=1)
    with pytest.raises(ValueError, match="diverge_ratio"):
        diagnose(HEALTHY, thresholds=DiagnoseThresholds(diverge_ratio=1.0))
