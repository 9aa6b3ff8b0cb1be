import argparse
import json
import os

import pytest
from PIL import Image

from optlab.lab import _compare


def parse(argv):
    parser = argparse.ArgumentParser()
    _compare.add_arguments(parser)
    return parser.parse_args(argv)


def test_compare_runs_and_writes_outputs(tmp_path, capsys):
    run_dir = str(tmp_path / "cmp")
    args = parse(["--rules", "adam,sgd", "--epochs", "2", "--lr", "adam=0.005", "--run-dir", run_dir, "--no-progress"])
    assert _compare.run(args) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith(("adam ", "sgd "))]
    assert len(lines) == 2 and "0.005" in lines[0]
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    assert [row["rule"] for row in summary] == ["adam", "sgd"]
    assert summary[0]["lr"] == 0.005 and summary[1]["lr"] == _compare.DEFAULT_LRS["sgd"]
    assert all(0.5 < row["test_accuracy"] <= 1.0 and row["best_epoch"] in (1, 2) for row in summary)
    for path in (os.path.join(run_dir, "compare.png"), os.path.join(run_dir, "adam", "curves.png")):
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 0
    assert os.listdir(os.path.join(run_dir, "sgd", "tensorboard"))


def test_every_rule_has_a_default_lr():
    assert set(_compare.DEFAULT_LRS) == set(_compare.RULES)


@pytest.mark.parametrize("item", ["adam", "bogus=1", "adam=x", "adam=-1"])
def test_bad_lr_items_rejected(item):
    with pytest.raises(ValueError, match="--lr"):
        _compare.parse_lrs([item])


def test_bad_rules_rejected():
    with pytest.raises(ValueError, match="--rules must be a comma-separated subset"):
        _compare.parse_rules("adam,lion")
    assert _compare.parse_rules(" adam , sgd") == ["adam", "sgd"]
