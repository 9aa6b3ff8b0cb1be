"""What do the learning curves say? (the lecture: "poor initialization or over/under/right-fitting").

Rules on ``fit``'s history (per-epoch ``train_loss``, optional ``val_loss``, ``nonfinite_steps``,
``epoch`` and per-step ``step_loss``). With ``t_e`` the training loss of epoch ``e``, ``v_e`` the
validation loss, ``L_0`` the first step's loss (``step_loss[0]``, else ``t_1``) and ``T`` the
:class:`DiagnoseThresholds`:

- ``nonfinite``: the first epoch whose ``t_e`` or ``v_e`` is NaN/inf, or in which steps were
  skipped for a non-finite loss/gradient (``nonfinite_steps`` grew). The trend rules below look
  only at the epochs before the first non-finite loss.
- ``initial_loss`` (only with ``num_classes`` or ``expected_initial_loss``): ``|L_0 - log C| /
  log C > T.initial_loss_tolerance`` (the check of :func:`check_initial_loss`).
- ``diverging``: the last ``t_e`` is above ``T.diverge_ratio`` x the best ``t_e``; the epoch is
  the first with ``t_e > T.diverge_ratio * min(t_1..t_{e-1})``.
- ``not_decreasing``: the best ``t_e`` fell less than ``T.min_decrease`` (relative) below ``L_0``.
- ``underfitting``: it fell by more than that but the best ``t_e`` is still above
  ``T.underfit_fraction * L_0`` (and the run is not diverging).
- ``overfitting``: the last ``v_e`` is above ``(1 + T.overfit_rise)`` x the best ``v_e`` while the
  training loss kept falling after the best validation epoch; the epoch is the first after it.

The trend rules need at least two finite epochs.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .._checks import int_at_least, positive

KINDS = ("nonfinite", "initial_loss", "diverging", "not_decreasing", "underfitting", "overfitting")


class Finding(NamedTuple):
    """One diagnosis: ``kind`` (one of ``KINDS``), the 1-based ``epoch`` where it shows (or
    begins), and a one-line ``message`` with the numbers and what to try."""

    kind: str
    epoch: int
    message: str


class DiagnoseThresholds(NamedTuple):
    """The thresholds of :func:`diagnose` (see the module docstring for the rules)."""

    initial_loss_tolerance: float = 0.25
    diverge_ratio: float = 1.5
    min_decrease: float = 0.1
    underfit_fraction: float = 0.5
    overfit_rise: float = 0.1


def _column(history: Mapping[str, Any], key: str) -> np.ndarray:
    values = history[key]
    if not isinstance(values, (list, tuple, np.ndarray)):
        raise ValueError(f"history[{key!r}] must be a list of numbers, got {type(values).__name__}")
    try:
        return np.array([math.nan if v is None else float(v) for v in values], np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"history[{key!r}] must be a list of numbers (or null), got {list(values)[:5]!r}") from None


def load_history(history: Any) -> dict[str, Any]:
    """``history`` itself (a mapping), or the ``history.json`` at a path or in a run directory."""
    if isinstance(history, Mapping):
        return dict(history)
    if not isinstance(history, (str, os.PathLike)):
        raise ValueError(
            f"history must be fit's history dict or a path to history.json / a run directory, got "
            f"{type(history).__name__}"
        )
    path = os.fspath(history)
    if os.path.isdir(path):
        path = os.path.join(path, "history.json")
    if not os.path.isfile(path):
        raise ValueError(f"history: no history.json at {path!r} (is it a run directory written by fit?)")
    with open(path) as f:
        try:
            loaded = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"history: {path!r} is not valid JSON: {error}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"history: {path!r} must hold a JSON object, got {type(loaded).__name__}")
    return loaded


def _columns(history: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if "train_loss" not in history:
        raise ValueError(
            f"history needs the key 'train_loss' (per-epoch training loss, as fit writes it); "
            f"got keys {sorted(history)}"
        )
    cols = {"train_loss": _column(history, "train_loss")}
    n = len(cols["train_loss"])
    if n == 0:
        raise ValueError("history['train_loss'] is empty: diagnose needs at least one epoch")
    for key in ("val_loss", "epoch", "nonfinite_steps"):
        if key in history:
            cols[key] = _column(history, key)
            if len(cols[key]) != n:
                raise ValueError(
                    f"history[{key!r}] has {len(cols[key])} values but history['train_loss'] has {n}"
                )
    if "step_loss" in history:
        cols["step_loss"] = _column(history, "step_loss")
    cols.setdefault("epoch", np.arange(1, n + 1, dtype=np.float64))
    return cols


def _first(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def _nonfinite_epochs(cols: dict[str, np.ndarray]) -> tuple[int | None, int | None]:
    """Indices of the first epoch with a non-finite loss, and of the first with a skipped step."""
    bad = ~np.isfinite(cols["train_loss"])
    if "val_loss" in cols:
        bad |= ~np.isfinite(cols["val_loss"])
    skipped = np.zeros_like(bad)
    if "nonfinite_steps" in cols:
        skipped = np.diff(np.nan_to_num(cols["nonfinite_steps"], nan=0.0), prepend=0.0) > 0
    return _first(bad), _first(bad | skipped)


def _nonfinite_message(cols: dict[str, np.ndarray], i: int) -> str:
    parts = [f"{k} = {cols[k][i]:g}" for k in ("train_loss", "val_loss") if k in cols]
    if "nonfinite_steps" in cols:
        parts.append(f"{int(np.nan_to_num(cols['nonfinite_steps'][i]))} steps skipped so far")
    return (
        f"non-finite loss or gradients ({', '.join(parts)}): lower the learning rate, clip "
        "gradients, and check the data and the loss for NaN/inf (log of 0, division by 0)"
    )


def _trend(train: np.ndarray, val: np.ndarray | None, start: float, epochs: np.ndarray, t: DiagnoseThresholds):
    """The trend findings on the finite epochs."""
    findings = []
    best = float(np.min(train))
    running_min = np.minimum.accumulate(train)
    diverging = train[-1] > t.diverge_ratio * best
    if diverging:
        i = int(np.argmax(train[1:] > t.diverge_ratio * running_min[:-1])) + 1
        findings.append(Finding("diverging", int(epochs[i]), (
            f"the training loss rose from its best {best:.4g} to {train[-1]:.4g} (x{train[-1] / best:.1f}) "
            f"from epoch {int(epochs[i])}: the learning rate is too high (or its schedule raises it); "
            "lower it, add warm-up or gradient clipping"
        )))
    if best > (1.0 - t.min_decrease) * start:
        findings.append(Finding("not_decreasing", int(epochs[0]), (
            f"the training loss did not decrease: {start:.4g} at the start, best {best:.4g} (less than "
            f"{t.min_decrease:.0%} lower): learning rate 0 or far too small, gradients that do not reach "
            "the parameters, or labels that do not match the inputs (run overfit_subset)"
        )))
    elif best > t.underfit_fraction * start and not diverging:
        still = train[-1] < 0.99 * train[-2]
        advice = (
            "it is still falling: train longer or with a larger learning rate" if still else
            "it has plateaued: use a larger model, a larger learning rate or less regularization"
        )
        findings.append(Finding("underfitting", int(epochs[int(np.argmin(train))]), (
            f"underfitting: the best training loss {best:.4g} is still {best / start:.0%} of the "
            f"starting {start:.4g}; {advice}"
        )))
    if val is not None and len(val) >= 2:
        b = int(np.argmin(val))
        if b < len(val) - 1 and val[-1] > (1.0 + t.overfit_rise) * val[b] and train[-1] < train[b]:
            findings.append(Finding("overfitting", int(epochs[b + 1]), (
                f"overfitting from epoch {int(epochs[b + 1])}: the validation loss rose from its best "
                f"{val[b]:.4g} (epoch {int(epochs[b])}) to {val[-1]:.4g} while the training loss fell "
                f"from {train[b]:.4g} to {train[-1]:.4g}: keep the best snapshot (early stopping), "
                "regularize (weight decay, dropout, augmentation) or get more data"
            )))
    return findings


def diagnose(
    history: Any,
    *,
    num_classes: int | None = None,
    expected_initial_loss: float | None = None,
    thresholds: DiagnoseThresholds = DiagnoseThresholds(),
) -> list[Finding]:
    """Read the learning curves of a run: a list of :class:`Finding` (empty for a healthy run).

    ``history`` is ``fit``'s ``FitResult.history``, a path to its ``history.json``, or the run
    directory holding it. The rules and their thresholds are in this module's docstring (see
    :class:`DiagnoseThresholds`); the initial-loss rule runs when ``num_classes`` (expected
    ``log num_classes``) or ``expected_initial_loss`` is given. Findings come in epoch order.

    Example:
      >>> h = {"train_loss": [1.0, 0.5, 0.3, 0.2], "val_loss": [0.9, 0.5, 0.7, 0.9]}
      >>> [(f.kind, f.epoch) for f in diagnose(h)]
      [('overfitting', 3)]

    Raises:
      ValueError: the history lacks ``train_loss``, has columns of different lengths or values
        that are not numbers, the path holds no ``history.json``, or bad ``num_classes``/
        ``expected_initial_loss``/``thresholds``.
    """
    if num_classes is not None:
        num_classes = int_at_least(num_classes, "num_classes", 2)
    if expected_initial_loss is not None:
        expected_initial_loss = float(positive(expected_initial_loss, "expected_initial_loss"))
    if not isinstance(thresholds, DiagnoseThresholds):
        raise ValueError(f"thresholds must be a DiagnoseThresholds, got {thresholds!r}")
    for name, value in thresholds._asdict().items():
        positive(value, f"thresholds.{name}")
    if thresholds.diverge_ratio <= 1:
        raise ValueError(f"thresholds.diverge_ratio must be > 1, got {thresholds.diverge_ratio!r}")
    cols = _columns(load_history(history))
    epochs = cols["epoch"].astype(int)
    steps = cols.get("step_loss")
    start = float(steps[0]) if steps is not None and len(steps) else float(cols["train_loss"][0])
    findings = []
    if expected_initial_loss is None and num_classes is not None:
        expected_initial_loss = math.log(num_classes)
    if expected_initial_loss is not None and math.isfinite(start):
        error = abs(start - expected_initial_loss) / expected_initial_loss
        if error > thresholds.initial_loss_tolerance:
            cause = (
                "outputs too large at initialization: scale the final layer's init down" if start > expected_initial_loss
                else "below chance: a label leak or a wrong loss"
            )
            findings.append(Finding("initial_loss", int(epochs[0]), (
                f"the first loss {start:.4g} is {error:.0%} off the expected {expected_initial_loss:.4g}: {cause} "
                "(see check_initial_loss)"
            )))
    stop, first = _nonfinite_epochs(cols)
    if first is not None:
        findings.append(Finding("nonfinite", int(epochs[first]), _nonfinite_message(cols, first)))
    end = len(epochs) if stop is None else stop
    if end >= 2 and math.isfinite(start):
        val = cols["val_loss"][:end] if "val_loss" in cols else None
        findings += _trend(cols["train_loss"][:end], val, start, epochs[:end], thresholds)
    return sorted(findings, key=lambda f: f.epoch)
