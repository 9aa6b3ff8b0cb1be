"""Schedules built from schedules: warmup, periodic warm restarts, epoch indexing."""

from __future__ import annotations

import math
from typing import Union

import jax.numpy as jnp

from .. import _checks, _tree
from ._basic import Schedule, _float, constant, half_cosine

ScheduleLike = Union[float, Schedule]


def _as_schedule(value: ScheduleLike, name: str) -> Schedule:
    _checks.value_or_schedule(value, name)
    return value if callable(value) else constant(value)


def warmup(schedule: ScheduleLike, warmup_steps: int, start_value: float = 0.0) -> Schedule:
    r"""Linear warm-up, then ``schedule`` shifted by ``warmup_steps``.

    .. math::
       \eta_t = \begin{cases} s_0 + (\text{schedule}(0) - s_0)\, t / W & t < W \\
                \text{schedule}(t - W) & t \ge W \end{cases}

    ``schedule`` may be a number (a constant). ``warmup_steps=0`` returns the schedule unchanged.
    (Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017.)

    Example:
      >>> from optlab import schedules
      >>> s = schedules.warmup(schedules.cosine(1.0, total_steps=10), warmup_steps=4)
      >>> [round(float(s(t)), 4) for t in (0, 2, 4, 9, 14)]
      [0.0, 0.5, 1.0, 0.5, 0.0]

    Raises:
      ValueError: ``warmup_steps`` negative or not an integer; ``start_value`` not finite.
    """
    target = _as_schedule(schedule, "schedule")
    warmup_steps = _checks.non_negative_int(warmup_steps, "warmup_steps")
    _checks.real_scalar(start_value, "start_value")
    if warmup_steps == 0:
        return target

    def warmed(count):
        count = jnp.asarray(count)
        peak = _float(target(0))
        ramp = _float(start_value) + (peak - _float(start_value)) * _float(count) / warmup_steps
        after = _float(target(jnp.maximum(count - warmup_steps, 0)))
        return jnp.where(count < warmup_steps, ramp, after)

    return warmed


def cosine_restarts(
    init_value: float, period: int, period_mult: float = 1, final_value: float = 0.0
) -> Schedule:
    r"""Cosine annealing with warm restarts (SGDR): periodic learning rate for snapshot ensembles.

    Cycle ``i`` lasts :math:`T_i = \text{period} \cdot \text{period\_mult}^i` steps; at position
    :math:`\tau` in a cycle, :math:`\eta = \eta_{\min} + (\eta_0 - \eta_{\min})\tfrac12(1 + \cos(\pi \tau / T_i))`,
    then jumps back to :math:`\eta_0`. (Loshchilov & Hutter, ICLR 2017; Huang et al., "Snapshot
    Ensembles: Train 1, get M for free", ICLR 2017.)

    Example:
      >>> from optlab import schedules
      >>> s = schedules.cosine_restarts(1.0, period=4)
      >>> [round(float(s(t)), 4) for t in range(6)]
      [1.0, 0.8536, 0.5, 0.1464, 1.0, 0.8536]

    Raises:
      ValueError: ``period`` not a positive integer; ``period_mult < 1``; values not finite.
    """
    _checks.real_scalar(init_value, "init_value")
    _checks.real_scalar(final_value, "final_value")
    period = _checks.positive_int(period, "period")
    mult = _checks.real_scalar(period_mult, "period_mult")
    if mult < 1:
        raise ValueError(f"period_mult must be >= 1, got {period_mult!r}")

    def cycle_start(index):
        if mult == 1:
            return period * index
        return period * (mult**index - 1.0) / (mult - 1.0)

    def schedule(count):
        t = _float(count)
        if mult == 1:
            index = jnp.floor(t / period)
        else:
            index = jnp.floor(jnp.log1p(t * (mult - 1.0) / period) / math.log(mult))
            # Correct float rounding at cycle boundaries.
            index = jnp.where(cycle_start(index + 1) <= t, index + 1, index)
            index = jnp.where(cycle_start(index) > t, index - 1, index)
        length = period * _float(mult) ** index
        position = t - cycle_start(index)
        weight = half_cosine(position, length)
        return _float(final_value) + (_float(init_value) - _float(final_value)) * weight

    return schedule


def per_epoch(schedule: Schedule, steps_per_epoch: int) -> Schedule:
    r"""Turn an epoch-indexed schedule into a step-indexed one: :math:`\eta_t = \text{schedule}(\lfloor t / \text{steps\_per\_epoch} \rfloor)`.

    Example (x0.1 every 30 epochs, 100 steps per epoch):
      >>> from optlab import schedules
      >>> s = schedules.per_epoch(schedules.step(0.1, every=30), steps_per_epoch=100)
      >>> [round(float(s(t)), 6) for t in (0, 2999, 3000, 6000)]
      [0.1, 0.1, 0.01, 0.001]

    Raises:
      ValueError: ``schedule`` not callable; ``steps_per_epoch`` not a positive integer.
    """
    if not callable(schedule):
        raise ValueError(f"schedule must be callable (epoch -> value), got {schedule!r}")
    steps_per_epoch = _checks.positive_int(steps_per_epoch, "steps_per_epoch")

    def stepped(count):
        return schedule(jnp.asarray(count) // steps_per_epoch)

    return stepped
