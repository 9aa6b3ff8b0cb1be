"""Momentum and Nesterov momentum (Sutskever et al., ICML 2013), in the lecture/PyTorch form."""

from __future__ import annotations

from typing import Any, NamedTuple

import optax

from .. import _checks, _tree
from ._learning_rate import scale_by_learning_rate


class MomentumState(NamedTuple):
    """State of :func:`momentum_trace`: the velocity ``v``, a tree like the params (``v_0 = 0``)."""

    velocity: Any


def momentum_trace(
    rho: float = 0.9, nesterov: bool = False, *, accumulator_dtype: Any = None
) -> optax.GradientTransformation:
    r"""Velocity building block: :math:`v_{t+1} = \rho\, v_t + g_t`, output :math:`v_{t+1}`.

    With ``nesterov=True`` the output is the look-ahead form :math:`g_t + \rho\, v_{t+1}` used by
    ``torch.optim.SGD(nesterov=True)`` and optax. The learning rate is applied after the buffer
    (chain with :func:`scale_by_learning_rate`), so schedules act as in torch. This equals
    ``optax.trace(decay=rho, nesterov=nesterov, accumulator_dtype=accumulator_dtype)``.

    ``accumulator_dtype`` stores the velocity in another dtype (e.g. ``jnp.bfloat16``); ``None``
    means the leaf's dtype. The arithmetic runs in at least float32 and the update is computed
    from the stored velocity. A complex leaf has a complex velocity.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.momentum_trace(rho=0.5)
      >>> g = {"w": jnp.ones(2)}
      >>> s = tx.init(g)
      >>> u, s = tx.update(g, s)
      >>> u, s = tx.update(g, s)
      >>> u["w"]
      Array([1.5, 1.5], dtype=float32)

    Reference: Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and
    momentum in deep learning", ICML 2013.

    Raises:
      ValueError: ``rho`` outside ``[0, 1)``; ``accumulator_dtype`` not a floating/complex dtype;
        at ``init``, a real ``accumulator_dtype`` for a complex leaf (names the path).
    """
    _checks.unit_interval(rho, "rho")
    if not isinstance(nesterov, bool):
        raise ValueError(f"nesterov must be a bool, got {nesterov!r}")
    accumulator_dtype = _tree.check_state_dtype(accumulator_dtype, "accumulator_dtype")

    def init_fn(params):
        velocity = _tree.moment_like(params, dtype=accumulator_dtype, name="accumulator_dtype")
        return MomentumState(velocity=velocity)

    def update_fn(updates, state, params=None):
        _tree.check_updates(updates, params, state.velocity)
        velocity = _tree.map_inexact(
            lambda g, v: _tree.trace(v, g, rho), updates, state.velocity, keep=1
        )
        if nesterov:
            updates = _tree.map_inexact(
                lambda g, v: _tree.cast(_tree.upcast(g) + rho * _tree.upcast(v), g.dtype),
                updates,
                velocity,
            )
        else:
            updates = _tree.map_inexact(lambda g, v: _tree.cast(v, g.dtype), updates, velocity)
        return updates, MomentumState(velocity=velocity)

    return optax.GradientTransformation(init_fn, update_fn)


def momentum(
    learning_rate: Any, rho: float = 0.9, *, accumulator_dtype: Any = None
) -> optax.GradientTransformation:
    r"""SGD with momentum: :math:`v_{t+1} = \rho v_t + g_t,\; w_{t+1} = w_t - \eta_t v_{t+1}`.

    Equals ``torch.optim.SGD(lr, momentum=rho)`` (dampening 0) and ``optax.sgd(lr, momentum=rho)``.
    ``accumulator_dtype``: the velocity's dtype (see :func:`momentum_trace`).

    Example:
      >>> import jax.numpy as jnp, optax, optlab
      >>> params = {"w": jnp.array([1.0])}
      >>> tx = optlab.momentum(0.1, rho=0.9)
      >>> state = tx.init(params)
      >>> for _ in range(2):
      ...     updates, state = tx.update({"w": jnp.array([1.0])}, state, params)
      >>> updates["w"]  # -0.1 * (0.9 * 1 + 1)
      Array([-0.19], dtype=float32)

    Reference: Sutskever et al., ICML 2013; Polyak, "Some methods of speeding up the convergence
    of iteration methods", 1964.
    """
    return optax.chain(
        momentum_trace(rho=rho, accumulator_dtype=accumulator_dtype),
        scale_by_learning_rate(learning_rate),
    )


def nesterov(
    learning_rate: Any, rho: float = 0.9, *, accumulator_dtype: Any = None
) -> optax.GradientTransformation:
    r"""Nesterov momentum: :math:`v_{t+1} = \rho v_t + g_t,\; w_{t+1} = w_t - \eta_t (g_t + \rho v_{t+1})`.

    The look-ahead gradient :math:`\nabla J(w + \rho v)` of the lecture rewritten at the current
    parameters, as in ``torch.optim.SGD(nesterov=True)`` and ``optax.sgd(nesterov=True)``.
    ``accumulator_dtype``: the velocity's dtype (see :func:`momentum_trace`).

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.nesterov(0.1, rho=0.9)
      >>> g = {"w": jnp.array([1.0])}
      >>> updates, _ = tx.update(g, tx.init(g))
      >>> updates["w"]  # -0.1 * (1 + 0.9 * 1)
      Array([-0.19], dtype=float32)

    Reference: Sutskever et al., ICML 2013; Nesterov, "A method for unconstrained convex
    minimization problem with the rate of convergence O(1/k^2)", 1983.
    """
    return optax.chain(
        momentum_trace(rho=rho, nesterov=True, accumulator_dtype=accumulator_dtype),
        scale_by_learning_rate(learning_rate),
    )
