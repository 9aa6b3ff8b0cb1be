"""Learning rates per group: discriminative (fastai ``slice(lo, hi)``) and layer-wise decay (ELECTRA).

Both build a :func:`optlab.transfer.partition` whose groups each run ``optimizer(lr_group)``, so
every group keeps its own optlab learning-rate state: :func:`group_learning_rates` reads them all,
``optlab.practice.lr_find`` scales them by one common factor (their ratios are kept), and a
schedule applies per group when ``optimizer`` builds one from the group's rate, e.g.
``optimizer=lambda lr: optlab.adam(optlab.schedules.cosine(lr, total_steps))``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
import optax

import optlab

from .._checks import positive, real_scalar
from ._partition import PartitionState, partition, partition_by
from ._paths import NO_DEFAULT, compile_rules, labels_of_paths, param_paths

__all__ = [
    "discriminative_lrs",
    "geometric_lrs",
    "group_learning_rates",
    "layerwise_lr_decay",
    "layerwise_lr_multipliers",
]

Optimizer = Callable[[Any], optax.GradientTransformation]


def geometric_lrs(lo: float, hi: float, n: int) -> list[float]:
    """fastai's ``slice(lo, hi)``: ``n`` rates spaced geometrically, ``lr_k = lo * (hi/lo)**(k/(n-1))``.

    >>> [round(x, 6) for x in geometric_lrs(1e-4, 1e-2, 3)]
    [0.0001, 0.001, 0.01]
    """
    lo, hi = float(positive(lo, "lo")), float(positive(hi, "hi"))
    if lo > hi:
        raise ValueError(f"lo must be <= hi, got lo={lo!r} and hi={hi!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if n == 1:
        return [hi]
    return [lo * (hi / lo) ** (k / (n - 1)) for k in range(n)]


def _built(optimizer: Optimizer, lr: float, name: str) -> optax.GradientTransformation:
    if not callable(optimizer):
        raise ValueError(f"{name} must be a callable lr -> GradientTransformation, got {optimizer!r}")
    tx = optimizer(lr)
    if not isinstance(tx, optax.GradientTransformation):
        raise ValueError(f"{name}({lr!r}) must return an optax.GradientTransformation, got {tx!r}")
    return tx


def discriminative_lrs(
    groups: Sequence[str], lo: float, hi: float, *, optimizer: Optimizer = optlab.adam, default: Any = NO_DEFAULT,
) -> optax.GradientTransformation:
    """A :func:`partition` with one group per regex in ``groups`` (lowest layers first) and
    ``lr_k = geometric_lrs(lo, hi, len(groups))[k]``: the bottom group gets ``lo``, the top ``hi``.

    ``optimizer(lr)`` builds each group's transformation (default ``optlab.adam``); ``default``
    as in :func:`partition` (e.g. ``None`` to freeze what no group covers).

    Example:
      >>> from optlab.transfer import discriminative_lrs
      >>> tx = discriminative_lrs(["Conv_.*", "Dense_0/.*", "Dense_1/.*"], 1e-4, 1e-2)
    """
    if isinstance(groups, str) or not isinstance(groups, Sequence) or not groups:
        raise ValueError(f"groups must be a non-empty sequence of regex strings, got {groups!r}")
    lrs = geometric_lrs(lo, hi, len(groups))
    return partition([(g, _built(optimizer, lr, "optimizer")) for g, lr in zip(groups, lrs)], default)


def _depths(paths: list[str], depth: Any) -> list[int]:
    """The depth of each path, validated (ints >= 0); list rules must each match something."""
    if not callable(depth):
        rules = compile_rules(depth, "depth")
        values = labels_of_paths(paths, rules, NO_DEFAULT, "depth")
    else:
        values = [depth(path) for path in paths]
    for path, value in zip(paths, values):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"depth of {path!r} must be an int >= 0, got {value!r}")
        if value < 0:
            raise ValueError(f"depth of {path!r} must be >= 0, got {value!r}")
    return [int(v) for v in values]


def _check_decay(decay: Any) -> float:
    value = real_scalar(decay, "decay")
    if not 0.0 < value <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay!r}")
    return value


def _check_depth(depth: Any) -> None:
    if not callable(depth):
        compile_rules(depth, "depth")


def layerwise_lr_multipliers(params: Any, decay: float, depth: Any) -> dict[str, float]:
    """``{path: decay**(L - depth(path))}`` with ``L`` the largest depth: the factor on ``base_lr``.

    ``depth`` is a function ``path -> int >= 0`` or rules ``[(regex, depth), ...]`` (first
    ``re.fullmatch`` wins; every parameter must be covered, every rule used).
    """
    decay = _check_decay(decay)
    _check_depth(depth)
    paths = param_paths(params)
    depths = _depths(paths, depth)
    top = max(depths)
    return {path: decay ** (top - d) for path, d in zip(paths, depths)}


def layerwise_lr_decay(
    base_lr: float, decay: float, depth: Any, *, optimizer: Optimizer = optlab.adam,
) -> optax.GradientTransformation:
    """Layer-wise learning-rate decay (ELECTRA, Clark et al. 2020; BEiT, Bao et al. 2022).

    ``lr_i = base_lr * decay**(L - depth_i)``: the top layers (depth ``L``, the largest depth among
    the parameters) learn at ``base_lr``, each layer below at ``decay`` times the one above.
    ``depth`` is a function ``path -> int >= 0`` or rules ``[(regex, depth), ...]``; one group (an
    ``optimizer(lr_i)`` transformation) per depth, labelled ``"depth <d>"``.

    Example:
      >>> from optlab.transfer import layerwise_lr_decay
      >>> tx = layerwise_lr_decay(1e-3, 0.5, [("Conv_0/.*", 0), ("Conv_1/.*", 1), (".*", 2)])

    Raises:
      ValueError: ``base_lr`` not > 0, ``decay`` outside ``(0, 1]``, a bad depth rule; at
        ``init``: a depth below 0 or not an int (naming the path), a rule matching nothing.
    """
    base_lr = float(positive(base_lr, "base_lr"))
    decay = _check_decay(decay)
    _check_depth(depth)
    if not callable(optimizer):
        raise ValueError(f"optimizer must be a callable lr -> GradientTransformation, got {optimizer!r}")

    def labels_of(paths: list[str]) -> list[str]:
        return [f"depth {d}" for d in _depths(paths, depth)]

    def transforms_of(labels: list[str]) -> dict[str, optax.GradientTransformation]:
        depths = sorted({int(label.split()[1]) for label in labels})
        top = depths[-1]
        return {f"depth {d}": _built(optimizer, base_lr * decay ** (top - d), "optimizer") for d in depths}

    return partition_by(labels_of, transforms_of)


def _lr_nodes(tree: Any) -> list:
    is_lr = lambda n: isinstance(n, (optlab.LearningRateState, optlab.ScheduledLearningRateState))  # noqa: E731
    return [n for n in jax.tree_util.tree_leaves(tree, is_leaf=is_lr) if is_lr(n)]


def group_learning_rates(opt_state: Any) -> dict[str, jax.Array]:
    """``{label: current learning rate}`` for every group of the partition in ``opt_state``.

    The partition may sit anywhere in ``opt_state`` (inside a chain, a TrainState's
    ``opt_state``). Groups whose transformation holds exactly one optlab learning-rate state are
    listed (frozen groups and groups built from other libraries' optimizers hold none).
    Works inside ``jit``.

    Raises:
      ValueError: ``opt_state`` holds no partition state.
    """
    is_partition = lambda n: isinstance(n, PartitionState)  # noqa: E731
    found = [n for n in jax.tree_util.tree_leaves(opt_state, is_leaf=is_partition) if is_partition(n)]
    if not found:
        raise ValueError("opt_state holds no optlab.transfer partition state")
    rates = {}
    for state in found:
        for label, group in state.inner.inner_states.items():
            if len(_lr_nodes(group)) == 1:
                rates[label] = optlab.current_learning_rate(group)
    return rates
