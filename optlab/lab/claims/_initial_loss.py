"""Claim 10: the initial loss of a C-class softmax classifier is about log C (log 10 = 2.30 on digits)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import jax
import jax.numpy as jnp

from optlab.models import DigitsCNN
from optlab.practice import check_initial_loss
from optlab.train import classifier_loss

from .._plots import new_figure
from ._base import DID_NOT_HOLD, HELD, INCONCLUSIVE, Budget, Claim, Measurement
from ._digits import digits

TOLERANCE = 0.25
SCALE = 100.0  # the control: the final layer initialized 100x too large


def _check(model: DigitsCNN, seed: int, scale: float = 1.0) -> float:
    data = digits()
    variables = model.init(jax.random.key(seed), jnp.zeros((1, 8, 8, 1)))
    params = dict(variables["params"])
    last = sorted(name for name in params if name.startswith("Dense"))[-1]
    params[last] = jax.tree.map(lambda w: scale * w, params[last])
    model_state = {"batch_stats": variables["batch_stats"]} if "batch_stats" in variables else None
    result = check_initial_loss(classifier_loss(model.apply), params, data.train.x, data.train.y,
                                num_classes=10, tolerance=TOLERANCE, model_state=model_state)
    return result.loss


def measure(budget: Budget) -> Measurement:
    seeds = list(range(budget.pick(1, 5)))
    fresh = [_check(DigitsCNN(), s) for s in seeds] + [_check(DigitsCNN(batch_norm=True), s) for s in seeds]
    labels = [f"CNN seed {s}" for s in seeds] + [f"BN-CNN seed {s}" for s in seeds]
    control = _check(DigitsCNN(), 0, SCALE)
    expected = math.log(10)
    numbers = {
        "expected": expected, "tolerance": TOLERANCE, "models": labels, "initial_losses": fresh,
        "relative_errors": [abs(v - expected) / expected for v in fresh],
        "control_final_layer_scale": SCALE, "control_initial_loss": control,
        "control_relative_error": abs(control - expected) / expected,
    }
    fig, (ax,) = new_figure(1, 6.0, 3.5)
    ax.plot(range(len(fresh)), fresh, "o", color="tab:blue", label="fresh init")
    ax.plot([len(fresh)], [control], "s", color="tab:red", label=f"final layer x{SCALE:g}")
    ax.axhline(expected, color="k", lw=1, label="log 10")
    ax.axhspan(expected * (1 - TOLERANCE), expected * (1 + TOLERANCE), color="k", alpha=0.1)
    ax.set_xticks(range(len(fresh) + 1), labels + ["control"], rotation=45, ha="right", fontsize=7)
    ax.set(yscale="log", ylabel="initial loss (train set)", title="initial loss of the digits CNN")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Measurement(numbers, fig)


def verdict(numbers: Mapping[str, Any]) -> str:
    """Held when every fresh initialization is within the tolerance of log 10 and the x100 control
    is not (the check tells them apart); did not hold when no fresh one is; else inconclusive."""
    within = [e <= numbers["tolerance"] for e in numbers["relative_errors"]]
    if not any(within):
        return DID_NOT_HOLD
    if all(within) and numbers["control_relative_error"] > numbers["tolerance"]:
        return HELD
    return INCONCLUSIVE


CLAIM = Claim(
    id=10,
    title="initial-loss",
    claim="The initial loss of a C-class classifier is about log C (log 10 = 2.30 on digits).",
    rule=f"optlab.practice.check_initial_loss on the 1077 training digits for fresh DigitsCNN inits (with "
    f"and without BatchNorm, several seeds): held when every one is within {TOLERANCE:.0%} of log 10 and "
    f"a final layer scaled x{SCALE:g} (the control) is not; did not hold when none is; else inconclusive.",
    measure=measure,
    verdict=verdict,
)
