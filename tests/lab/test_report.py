"""`python -m optlab report --quick`: every section, every figure, valid claims.json, same numbers twice."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
from PIL import Image

from optlab import cli
from optlab.lab._report import run_report
from optlab.lab.claims import CLAIMS, NOT_MEASURED, not_measured

ROOT = pathlib.Path(__file__).resolve().parents[2]
VERDICTS = {"held", "did not hold", "inconclusive", NOT_MEASURED}


def _strict_json(path):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    with open(path) as f:
        return json.load(f, parse_constant=refuse)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """One `report --quick` through the command line, in a fresh process."""
    out = tmp_path_factory.mktemp("report")
    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(ROOT / ".jax_cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0.5")
    result = subprocess.run([sys.executable, "-m", "optlab", "report", "--quick", "--out", str(out)],
                            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_quick_report_writes_every_section_and_image(quick_report):
    out, stdout = quick_report
    assert f"wrote {out / 'report.md'}" in stdout and f"[{len(CLAIMS)}/{len(CLAIMS)}]" in stdout
    data = _strict_json(out / "claims.json")
    entries = data["claims"]
    assert data["budget"] == "quick" and [e["id"] for e in entries] == [c.id for c in CLAIMS]
    markdown = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for entry, claim in zip(entries, CLAIMS):
        assert set(entry) >= {"id", "claim", "numbers", "rule", "verdict", "figure"}
        assert entry["verdict"] in VERDICTS and entry["claim"] == claim.claim
        assert f"## {claim.id}. {claim.title}: {entry['verdict']}" in markdown
        if claim.measure is None:
            assert entry["verdict"] == NOT_MEASURED and entry["numbers"] == {} and entry["figure"] is None
            continue
        assert entry["verdict"] != NOT_MEASURED and entry["numbers"] and entry["rule"] == claim.rule
        assert entry["verdict"] == claim.verdict(entry["numbers"])  # computed from the numbers written
        with Image.open(out / entry["figure"]) as image:
            assert image.format == "PNG" and image.size[0] > 100
        assert f"]({entry['figure']})" in markdown
    # Self-contained: every image is embedded, nothing is loaded from elsewhere.
    images = re.findall(r"<img [^>]*src='([^']*)'", html)
    assert len(images) == sum(e["figure"] is not None for e in entries)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "href=" not in html and "<script" not in html


# Claims whose experiments have their own two-runs-agree tests (tests/ensembles, tests/transfer):
# rerunning them here would double the suite's most expensive minute and test nothing new.
SEPARATELY_REPRODUCED = {12, 13}


def test_two_quick_runs_give_the_same_numbers(quick_report, tmp_path):
    out, _ = quick_report
    again = [c.id for c in CLAIMS if c.id not in SEPARATELY_REPRODUCED]
    run_report(str(tmp_path), quick=True, only=again, progress=None)
    first, second = _strict_json(out / "claims.json"), _strict_json(tmp_path / "claims.json")
    assert [(e["id"], e["numbers"], e["verdict"]) for e in first["claims"] if e["id"] in again] == [
        (e["id"], e["numbers"], e["verdict"]) for e in second["claims"]
    ]


def test_report_only_some_claims(tmp_path, capsys):
    assert cli.main(["report", "--quick", "--only", "5", "--out", str(tmp_path)]) == 0
    assert [e["id"] for e in _strict_json(tmp_path / "claims.json")["claims"]] == [5]
    assert str(tmp_path / "report.html") in capsys.readouterr().out


def test_a_claim_without_its_parts_is_not_measured_never_faked(tmp_path):
    five = next(c for c in CLAIMS if c.id == 5)
    future = not_measured(99, "future", "A claim whose parts are still to come.", needs="optlab.future")
    run_report(str(tmp_path), quick=True, claims=(five, future), progress=None)
    entries = _strict_json(tmp_path / "claims.json")["claims"]
    assert entries[1] == {**entries[1], "id": 99, "verdict": NOT_MEASURED, "numbers": {}, "figure": None,
                          "needs": "optlab.future"}
    assert entries[0]["verdict"] in ("held", "did not hold", "inconclusive")
    markdown = (tmp_path / "report.md").read_text()
    assert "## 99. future: not measured" in markdown and "needs `optlab.future`" in markdown
    assert "1 not measured" in markdown


@pytest.mark.parametrize("only, message", [("99", "no claim with id [99]"), ("a,b", "--only must be comma-separated")])
def test_report_bad_only_is_a_one_line_error(only, message, tmp_path, capsys):
    assert cli.main(["report", "--only", only, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_lab_api_is_explicit_and_the_heavy_parts_load_lazily():
    import optlab.lab

    for name in optlab.lab.__all__:
        assert getattr(optlab.lab, name) is not None, name
    assert optlab.lab.run_report is run_report
    code = "import sys, optlab.lab; print('matplotlib' in sys.modules, 'flax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("command", [["report", "--only", "5"], ["race", "--steps", "10"], ["schedules"]])
def test_unwritable_out_is_a_one_line_error(command, capsys):
    assert cli.main([*command, "--out", "/proc/optlab-cannot-write-here"]) == 2
    err = capsys.readouterr().err
    assert "optlab-cannot-write-here" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
