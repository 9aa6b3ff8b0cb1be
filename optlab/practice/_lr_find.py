"""The learning-rate range test (Smith 2017; fastai's ``lr_find``), purely functional.

The learning rate grows exponentially over ``num_steps`` training steps; the loss is smoothed and
the run stops once it blows up. What users of the PyTorch versions complain about, fixed here:
the caller's state is never touched and nothing is written to disk (fastai saves and reloads the
model through a temporary file); every learning rate in the optimizer state is scaled by the same
factor, so per-group ratios survive; a scheduled learning rate, which would silently override the
test's, is refused; the suggestion ignores the first 10% and non-finite points; a range that is
too narrow is reported; the step is jitted once (the learning rate is an argument, not a constant).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from typing import Any, NamedTuple

import jax
import numpy as np

from .._checks import int_at_least, non_negative_int, positive, real_scalar, unit_interval
from ..train import own_copy
from ..train._batches import take_batch
from . import _lr_suggestions
from ._lr_groups import group_ratios, with_learning_rates
from ._steps import batch_schedule, checked_data, gradient_step, model_state_of

SKIP_FRACTION = 0.1  # the first 10% of the recorded points are left out of the suggestions
MIN_FALL = 0.1  # "the loss fell": the best smoothed loss is at least 10% below the first
MIN_READABLE = 5  # fewer readable points than this: no suggestions
ROSE = 1.5  # without divergence, a curve that ends above 1.5 x its best still shows the upturn


class LRFindWarning(UserWarning):
    """The range test could not show what it should: the loss never fell or never diverged."""


def _run(step, trained, ratios, learning_rates, data, batch_size, seed, beta, diverge_factor) -> tuple:
    """The range test's loop: ``(losses, smoothed losses, diverged_at)``; ``trained`` is donated."""
    key = jax.random.fold_in(jax.random.key(seed), 1)
    losses: list[float] = []
    smoothed: list[float] = []
    average, best = 0.0, math.inf
    schedule = batch_schedule(seed, int(data[0].shape[0]), batch_size)
    for i, (permutation, index) in zip(range(len(learning_rates)), schedule):
        lr = np.asarray(learning_rates[i], ratios[0].dtype)
        trained, loss = step(trained, ratios, lr, data, permutation, index, key, np.int32(i))
        losses.append(float(loss))
        average = beta * average + (1.0 - beta) * losses[-1]
        smoothed.append(average / (1.0 - beta ** (i + 1)))
        if not math.isfinite(smoothed[-1]) or smoothed[-1] > diverge_factor * best:
            return losses, smoothed, float(learning_rates[i])
        best = min(best, smoothed[-1])
    return losses, smoothed, None


@functools.partial(jax.jit, static_argnames=("loss_fn", "batch_size"), donate_argnums=0)
def _step(state, ratios, lr, data, permutation, index, key, count, *, loss_fn, batch_size):
    """One step at ``lr`` (an argument: one compile per loss, batch size and state structure)."""
    state = state.replace(opt_state=with_learning_rates(state.opt_state, ratios, lr))
    x, y = take_batch(data, permutation, index, batch_size)
    return gradient_step(state, loss_fn, x, y, jax.random.fold_in(key, count))


class LRFindResult(NamedTuple):
    """What :func:`lr_find` measured.

    Attributes:
      learning_rates: the learning rate of each step run (the largest group's, see ``lr_find``).
      losses: the training loss of each step (before its update).
      smoothed_losses: the debiased exponential moving average of ``losses``.
      suggestion: ``suggestions["valley"]``.
      suggestions: ``valley``, ``steepest`` and ``minimum`` (NaN when fewer than 5 points were
        readable).
      diverged_at: the learning rate at which the run stopped because the smoothed loss exceeded
        ``diverge_factor`` x its best (or was not finite); ``None`` if it never did.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestion: float
    suggestions: dict[str, float]
    diverged_at: float | None

    def plot(self, path: str | os.PathLike, title: str | None = None) -> str:
        """Save the smoothed (and raw) loss against the learning rate (log axis), with the
        suggestions marked, as a PNG at ``path``; returns ``path``."""
        from ._lr_plot import plot_lr_find

        return plot_lr_find(self, os.fspath(path), title)


def _check_args(start_lr, end_lr, num_steps, beta, diverge_factor, seed) -> tuple:
    start_lr = float(positive(start_lr, "start_lr"))
    end_lr = float(positive(end_lr, "end_lr"))
    if start_lr >= end_lr:
        raise ValueError(f"start_lr must be < end_lr, got start_lr={start_lr!r} and end_lr={end_lr!r}")
    num_steps = int_at_least(num_steps, "num_steps", 10)
    beta = float(unit_interval(beta, "beta"))
    diverge_factor = real_scalar(diverge_factor, "diverge_factor")
    if diverge_factor <= 1.0:
        raise ValueError(f"diverge_factor must be > 1, got {diverge_factor!r}")
    return start_lr, end_lr, num_steps, beta, diverge_factor, non_negative_int(seed, "seed")


def _readable(learning_rates: np.ndarray, smoothed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of the curve the suggestions read: first 10% and non-finite points left out."""
    skip = int(len(smoothed) * SKIP_FRACTION)
    lrs, values = learning_rates[skip:], smoothed[skip:]
    finite = np.isfinite(values)
    return lrs[finite], values[finite]


