"""The ``ensemble`` command end to end (--quick), and the experiment's pieces on crafted numbers."""

import json
import math
import os

import pytest

from optlab.cli import main
from optlab.ensembles._experiment import METHODS, QUICK, Config, check_config, format_table, summarize


def test_ensemble_quick_writes_the_table_json_and_png(tmp_path, capsys):
    out = tmp_path / "ens"
    assert main(["ensemble", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "independent ensemble" in printed.out and "snapshot ensemble" in printed.out and str(out) in printed.out
    assert "seed 1: independent ensemble" in printed.err  # progress, one line per method and seed
    results = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in results["rows"]] == list(METHODS)
    assert len(results["per_seed"]) == len(QUICK.seeds)
    for row in results["rows"]:
        assert 0.5 < row["accuracy_mean"] <= 1.0 and 0.0 < row["nll_mean"] < math.log(10) and row["seconds_first"] > 0
    assert (out / "table.txt").read_text().strip() == printed.out.split("\n\n(")[0].strip()
    assert (out / "ensembles.png").stat().st_size > 1000


def test_summary_is_mean_and_sample_std_over_seeds():
    per_seed = [{m: {"accuracy": a, "nll": n, "seconds": 1.0} for m in METHODS} for a, n in ((0.9, 0.3), (0.95, 0.2))]
    rows = summarize(per_seed)
    assert rows[0]["accuracy_mean"] == pytest.approx(0.925) and rows[0]["accuracy_std"] == pytest.approx(0.0353553, rel=1e-5)
    assert rows[0]["nll_mean"] == pytest.approx(0.25)
    assert math.isnan(summarize(per_seed[:1])[0]["nll_std"])
    assert "0.9250 +- 0.0354" in format_table(rows, QUICK)


@pytest.mark.parametrize(("change", "name"), [({"seeds": (1, 1)}, "seeds"), ({"cycles": 3}, "multiple of cycles"),
                                               ({"members": 0}, "members"), ({"lr": 0.0}, "lr")])
def test_bad_settings_are_refused(change, name):
    with pytest.raises(ValueError, match=name):
        check_config(Config()._replace(**change))


def test_bad_options_end_with_one_line_and_status_2(tmp_path, capsys):
    assert main(["ensemble", "--quick", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["ensemble", "--quick", "--out", os.path.join(str(blocker), "sub")]) == 2
