"""Learning-rate decay schedules from the lecture: pure, jit-safe functions ``step -> value``.

Every schedule returns a float32 scalar (float64 under x64) and accepts a Python int or an integer
array as the step, so it can be passed anywhere optax takes a schedule. Powers are computed as
``exp(t * log(base))`` with the log in double precision and the cosine as ``cos(pi f / 2)**2``, so
float32 values stay within a few ulp of the float64 closed form at every step.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp

from .. import _checks, _tree

Schedule = Callable[[Any], Any]


def _float(x: Any) -> Any:
    return jnp.asarray(x, dtype=_tree.state_float_dtype())


def half_cosine(position: jax.Array, length: jax.Array) -> jax.Array:
    """``(1 + cos(pi * t / T)) / 2`` for ``0 <= t <= T``, accurate to float32 rounding everywhere.

    Written as ``cos(pi t / 2T)**2`` in the first half and ``sin(pi (T - t) / 2T)**2`` in the
    second, so neither the ``1 + cos`` cancellation near ``t = T`` nor the rounding of ``t / T``
    costs digits (``T - t`` is exact for integer steps).
    """
    first = jnp.cos(0.5 * math.pi * position / length) ** 2
    second = jnp.sin(0.5 * math.pi * (length - position) / length) ** 2
    return jnp.where(2 * position <= length, first, second)


def _interpolate(init_value, final_value, total_steps, weight) -> Schedule:
    """``final + (init - final) * weight(min(t, T), T)``: the shape shared by cosine and linear decay."""
    _checks.real_scalar(init_value, "init_value")
    _checks.real_scalar(final_value, "final_value")
    total_steps = _checks.positive_int(total_steps, "total_steps")

    def schedule(count):
        t = jnp.clip(_float(count), 0, total_steps)
        return _float(final_value) + (_float(init_value) - _float(final_value)) * weight(
            t, _float(total_steps)
        )

    return schedule


def constant(value: float) -> Schedule:
    r"""Constant learning rate :math:`\eta_t = \eta_0`: good for prototyping ideas.

    Example:
      >>> from optlab import schedules
      >>> float(schedules.constant(0.1)(1000))
      0.10000000149011612
    """
    _checks.real_scalar(value, "value")

    def schedule(count):
        return jnp.broadcast_to(_float(value), jnp.shape(count))

    return schedule


def step(init_value: float, every: int, factor: float = 0.1) -> Schedule:
    r"""Step decay :math:`\eta_t = \eta_0 \cdot \text{factor}^{\lfloor t / \text{every} \rfloor}`.

    The lecture's "x0.1 every 30 epochs" (He et al. 2015) is ``per_epoch(step(lr, 30, 0.1), steps_per_epoch)``.

    Example:
      >>> from optlab import schedules
      >>> s = schedules.step(1.0, every=10, factor=0.5)
      >>> [float(s(t)) for t in (0, 9, 10, 25)]
      [1.0, 1.0, 0.5, 0.25]

    Raises:
      ValueError: ``every`` not a positive integer; ``factor <= 0``; ``init_value`` not finite.
    """
    _checks.real_scalar(init_value, "init_value")
    every = _checks.positive_int(every, "every")
    _checks.positive(factor, "factor")

    log_factor = math.log(factor)

    def schedule(count):
        drops = _float(jnp.asarray(count) // every)
        return _float(init_value) * jnp.exp(drops * log_factor)

    return schedule


def cosine(init_value: float, total_steps: int, final_value: float = 0.0) -> Schedule:
    r"""Cosine decay :math:`\eta_t = \eta_T + (\eta_0 - \eta_T)\,\tfrac12\,(1 + \cos(\pi t / T))`, held at :math:`\eta_T` after ``T``.

    With ``final_value=0`` this is the lecture's :math:`\tfrac12 \eta_0 (1 + \cos(t\pi/T))`
    (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017).

    Example:
      >>> from optlab import schedules
      >>> s = schedules.cosine(1.0, total_steps=100)
      >>> [round(float(s(t)), 6) for t in (0, 50, 100, 150)]
      [1.0, 0.5, 0.0, 0.0]

    Raises:
      ValueError: ``total_steps`` not a positive integer; values not finite.
    """
    return _interpolate(init_value, final_value, total_steps, half_cosine)


def linear(init_value: float, total_steps: int, final_value: float = 0.0) -> Schedule:
    r"""Linear decay :math:`\eta_t = \eta_T + (\eta_0 - \eta_T) (T - \min(t, T)) / T`.

    With ``final_value=0`` this is the lecture's :math:`\eta_0 (1 - t/T)`, held at 0 after ``T``.

    Example:
      >>> from optlab import schedules
      >>> s = schedules.linear(1.0, total_steps=4)
      >>> [float(s(t)) for t in range(6)]
      [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]

    Raises:
      ValueError: ``total_steps`` not a positive integer; values not finite.
    """
    return _interpolate(init_value, final_value, total_steps, lambda t, T: (T - t) / T)


def exponential(init_value: float, decay_percent: float) -> Schedule:
    r"""Exponential decay :math:`\eta_t = \eta_0 (1 - \alpha/100)^t` with :math:`\alpha` = ``decay_percent``.

    Example:
      >>> from optlab import schedules
      >>> s = schedules.exponential(1.0, decay_percent=50)
      >>> [float(s(t)) for t in range(4)]
      [1.0, 0.5, 0.25, 0.125]

    Raises:
      ValueError: ``decay_percent`` outside ``[0, 100)``; ``init_value`` not finite.
    """
    _checks.real_scalar(init_value, "init_value")
    percent = _checks.real_scalar(decay_percent, "decay_percent")
    if not 0.0 <= percent < 100.0:
        raise ValueError(f"decay_percent must be in [0, 100), got {decay_percent!r}")
    log_base = math.log1p(-percent / 100.0)

    def schedule(count):
        return _float(init_value) * jnp.exp(_float(count) * log_base)

    return schedule