def _warn(result: LRFindResult, readable: np.ndarray, end_lr: float, diverge_factor: float) -> None:
    if len(readable) < MIN_READABLE:
        warnings.warn(
            f"lr_find: the loss diverged after {len(result.losses)} steps, before the curve could be "
            "read; lower start_lr (or check the model with check_initial_loss)", LRFindWarning, stacklevel=3,
        )
        return
    first, best = result.smoothed_losses[0], float(np.min(readable))
    if not best < (1.0 - MIN_FALL) * first:
        warnings.warn(
            f"lr_find: the loss never fell (from {first:.4g}, best {best:.4g}) between "
            f"{result.learning_rates[0]:.3g} and {result.learning_rates[-1]:.3g}: widen the range, "
            "use more steps or a smaller beta (the smoothing spans about 1/(1-beta) steps), or check "
            "that the model can learn (overfit_subset)", LRFindWarning, stacklevel=3,
        )
    last = result.smoothed_losses[-1]
    if result.diverged_at is None and not last > ROSE * best:
        warnings.warn(
            f"lr_find: the loss never diverged (never above {diverge_factor:g} x its best {best:.4g}, "
            f"{last:.4g} at the end) up to end_lr={end_lr:g}: the range may be too narrow; raise "
            "end_lr so the curve shows where training breaks down", LRFindWarning, stacklevel=3,
        )


def lr_find(
    state: Any,
    loss_fn: Any,
    x: Any,
    y: Any,
    *,
    batch_size: int,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    seed: int = 0,
) -> LRFindResult:
    r"""The LR range test: train a copy of ``state`` while the learning rate grows exponentially.

    Step :math:`i = 0..n-1` trains one batch at :math:`lr_i = lr_{start} (lr_{end} /
    lr_{start})^{i/(n-1)}` and records its loss :math:`L_i` (before the update). The smoothed loss
    is the debiased exponential average :math:`a_i = \beta a_{i-1} + (1-\beta) L_i`,
    :math:`s_i = a_i / (1 - \beta^{i+1})`; the run stops once :math:`s_i > ` ``diverge_factor``
    :math:`\times \min_{j<i} s_j` or :math:`s_i` is not finite (``diverged_at``). Suggestions read
    the curve without its first 10% and non-finite points (:mod:`._lr_suggestions`): ``valley``
    (fastai's default, half way down the longest valley; the ``suggestion``), ``steepest`` (the
    steepest descent of :math:`s` per :math:`\log lr`) and ``minimum`` (a tenth of the lr at the
    lowest :math:`s`). Smith, "Cyclical Learning Rates for Training Neural Networks", 2017; the
    divergence test and the smoothing follow fastai. Assumes a loss >= 0.

    Every learning rate in ``state.opt_state`` (optlab's, and optax's ``inject_hyperparams``
    ``learning_rate``) is set at each step to its own base value
    :math:`\times lr_i / lr_{max}`, where :math:`lr_{max}` is the largest base value: per-group
    ratios (e.g. a smaller learning rate for some layers in ``optax.multi_transform``) are kept,
    and ``learning_rates`` are the largest group's. The state must hold a constant learning rate
    (a schedule would override the test's: ``ValueError``). Batches are ``fit``'s data order for
    ``seed``; ``loss_fn`` has ``fit``'s signature (the five-argument form when
    ``state.model_state`` is set). The caller's ``state`` (parameters, optimizer state, step, EMA,
    model state) is untouched: a copy is trained with donation; nothing is written to disk. The
    step is compiled once: the learning rate is an argument of the jitted step.

    Warns:
      LRFindWarning: the loss never fell (its best smoothed value is not 10% below the first),
        never turned up (no divergence and the curve ends below 1.5 x its best: the range is too
        narrow), or diverged before the curve could be read.

    Raises:
      ValueError: ``start_lr >= end_lr``, non-positive rates, ``num_steps < 10``, ``beta``
        outside ``[0, 1)``, ``diverge_factor <= 1``, ``batch_size`` not in ``[1, len(x)]``, bad
        ``x``/``y`` (named), or an optimizer state without a constant learning rate.
    """
    start_lr, end_lr, num_steps, beta, diverge_factor, seed = _check_args(
        start_lr, end_lr, num_steps, beta, diverge_factor, seed
    )
    ratios = group_ratios(state.opt_state)
    x, y = checked_data(loss_fn, state.params, model_state_of(state), x, y, "lr_find data (x, y)")
    n = int(x.shape[0])
    batch_size = int_at_least(batch_size, "batch_size", 1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= the number of examples {n}, got {batch_size}")
    learning_rates = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    losses, smoothed, diverged_at = _run(
        functools.partial(_step, loss_fn=loss_fn, batch_size=batch_size), own_copy(state), ratios, learning_rates, (x, y), batch_size, seed,
        beta, diverge_factor,
    )
    recorded = np.asarray(learning_rates[: len(losses)], np.float64)
    smoothed_array = np.asarray(smoothed, np.float64)
    lrs, readable = _readable(recorded, smoothed_array)
    if len(readable) >= MIN_READABLE:
        suggestions = _lr_suggestions.suggestions(lrs, readable)
    else:
        suggestions = {"valley": math.nan, "steepest": math.nan, "minimum": math.nan}
    result = LRFindResult(
        learning_rates=recorded, losses=np.asarray(losses, np.float64), smoothed_losses=smoothed_array,
        suggestion=suggestions["valley"], suggestions=suggestions, diverged_at=diverged_at,
    )
    _warn(result, readable, end_lr, diverge_factor)
    return result
