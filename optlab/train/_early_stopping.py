"""Early stopping that keeps the best snapshot, as a pure pytree usable inside ``jit``.

Prechelt 1998, "Early stopping - but when?": train long, evaluate on validation data regularly,
keep the snapshot with the best validation score, stop after ``patience`` evaluations without
improvement.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from .._checks import int_at_least


def _check_args(patience: Any, min_delta: Any, mode: Any) -> None:
    int_at_least(patience, "patience", 1)
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)):
        raise ValueError(f"min_delta must be a float >= 0, got {min_delta!r}")
    if math.isnan(min_delta) or min_delta < 0:
        raise ValueError(f"min_delta must be a float >= 0, got {min_delta!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")


class EarlyStopping(struct.PyTreeNode):
    """``EarlyStopping(patience, min_delta=0.0, mode="min")``; ``update`` returns a new instance.

    The rule, for the ``k``-th call ``update(metric)`` (``k = 0, 1, ...``):

    * ``improved = metric < best_metric - min_delta`` (``mode="min"``) or
      ``metric > best_metric + min_delta`` (``mode="max"``); ``best_metric`` starts at ``+inf``
      (``-inf`` for max), and a NaN metric never improves.
    * if improved: ``best_metric = metric``, ``best_step = k``, ``best_params = params``,
      ``wait = 0``; otherwise ``wait += 1``.
    * ``should_stop = should_stop or wait >= patience`` - i.e. stop once ``patience`` calls in a
      row brought no improvement; it stays ``True``.

    ``best_params`` is kept whether or not patience fires; until the first improvement it holds
    the first ``params`` passed (``best_step == -1``). Branch-free: works under ``jit`` and
    ``lax.scan`` (``patience``, ``min_delta`` and ``mode`` are static).

    >>> es = EarlyStopping(patience=2)
    >>> for loss in [3.0, 2.0, 2.5, 2.1]:
    ...     es = es.update(loss)
    >>> bool(es.should_stop), float(es.best_metric), int(es.best_step)
    (True, 2.0, 1)
    """

    patience: int = struct.field(pytree_node=False, default=1)
    min_delta: float = struct.field(pytree_node=False, default=0.0)
    mode: str = struct.field(pytree_node=False, default="min")
    best_metric: jax.Array = None
    best_step: jax.Array = None
    wait: jax.Array = None
    count: jax.Array = None
    should_stop: jax.Array = None
    improved: jax.Array = None
    best_params: Any = None

    def __post_init__(self) -> None:
        _check_args(self.patience, self.min_delta, self.mode)
        defaults = {
            "best_metric": jnp.asarray(jnp.inf if self.mode == "min" else -jnp.inf, jnp.float32),
            "best_step": jnp.asarray(-1, jnp.int32),
            "wait": jnp.asarray(0, jnp.int32),
            "count": jnp.asarray(0, jnp.int32),
            "should_stop": jnp.asarray(False),
            "improved": jnp.asarray(False),
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def is_improvement(self, metric: jax.Array) -> jax.Array:
        """Whether ``metric`` beats ``best_metric`` by more than ``min_delta`` (NaN never does)."""
        metric = jnp.asarray(metric, jnp.float32)
        if self.mode == "min":
            better = metric < self.best_metric - self.min_delta
        else:
            better = metric > self.best_metric + self.min_delta
        return better & ~jnp.isnan(metric)

    def update(self, metric: jax.Array, params: Any = None) -> EarlyStopping:
        """Record one validation ``metric`` (and the ``params`` that produced it)."""
        metric = jnp.asarray(metric, jnp.float32)
        if jnp.ndim(metric) != 0:
            raise ValueError(f"metric must be a scalar, got shape {jnp.shape(metric)}")
        improved = self.is_improvement(metric)
        wait = jnp.where(improved, 0, self.wait + 1).astype(jnp.int32)
        best_params = self.best_params
        if params is not None:
            old = params if best_params is None else best_params
            best_params = jax.tree.map(lambda new, b: jnp.where(improved, new, b), params, old)
        return self.replace(
            best_metric=jnp.where(improved, metric, self.best_metric),
            best_step=jnp.where(improved, self.count, self.best_step).astype(jnp.int32),
            wait=wait,
            count=self.count + 1,
            should_stop=self.should_stop | (wait >= self.patience),
            improved=improved,
            best_params=best_params,
        )
