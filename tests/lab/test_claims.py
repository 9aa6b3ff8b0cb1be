"""Each claim's verdict is a pure function of its numbers: crafted numbers give each verdict."""

import json

import pytest

from optlab.lab.claims import CLAIMS, DID_NOT_HOLD, HELD, INCONCLUSIVE, NOT_MEASURED
from optlab.lab.claims import _adagrad, _adam_bias, _early_stopping, _lr_sweep, _nesterov, _ravine, _saddle
from optlab.lab.claims import _schedules, _staircase
from optlab.lab.claims import _initial_loss, _overfit_subset
from optlab.lab.claims import _transfer
from optlab.lab.claims import _ensembles
from optlab.lab.claims._base import both, jsonable


def ravine(sgd, momentum, flips):
    return {"sgd_steps_to_1e-6": sgd, "momentum_steps_to_1e-6": momentum, "sgd_steep_sign_flips_in_first_20": flips}


def saddle(sgd_steps, momentum_steps, sgd_better, momentum_better):
    return {"saddle_sgd_steps_past_saddle": sgd_steps, "saddle_momentum_steps_past_saddle": momentum_steps,
            "local_sgd_runs_in_better_minimum": sgd_better, "local_momentum_runs_in_better_minimum": momentum_better}


def adagrad(a0, a1, a_loss, r0, r1, r_loss):
    return {"adagrad_effective_step_at_10": a0, "adagrad_effective_step_at_end": a1, "adagrad_final_loss": a_loss,
            "rmsprop_effective_step_at_10": r0, "rmsprop_effective_step_at_end": r1, "rmsprop_final_loss": r_loss}


def schedules(constant, best_other):
    numbers = {"test_size": 360, "constant_final_test_accuracy": constant}
    numbers.update({f"{n}_final_test_accuracy": 0.5 for n in ("step", "cosine", "linear", "exponential")})
    numbers["cosine_final_test_accuracy"] = best_other
    return numbers


def ensembles(independent, snapshot, polyak, single=(0.05, 0.06)):
    """Test NLL per seed of each method (the verdict reads only these)."""
    per = {"single": single, "independent": independent, "snapshot": snapshot, "polyak": polyak}
    return {name: {"nll_per_seed": list(values)} for name, values in per.items()}


