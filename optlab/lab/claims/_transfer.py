"""Claim 13: with few labels, transfer from a pretrained model beats training from scratch."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ._base import DID_NOT_HOLD, HELD, INCONCLUSIVE, Budget, Claim, Measurement

MARGIN = 0.01  # one point of test accuracy
MIN_SEEDS = 3


def numbers_of(result: Any) -> dict[str, Any]:
    """The claim's numbers from an :class:`optlab.transfer.ExperimentResult`: every accuracy, and at
    the smallest n the per-seed difference fine-tuning minus scratch."""
    n = min(result.ns)
    scratch = result.accuracy["scratch"][str(n)]
    fine = result.accuracy["fine-tuning"][str(n)]
    return {
        "ns": list(result.ns), "seeds": list(result.seeds), "accuracy": result.accuracy,
        "pretrain_accuracy": result.pretrain_accuracy, "smallest_n": n, "margin": MARGIN,
        "scratch_mean": float(np.mean(scratch)), "fine_tuning_mean": float(np.mean(fine)),
        "differences": [f - s for f, s in zip(fine, scratch)],
    }


def measure(budget: Budget) -> Measurement:
    from matplotlib.figure import Figure

    from optlab.transfer import run_experiment

    result = run_experiment(ns=budget.pick((5,), (5, 10, 50)), seeds=budget.pick((0,), (0, 1, 2)),
                            quick=budget.quick, log=None)
    fig = Figure(figsize=(6.0, 4.0))
    result.draw(fig.add_subplot())
    fig.tight_layout()
    return Measurement(numbers_of(result), fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """At the smallest n, with ``d`` the per-seed accuracy of fine-tuning minus scratch: inconclusive
    with fewer than 3 seeds (the quick budget's one seed shows no spread); held when
    ``mean(d) >= margin`` and no seed has ``d < 0``; did not hold when ``mean(d) <= 0``; else
    inconclusive (a small or seed-dependent gain)."""
    d = np.asarray(numbers["differences"], np.float64)
    if len(d) < MIN_SEEDS:
        return INCONCLUSIVE
    if d.mean() <= 0.0:
        return DID_NOT_HOLD
    if d.mean() >= numbers["margin"] and (d >= 0).all():
        return HELD
    return INCONCLUSIVE


CLAIM = Claim(
    id=13,
    title="transfer",
    claim="With few labels, transfer from a pretrained model beats training from scratch.",
    rule="optlab.transfer.run_experiment: the digits CNN pretrained on digits 0-4, then classes 5-9 "
    "learnt from n = 5, 10, 50 labelled images per class (3 seeds), same number of Adam steps for "
    "every method. At n = 5, d = test accuracy of fine-tuning (two-stage, transferred convolutions "
    f"at lr/10) minus scratch, per seed: held when mean(d) >= {MARGIN:g} and d >= 0 on every seed; "
    "did not hold when mean(d) <= 0; inconclusive otherwise, and with fewer than 3 seeds (--quick). Feature extraction and layer-wise lr "
    "decay are reported alongside.",
    measure=measure,
    verdict=verdict,
)
