"""``python -m optlab diagnose`` and ``python -m optlab lr-find``."""

import json

from optlab.cli import main

OVERFIT = {
    "epoch": [1, 2, 3, 4, 5], "train_loss": [1.0, 0.5, 0.25, 0.12, 0.06],
    "val_loss": [0.9, 0.5, 0.4, 0.5, 0.7], "step_loss": [2.3, 1.5],
}


def test_diagnose_prints_the_findings(tmp_path, capsys):
    (tmp_path / "history.json").write_text(json.dumps(OVERFIT))
    assert main(["diagnose", str(tmp_path), "--num-classes", "10"]) == 0
    out = capsys.readouterr().out
    assert "5 epochs, train loss 1 -> 0.06" in out
    assert "epoch   4  overfitting" in out


def test_diagnose_of_a_healthy_run_says_so(tmp_path, capsys):
    healthy = {**OVERFIT, "val_loss": [0.9, 0.5, 0.4, 0.35, 0.33]}
    (tmp_path / "history.json").write_text(json.dumps(healthy))
    assert main(["diagnose", str(tmp_path / "history.json")]) == 0
    out = capsys.readouterr().out
    assert "no findings" in out and "initial loss not checked" in out


def test_diagnose_of_a_missing_run_is_one_line_and_status_2(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no history.json" in err and "Traceback" not in err


def test_lr_find_writes_png_and_json(tmp_path, capsys):
    out_dir = tmp_path / "lr"
    args = ["lr-find", "--rule", "sgd", "--out", str(out_dir), "--start-lr", "1e-3", "--end-lr", "1e3",
            "--num-steps", "30", "--beta", "0.9", "--batch-size", "64"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "valley" in out and str(out_dir / "lr_find.png") in out
    assert (out_dir / "lr_find.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((out_dir / "lr_find.json").read_text())
    assert saved["rule"] == "sgd" and len(saved["learning_rates"]) == len(saved["losses"]) <= 30
    assert set(saved["suggestions"]) == {"valley", "steepest", "minimum"}


def test_lr_find_bad_options_are_one_line_and_status_2(tmp_path, capsys):
    assert main(["lr-find", "--rule", "lion", "--out", str(tmp_path)]) == 2
    assert "--rule must be one of" in capsys.readouterr().err
    assert main(["lr-find", "--start-lr", "1", "--end-lr", "0.1", "--out", str(tmp_path)]) == 2
    assert "start_lr must be < end_lr" in capsys.readouterr().err
