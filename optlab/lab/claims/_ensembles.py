"""Claim 12: ensembles (independent and snapshot) and Polyak averaging beat a single model by a little."""

from __future__ import annotations

from typing import Any, Mapping

from ._base import DID_NOT_HOLD, HELD, INCONCLUSIVE, Budget, Claim, Measurement

COMPARED = ("independent", "snapshot", "polyak")


def measure(budget: Budget) -> Measurement:
    from optlab.ensembles._experiment import FULL, QUICK, run_experiment, summary_figure

    config = budget.pick(QUICK, FULL)
    result = run_experiment(config)
    per_seed = result["per_seed"]
    numbers: dict[str, Any] = {"seeds": list(config.seeds), "epochs": config.epochs, "members": config.members,
                               "cycles": config.cycles, "batch_norm": config.batch_norm}
    for row in result["rows"]:
        method = row["method"]
        numbers[method] = {
            "accuracy_mean": row["accuracy_mean"], "accuracy_std": row["accuracy_std"],
            "nll_mean": row["nll_mean"], "nll_std": row["nll_std"],
            "nll_per_seed": [r[method]["nll"] for r in per_seed],
            "accuracy_per_seed": [r[method]["accuracy"] for r in per_seed],
        }
    return Measurement(numbers, summary_figure(result["rows"]))


def sub_verdict(numbers: Mapping[str, Any], method: str) -> str:
    """Paired over seeds: held when ``method``'s test NLL is below the single model's in every seed,
    did not hold when it is above in every seed, inconclusive when the seeds disagree."""
    single, other = numbers["single"]["nll_per_seed"], numbers[method]["nll_per_seed"]
    if all(o < s for o, s in zip(other, single)):
        return HELD
    if all(o > s for o, s in zip(other, single)):
        return DID_NOT_HOLD
    return INCONCLUSIVE


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when every compared method beats the single model (:func:`sub_verdict`); did not hold when
    one of them is worse in every seed; otherwise inconclusive."""
    parts = [sub_verdict(numbers, method) for method in COMPARED]
    if all(p == HELD for p in parts):
        return HELD
    if DID_NOT_HOLD in parts:
        return DID_NOT_HOLD
    return INCONCLUSIVE


CLAIM = Claim(
    id=12,
    title="ensembles",
    claim="Ensembles (independent and snapshot) and Polyak averaging beat a single model by a little.",
    rule="Digits CNN with BatchNorm, SGD momentum, same data split, 3 seeds (`python -m optlab ensemble`): "
    "single model (cosine decay), its Polyak/EMA weights (statistics recomputed), a snapshot ensemble "
    "(M=5 cosine cycles, same budget) and an independent ensemble (K=5, 5x the budget), scored by test "
    "NLL (360 test images: one image is 0.28% accuracy, too coarse to rank them). Per method, paired over "
    "seeds: better than the single model in every seed, worse in every seed, or mixed. Held when all "
    "three are better; did not hold when one of them is worse in every seed; inconclusive otherwise.",
    measure=measure,
    verdict=verdict,
)
