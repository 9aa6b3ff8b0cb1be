"""Every learning rate held in an optimizer state, read and scaled together (for ``lr_find``).

Two kinds of nodes hold one: optlab's ``LearningRateState`` (the last link of every optlab
optimizer) and optax's ``InjectStatefulHyperparamsState`` with a ``learning_rate`` hyperparameter
(``optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)``). Both are found wherever they sit
(``optax.chain``, ``optax.multi_transform``, a TrainState), in one fixed tree order, so the k-th
value read is the k-th value written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax

from ..rules._learning_rate import LearningRateState, ScheduledLearningRateState

_INJECTED = optax.InjectStatefulHyperparamsState

_SCHEDULED = (
    "lr_find: state.opt_state follows a learning-rate schedule ({where}), which would override the "
    "test's learning rate at every step; pass a state built with a constant learning rate "
    "(e.g. tx=optlab.adam(1e-3)) and apply the schedule after choosing its peak"
)


def _is_node(node: Any) -> bool:
    return isinstance(node, (LearningRateState, ScheduledLearningRateState, _INJECTED))


def _map(opt_state: Any, fn: Callable[[Any], Any]) -> Any:
    """``opt_state`` with each learning rate ``v`` replaced by ``fn(v)``, in tree order."""

    def visit(node: Any) -> Any:
        if isinstance(node, ScheduledLearningRateState):
            raise ValueError(_SCHEDULED.format(where="an optlab schedule"))
        if isinstance(node, LearningRateState):
            return node._replace(learning_rate=fn(node.learning_rate))
        if isinstance(node, _INJECTED):
            hyperparams = dict(node.hyperparams)
            if "learning_rate" in hyperparams:
                if "learning_rate" in node.hyperparams_states:
                    raise ValueError(_SCHEDULED.format(where="optax.inject_hyperparams with a schedule"))
                hyperparams["learning_rate"] = fn(hyperparams["learning_rate"])
            return node._replace(hyperparams=hyperparams, inner_state=_map(node.inner_state, fn))
        return node

    return jax.tree_util.tree_map(visit, opt_state, is_leaf=_is_node)


def learning_rates(opt_state: Any) -> list[np.ndarray]:
    """The constant learning rates in ``opt_state``, in tree order, on the host.

    Raises:
      ValueError: one follows a schedule (optlab's or ``inject_hyperparams``'), or there is none.
    """
    found: list[np.ndarray] = []

    def read(value: Any) -> Any:
        found.append(np.asarray(value))
        return value

    _map(opt_state, read)
    if not found:
        raise ValueError(
            "lr_find: state.opt_state holds no learning rate to scale; build tx with an optlab "
            "optimizer (optlab.adam(...), ...), end the chain with optlab.scale_by_learning_rate, or "
            "wrap an optax one in optax.inject_hyperparams"
        )
    return found


def group_ratios(opt_state: Any) -> tuple[np.ndarray, ...]:
    """Each learning rate over the largest one, in tree order (dtypes kept).

    Raises:
      ValueError: as :func:`learning_rates`, or every learning rate is 0.
    """
    bases = learning_rates(opt_state)
    top = max(float(b) for b in bases)
    if not top > 0:
        raise ValueError("lr_find: every learning rate in state.opt_state is 0; build tx with a positive one")
    return tuple(np.asarray(float(b) / top, b.dtype) for b in bases)


def with_learning_rates(opt_state: Any, ratios: tuple, lr: jax.Array) -> Any:
    """``opt_state`` with its k-th learning rate set to ``ratios[k] * lr`` (traceable, dtypes kept)."""
    remaining = iter(ratios)
    return _map(opt_state, lambda value: (next(remaining) * lr).astype(value.dtype))
