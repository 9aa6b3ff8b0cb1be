"""optlab on 8 simulated CPU devices: one worker subprocess (``_eight_devices.py``) measures,
these tests assert. The worker runs with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``
in its own environment, so this file runs inside the ordinary ``pytest`` invocation."""

import json

import pytest
from _common import run_worker

TOL = 1e-5  # float32 sums in another order on 8 devices


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    out = tmp_path_factory.mktemp("eight") / "result.json"
    done = run_worker("_eight_devices.py", str(out), devices=8, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(out.read_text())


def _same_as_one_device(row):
    assert row["params_diff"] < TOL and row["ema_diff"] < TOL, row
    assert row["train_loss_diff"] < TOL * 10 and row["val_loss_diff"] < TOL * 10, row


def test_dp_and_fsdp_on_8_devices_match_one_device_for_auto_and_explicit_axes(measured):
    rows = measured["equivalence"] + measured["first_half"]
    seen = {(r["mesh"], r["axis_types"], r["strategy"], r["state"]) for r in rows}
    assert {("(8,)", "AxisType.Auto", "dp", "TrainState"), ("(8,)", "AxisType.Auto", "fsdp", "TrainState"),
            ("(8,)", "AxisType.Explicit", "fsdp", "TrainState"), ("(4, 2)", "AxisType.Explicit", "fsdp", "FlatTrainState"),
            ("(8,)", "AxisType.Explicit", "dp", "FlatTrainState")} <= seen
    for row in rows:
        _same_as_one_device(row)
        assert row["devices"] == 8 and row["epochs"] == [1, 2]


def test_fsdp_splits_params_and_dp_replicates_them(measured):
    rows = {(r["mesh"], r["strategy"], r["state"]): r["param_specs"] for r in measured["equivalence"] + measured["first_half"]}
    assert rows[("(8,)", "fsdp", "TrainState")] == {"w1": "P(None, 'data')", "w2": "P('data',)", "b1": "P('data',)", "odd": "P()"}
    assert rows[("(8,)", "dp", "TrainState")] == {k: "P()" for k in ("w1", "w2", "b1", "odd")}
    assert rows[("(4, 2)", "fsdp", "FlatTrainState")] == {"float32": "P(('data', 'model'),)"}


def test_optimizer_state_follows_params_after_init_update_and_restore_for_every_rule(measured):
    rules = measured["rules"]
    assert len({r["rule"].split("/")[0] for r in rules}) >= 7 and {r["rule"].split("/")[1] for r in rules} == {"TrainState", "FlatTrainState"}
    for row in rules:
        for when in ("init", "update", "restore"):
            # opt_state's parameter-shaped parts + EMA + SWA, each with the parameters' shardings
            assert row[when]["bad"] == [] and row[when]["mirrored"] >= 2, (row["rule"], when, row[when])
            assert row[when]["scalars_replicated"] and row[when]["scalars"] >= 3, (row["rule"], when)
        assert row["restore_diff"] == 0.0
    mirrored = {row["rule"]: row["update"]["mirrored"] for row in rules}
    assert mirrored["adam/TrainState"] == mirrored["adam/FlatTrainState"] == 4  # mu, nu, EMA, SWA
    assert mirrored["sgd/TrainState"] == 2  # EMA, SWA
    assert measured["rules_step_compiles"] == 1  # two steps, one compilation: no sharding drift


def test_fit_step_compiles_once(measured):
    assert [r["train_step_compiles"] for r in measured["first_half"]] == [1, 1]


def test_default_rule_threshold_fallback_report_and_path_rules(measured):
    fallback = measured["fallback"]
    assert fallback["default"] == {"tall": "P('data',)", "wide": "P(None, 'data')", "small": "P('data',)",
                                   "odd": "P()", "scalar": "P()"}
    assert fallback["threshold_100_bytes"]["small"] == "P()"  # 32 bytes: under the threshold
    assert fallback["unsharded"] == ["params/odd (5, 7)"]
    assert any("params/odd (5, 7)" in w and "8 devices" in w for w in fallback["warnings"])
    assert fallback["ruled"]["tall"] == "P()" and fallback["ruled"]["wide"] == "P(None, 'data')"


def test_flat_state_fsdp_padding_stays_zero_and_outside_clipping(measured):
    padding = measured["padding"]
    assert padding["size"] % 8 == 0 and padding["size"] > padding["used"] and padding["spec"] == "P('data',)"
    assert padding["padding_max_abs"] == 0.0
    assert padding["params_diff"] < TOL and padding["ema_diff"] < TOL
    flat = [r for r in measured["first_half"] if r["state"] == "FlatTrainState"][0]
    assert flat["padding_max_abs"] == 0.0 and flat["padded_size"] % 8 == 0


def test_checkpoint_from_8_devices_resumes_on_4x2_4_2_and_1(measured):
    rows = measured["checkpoints"]
    assert {(r["state"], r["target"]) for r in rows} == {
        ("TrainState", "(4,2)"), ("TrainState", "4"), ("TrainState", "2"), ("TrainState", "1 (mesh=None)"),
        ("FlatTrainState", "(4,2)"), ("FlatTrainState", "1")}
    for row in rows:
        _same_as_one_device(row)
        assert row["epochs"] == [1, 2, 3, 4] and row["bad"] == [] and row["scalars_replicated"]
    assert {r["target"]: r["devices"] for r in rows if r["state"] == "TrainState"} == {"(4,2)": 8, "4": 4, "2": 2, "1 (mesh=None)": 1}


def test_fit_refuses_bad_mesh_strategy_batch_and_rules(measured):
    errors = measured["errors"]
    assert "batch_size" in errors["batch_size"] and "8 devices" in errors["batch_size"] and "12" in errors["batch_size"]
    assert "strategy" in errors["strategy"] and "'tp'" in errors["strategy"]
    assert errors["mesh"].startswith("mesh must be a jax.sharding.Mesh")
    assert "rules" in errors["rule"] and "'model'" in errors["rule"]


def test_fit_on_a_mesh_leaves_the_callers_state_alone(measured):
    assert measured["caller_state"] == {"unchanged": 0.0, "two_calls": 0.0}