CASES = [
    (_ravine.verdict, ravine(248, 162, 20), HELD),
    (_ravine.verdict, ravine(None, 500, 15), HELD),
    (_ravine.verdict, ravine(150, 162, 20), DID_NOT_HOLD),  # momentum slower
    (_ravine.verdict, ravine(248, 162, 3), DID_NOT_HOLD),  # no jitter
    (_ravine.verdict, ravine(248, None, 20), DID_NOT_HOLD),
    (_saddle.verdict, saddle(47, 17, 0, 5), HELD),
    (_saddle.verdict, saddle(None, 40, 0, 1), HELD),
    (_saddle.verdict, saddle(17, 47, 2, 0), DID_NOT_HOLD),
    (_saddle.verdict, saddle(47, 17, 3, 5), INCONCLUSIVE),  # saddle part held, SGD also left the poor minimum
    (_nesterov.verdict, {"ravine30_nesterov_wins": True, "rosenbrock_nesterov_wins": True}, HELD),
    (_nesterov.verdict, {"ravine30_nesterov_wins": False, "rosenbrock_nesterov_wins": False}, DID_NOT_HOLD),
    (_nesterov.verdict, {"ravine30_nesterov_wins": True, "rosenbrock_nesterov_wins": False}, INCONCLUSIVE),
    (_adagrad.verdict, adagrad(0.1, 0.002, 0.8, 0.3, 2.0, 0.0), HELD),
    (_adagrad.verdict, adagrad(0.1, 0.05, 0.8, 0.3, 2.0, 0.0), DID_NOT_HOLD),  # AdaGrad's step did not shrink
    (_adagrad.verdict, adagrad(0.1, 0.002, 1e-5, 0.3, 2.0, 0.0), DID_NOT_HOLD),  # AdaGrad got there
    (_adagrad.verdict, adagrad(0.1, 0.002, 0.8, 0.3, 0.01, 0.0), DID_NOT_HOLD),  # RMSProp's step shrank
    (_adam_bias.verdict, {"first_step_ratio": 3.16}, HELD),
    (_adam_bias.verdict, {"first_step_ratio": 1.0}, DID_NOT_HOLD),
    (_staircase.verdict, {"log_loss_drop_at_decays": [1.1, 0.35], "log_loss_drop_half_epoch_before": [-0.3, 0.1]}, HELD),
    (_staircase.verdict, {"log_loss_drop_at_decays": [0.05, 0.2], "log_loss_drop_half_epoch_before": [0.0, 0.15]}, DID_NOT_HOLD),
    (_staircase.verdict, {"log_loss_drop_at_decays": [1.1, 0.05], "log_loss_drop_half_epoch_before": [0.1, 0.0]}, INCONCLUSIVE),
    (_schedules.verdict, schedules(0.950, 0.9556), HELD),
    (_schedules.verdict, schedules(0.950, 0.9444), DID_NOT_HOLD),
    (_schedules.verdict, schedules(0.950, 0.950), INCONCLUSIVE),
    (_lr_sweep.verdict, {"initial_loss": 33.0, "final_losses": [7.4, 0.1, 1e-9, "inf"]}, HELD),
    (_lr_sweep.verdict, {"initial_loss": 33.0, "final_losses": [7.4, 0.1, 1e-9, "nan"]}, HELD),
    (_lr_sweep.verdict, {"initial_loss": 33.0, "final_losses": [7.4, 0.1, 1e-9, 1e-3]}, DID_NOT_HOLD),  # no blow-up
    (_lr_sweep.verdict, {"initial_loss": 33.0, "final_losses": [0.2, 0.1, 1e-9, "inf"]}, DID_NOT_HOLD),  # no crawl
    (_lr_sweep.verdict, {"initial_loss": 33.0, "final_losses": [7.4, 0.1, 1e-3, "inf"]}, DID_NOT_HOLD),
    (_early_stopping.verdict, {"epochs": 30, "best_epoch": 15, "best_snapshot_test_loss": 0.36, "last_epoch_test_loss": 0.47}, HELD),
    (_early_stopping.verdict, {"epochs": 30, "best_epoch": 15, "best_snapshot_test_loss": 0.5, "last_epoch_test_loss": 0.47}, DID_NOT_HOLD),
    (_early_stopping.verdict, {"epochs": 30, "best_epoch": 30, "best_snapshot_test_loss": 0.3, "last_epoch_test_loss": 0.3}, INCONCLUSIVE),
    (_initial_loss.verdict, {"tolerance": 0.25, "relative_errors": [0.001, 0.004], "control_relative_error": 8.6}, HELD),
    (_initial_loss.verdict, {"tolerance": 0.25, "relative_errors": [0.9, 1.3], "control_relative_error": 8.6}, DID_NOT_HOLD),
    (_initial_loss.verdict, {"tolerance": 0.25, "relative_errors": [0.001, 0.6], "control_relative_error": 8.6}, INCONCLUSIVE),
    (_initial_loss.verdict, {"tolerance": 0.25, "relative_errors": [0.001, 0.004], "control_relative_error": 0.1}, INCONCLUSIVE),
    (_overfit_subset.verdict, {"correct_passed": True, "shuffled_labels_passed": False, "lr_zero_passed": False}, HELD),
    (_overfit_subset.verdict, {"correct_passed": False, "shuffled_labels_passed": False, "lr_zero_passed": False}, DID_NOT_HOLD),
    (_overfit_subset.verdict, {"correct_passed": True, "shuffled_labels_passed": True, "lr_zero_passed": False}, INCONCLUSIVE),
    (_overfit_subset.verdict, {"correct_passed": True, "shuffled_labels_passed": False, "lr_zero_passed": True}, INCONCLUSIVE),
    (_transfer.verdict, {"differences": [0.0, 0.067, 0.05], "margin": 0.01}, HELD),
    (_transfer.verdict, {"differences": [-0.02, 0.01, -0.01], "margin": 0.01}, DID_NOT_HOLD),
    (_transfer.verdict, {"differences": [-0.01, 0.05, 0.04], "margin": 0.01}, INCONCLUSIVE),  # one seed lost
    (_transfer.verdict, {"differences": [0.005, 0.0, 0.004], "margin": 0.01}, INCONCLUSIVE),  # gain too small
    (_transfer.verdict, {"differences": [-0.05], "margin": 0.01}, INCONCLUSIVE),  # one seed (quick budget)
    (_ensembles.verdict, ensembles([0.04, 0.03], [0.045, 0.05], [0.049, 0.059]), HELD),
    (_ensembles.verdict, ensembles([0.04, 0.03], [0.06, 0.07], [0.049, 0.059]), DID_NOT_HOLD),  # snapshots worse
    (_ensembles.verdict, ensembles([0.04, 0.06], [0.045, 0.05], [0.049, 0.059]), INCONCLUSIVE),  # seeds disagree
    (_ensembles.verdict, ensembles([0.05, 0.06], [0.05, 0.059], [0.049, 0.0585]), INCONCLUSIVE),  # ties are not wins
]


@pytest.mark.parametrize("verdict, numbers, expected", CASES,
                         ids=[f"{f.__module__.rsplit('.', 1)[-1]}-{e}-{i}" for i, (f, _, e) in enumerate(CASES)])
def test_verdict_on_crafted_numbers(verdict, numbers, expected):
    assert verdict(numbers) == expected


def test_every_measured_claim_has_held_and_did_not_hold_cases():
    tested = {(f, e) for f, _, e in CASES}
    for claim in CLAIMS:
        if claim.measure is not None:
            assert (claim.verdict, HELD) in tested and (claim.verdict, DID_NOT_HOLD) in tested, claim.id


def test_registry_ids_rules_and_not_measured_entries():
    ids = [c.id for c in CLAIMS]
    assert ids == list(range(1, len(CLAIMS) + 1)) and len(CLAIMS) >= 13
    assert len({c.title for c in CLAIMS}) == len(CLAIMS)
    for claim in CLAIMS:
        assert claim.claim
        if claim.measure is None:
            assert claim.verdict is None and claim.needs  # "not measured" says what it waits for
        else:
            assert claim.rule and callable(claim.verdict) and not claim.needs
    assert NOT_MEASURED not in (HELD, DID_NOT_HOLD, INCONCLUSIVE)


def test_both_combines_two_parts():
    assert both(HELD, HELD) == HELD
    assert both(DID_NOT_HOLD, DID_NOT_HOLD) == DID_NOT_HOLD
    assert both(HELD, DID_NOT_HOLD) == INCONCLUSIVE


def test_jsonable_makes_strict_json():
    import numpy as np

    value = jsonable({"a": np.float32(1.5), "b": [np.int64(2), float("inf"), float("nan")], "c": None, "d": np.bool_(True)})
    assert value == {"a": 1.5, "b": [2, "inf", "nan"], "c": None, "d": True}
    json.dumps(value, allow_nan=False)
