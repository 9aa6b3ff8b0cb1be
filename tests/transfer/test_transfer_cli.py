"""``python -m optlab transfer``: the quick run writes its table, JSON and PNG; bad options exit 2."""

import json

from optlab.cli import main
from optlab.transfer._experiment import METHODS


def test_quick_run_writes_table_json_and_png(tmp_path, capsys):
    assert main(["transfer", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| scratch |" in out and "transfer.png" in out
    numbers = json.loads((tmp_path / "transfer.json").read_text())
    assert set(numbers["accuracy"]) == set(METHODS)
    assert all(0.0 <= a <= 1.0 for m in METHODS for a in numbers["accuracy"][m]["5"])
    assert (tmp_path / "transfer.png").read_bytes()[:4] == b"\x89PNG"
    assert "| layer-wise lr decay |" in (tmp_path / "transfer.md").read_text()


def test_bad_option_is_one_line_and_status_2(tmp_path, capsys):
    assert main(["transfer", "--seeds", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds must be >= 1, got 0" in err
