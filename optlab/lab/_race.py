"""Optimizer races: every rule from the same start on the same landscape, step by step."""

from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _checks
from ..rules import current_learning_rate, set_learning_rate
from ._landscapes import Landscape


class RaceResult(NamedTuple):
    """One rule's run at its best learning rate.

    Attributes:
      name: the optimizer's name.
      learning_rate: the learning rate of this run (the best of the grid when one was swept).
      losses: ``loss - minimum`` before each step and after the last (``steps + 1`` values).
      path: the iterates ``w_0 .. w_steps``, shape ``(steps + 1, 2)``.
      steps_to_tolerance: first step from which ``loss - minimum`` stays below ``tolerance``; None if never.
      final_loss: ``loss - minimum`` after the last step.
    """

    name: str
    learning_rate: float
    losses: np.ndarray
    path: np.ndarray
    steps_to_tolerance: int | None
    final_loss: float


def _trajectory(tx: optax.GradientTransformation, landscape: Landscape, steps: int, lr, dtype):
    grad = jax.value_and_grad(landscape.loss)

    def step(carry, _):
        w, state = carry
        loss, g = grad(w)
        updates, state = tx.update(g, state, w)
        return (optax.apply_updates(w, updates), state), (loss, w)

    w0 = jnp.asarray(landscape.start, dtype)
    state = tx.init(w0)
    state = set_learning_rate(state, jnp.asarray(lr, current_learning_rate(state).dtype))
    (w, _), (losses, path) = jax.lax.scan(step, (w0, state), length=steps)
    losses = jnp.append(losses, landscape.loss(w)) - landscape.minimum
    return losses, jnp.concatenate([path, w[None]])


def _steps_to(losses: np.ndarray, tolerance: float) -> int | None:
    """First index from which the loss stays below ``tolerance`` to the end of the run."""
    above = np.nonzero(~(np.abs(losses) < tolerance))[0]
    if above.size == 0:
        return 0
    return int(above[-1]) + 1 if above[-1] + 1 < losses.size else None


def _rank(losses: np.ndarray, tolerance: float) -> tuple:
    steps = _steps_to(losses, tolerance)
    final = losses[-1] if np.isfinite(losses[-1]) else np.inf
    return (steps is None, steps if steps is not None else 0, final)


def sweep(
    tx: optax.GradientTransformation,
    landscape: Landscape,
    learning_rates: Sequence[float],
    steps: int = 500,
    dtype=jnp.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``tx`` (built with a constant learning rate) at every learning rate of a grid at once.

    One jitted ``lax.scan`` vmapped over the learning rate held in the optimizer state: one compile
    for the whole grid. Returns ``(losses, paths)`` as float64 NumPy arrays of shapes
    ``(len(grid), steps + 1)`` (``loss - minimum`` before each step and after the last) and
    ``(len(grid), steps + 1, 2)``. ``dtype`` is the iterate's dtype; ``jnp.float64`` needs
    ``jax.enable_x64(True)`` (verdicts about convergence come from float64 runs: in float32 an
    iterate can underflow to exactly the minimizer and freeze there).

    Example:
      >>> import optlab
      >>> from optlab.lab import ravine, sweep
      >>> losses, paths = sweep(optlab.sgd(0.1), ravine(), [0.001, 0.03, 0.05], steps=100)
      >>> losses.shape, paths.shape, bool(losses[2, -1] > losses[2, 0])  # lr 0.05 > 2/kappa diverges
      ((3, 101), (3, 101, 2), True)
    """
    steps = _checks.positive_int(steps, "steps")
    if len(learning_rates) == 0:
        raise ValueError("learning_rates must be a non-empty sequence")
    for value in learning_rates:
        _checks.non_negative(value, "learning_rates[i]")
    dtype = jnp.dtype(dtype)
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise ValueError("dtype float64 needs jax.enable_x64(True) (or JAX_ENABLE_X64=1)")
    grid = jnp.asarray(np.asarray(learning_rates, np.float64), dtype)
    run = jax.jit(jax.vmap(lambda lr: _trajectory(tx, landscape, steps, lr, dtype)))
    losses, paths = (np.asarray(a, np.float64) for a in run(grid))
    return losses, paths


def race(
    optimizers: Mapping[str, optax.GradientTransformation],
    landscape: Landscape,
    steps: int = 500,
    tolerance: float = 1e-6,
    learning_rates: Sequence[float] | None = None,
    dtype=jnp.float32,
) -> list[RaceResult]:
    """Run each optimizer for ``steps`` steps from ``landscape.start``; one jitted ``lax.scan`` per rule.

    With ``learning_rates``, each optimizer (built with a constant learning rate) is run at every
    value of the grid at once (:func:`sweep`: ``vmap`` over the learning rate held in its state,
    one compile) and the fastest run to ``tolerance`` is reported — a fair race gives every rule
    its best step size. Ties in steps go to the lower final loss, then to the earlier grid
    entry. ``dtype`` as in :func:`sweep`. The result is a pure function of its arguments.

    Example:
      >>> import optlab
      >>> from optlab.lab import race, ravine
      >>> (result,) = race({"sgd": optlab.sgd(0.03)}, ravine(), steps=400)
      >>> result.steps_to_tolerance
      261
    """
    steps = _checks.positive_int(steps, "steps")
    _checks.positive(tolerance, "tolerance")
    if learning_rates is not None and len(learning_rates) == 0:
        raise ValueError("learning_rates must be a non-empty sequence or None")
    results = []
    for name, tx in optimizers.items():
        grid = (
            list(learning_rates)
            if learning_rates is not None
            else [float(current_learning_rate(tx.init(jnp.zeros(2))))]
        )
        losses, paths = sweep(tx, landscape, grid, steps, dtype)
        best = min(range(len(grid)), key=lambda i: _rank(losses[i], tolerance))
        results.append(
            RaceResult(
                name=name,
                learning_rate=float(np.asarray(grid[best], np.dtype(dtype))),
                losses=losses[best],
                path=paths[best],
                steps_to_tolerance=_steps_to(losses[best], tolerance),
                final_loss=float(losses[best][-1]),
            )
        )
    return results


def format_table(results: Sequence[RaceResult], tolerance: float) -> str:
    """A plain-text table: rule, learning rate, steps to tolerance, final loss."""
    header = f"{'rule':<10} {'lr':>9} {'steps to ' + format(tolerance, 'g'):>14} {'final loss':>12}"
    lines = [header, "-" * len(header)]
    for r in results:
        steps = str(r.steps_to_tolerance) if r.steps_to_tolerance is not None else "never"
        lines.append(f"{r.name:<10} {r.learning_rate:>9.4g} {steps:>14} {r.final_loss:>12.3e}")
    return "\n".join(lines)
