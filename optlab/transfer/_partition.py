"""``partition``: one transformation per group of parameters chosen by path rules; ``None`` freezes.

``partition([("Conv_.*", None), ("Dense_0/.*", optlab.adam(1e-4)), (".*", optlab.adam(1e-3))])``
freezes the convolutions, gives ``Dense_0`` a smaller learning rate and the rest the base one.
Groups are formed with :func:`optlab.transfer.param_labels` (first ``re.fullmatch`` wins; every
leaf covered, every rule used) and run through ``optax.multi_transform``, so each group's
transformation only ever sees (and keeps state for) its own leaves.

A frozen leaf (rule ``None``):

* has **no optimizer state at all** (its group's state is ``optax.EmptyState()``: no moments);
* gets an update of exactly ``-0.0``, the one float that leaves every value bit-identical under
  ``params + update`` (``+0.0`` would turn a ``-0.0`` parameter into ``+0.0``); so it is never
  decayed, clipped into motion or averaged away, whatever else the groups do;
* is **not differentiated**: the state carries the static marker ``frozen_leaves`` (one bool per
  leaf of ``params``, in ``jax.tree.leaves`` order) that ``TrainState.value_and_grad`` reads from
  ``opt_state`` wherever the partition sits (inside ``optax.chain``, ``inject_hyperparams``, ...),
  and it differentiates the loss only with respect to the trainable leaves
  (:func:`optlab.transfer.trainable_mask`). The frozen leaves' gradients are exact zeros.

Put the partition last in a chain when other transformations change updates (``optax.chain(
optax.clip_by_global_norm(1.0), partition(...))``): a transformation after it (e.g. weight decay)
would move frozen leaves again. Weight decay belongs inside a group (``optlab.adamw`` as the
group's transformation). ``FlatTrainState`` packs leaves into buffers and has no paths: it refuses
a partition at ``create`` (use ``TrainState``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ..train._state import frozen_leaves_of
from ._paths import NO_DEFAULT, compile_rules, labels_of_paths, param_paths, path_string

__all__ = ["DEFAULT_LABEL", "PartitionState", "freeze", "frozen_paths", "partition", "partition_by", "trainable_mask"]

DEFAULT_LABEL = "<default>"


class PartitionState(struct.PyTreeNode):
    """The state of :func:`partition`: ``optax.multi_transform``'s state and the frozen marker.

    Attributes:
      inner: ``optax.MultiTransformState``; ``inner.inner_states[label]`` is that group's state
        (the label of a rule is its regex, ``"<default>"`` for ``default``).
      frozen_leaves: static; ``frozen_leaves[i]`` is True when leaf ``i`` of ``params`` (in
        ``jax.tree.leaves`` order) is frozen. ``TrainState.value_and_grad`` reads it.
    """

    inner: Any
    frozen_leaves: tuple[bool, ...] = struct.field(pytree_node=False, default=())


def freeze() -> optax.GradientTransformation:
    """No state, and an update of ``-0.0`` for every leaf (``p + (-0.0)`` is ``p``, bit for bit)."""

    def init(params: Any) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        return jax.tree.map(lambda u: jnp.full_like(u, -0.0), updates), state

    return optax.GradientTransformation(init, update)


def partition_by(
    labels_of: Callable[[list[str]], list[str]],
    transforms_of: Callable[[list[str]], Mapping[str, optax.GradientTransformation | None]],
) -> optax.GradientTransformation:
    """The general form behind :func:`partition`: labels from the paths, a transformation per label.

    ``labels_of(paths) -> labels`` (one string per leaf, paths as :func:`optlab.transfer.param_paths`
    gives them); ``transforms_of(labels) -> {label: transformation or None}`` (``None`` freezes).
    Both run at trace time on every ``init``/``update`` (pure Python on the paths).
    """

    def plan(tree: Any) -> tuple[optax.GradientTransformation, tuple[bool, ...]]:
        leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
        labels = labels_of([path_string(path) for path, _ in leaves])
        transforms = dict(transforms_of(labels))
        frozen = tuple(transforms[label] is None for label in labels)
        used = set(labels)
        inner = {label: freeze() if tx is None else tx for label, tx in transforms.items() if label in used}
        return optax.multi_transform(inner, jax.tree_util.tree_unflatten(treedef, labels)), frozen

    def init(params: Any) -> PartitionState:
        multi, frozen = plan(params)
        return PartitionState(inner=multi.init(params), frozen_leaves=frozen)

    def update(updates: Any, state: PartitionState, params: Any = None) -> tuple[Any, PartitionState]:
        multi, _ = plan(updates)
        updates, inner = multi.update(updates, state.inner, params)
        return updates, state.replace(inner=inner)

    return optax.GradientTransformation(init, update)


def _check_transform(value: Any, where: str) -> Any:
    if value is not None and not isinstance(value, optax.GradientTransformation):
        raise ValueError(f"{where} must be an optax.GradientTransformation or None (freeze), got {value!r}")
    return value


def _flat_hint(paths: list[str]) -> str:
    if paths and all(path.split(".")[0] in ("float16", "bfloat16", "float32", "float64") for path in paths):
        return (
            " (these look like FlatTrainState buffers: a partition needs the parameter tree, so "
            "FlatTrainState cannot run it; use optlab.train.TrainState)"
        )
    return ""


def partition(
    rules: Sequence[tuple[str, optax.GradientTransformation | None]], default: Any = NO_DEFAULT,
) -> optax.GradientTransformation:
    """One transformation per group of parameters; ``rules = [(regex, transformation or None), ...]``.

    Each leaf goes to the first rule whose regex :func:`re.fullmatch` es its path (``"Conv_0/kernel"``,
    see :func:`optlab.transfer.param_paths`); ``None`` freezes the group (no state, update ``-0.0``,
    not differentiated by ``TrainState``). ``default`` (a transformation or ``None``) takes the
    leaves no rule covers; without it they are an error. The state is a :class:`PartitionState`.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> from optlab.transfer import partition
      >>> params = {"Conv_0": {"kernel": jnp.ones(2)}, "Dense_0": {"kernel": jnp.ones(2)}}
      >>> tx = partition([("Conv_.*", None), (".*", optlab.sgd(0.5))])
      >>> state = tx.init(params)
      >>> updates, state = tx.update({"Conv_0": {"kernel": jnp.ones(2)}, "Dense_0": {"kernel": jnp.ones(2)}}, state)
      >>> optlab.apply_updates(params, updates)["Conv_0"]["kernel"], state.frozen_leaves
      (Array([1., 1.], dtype=float32), (True, False))

    Raises:
      ValueError: an invalid regex, a rule that is not ``(str, transformation or None)`` (named),
        ``default`` not a transformation or None; at ``init``: a rule that matches no parameter,
        parameters no rule covers (listed).
    """
    compiled = compile_rules(rules)
    for index, (_, tx) in enumerate(compiled):
        _check_transform(tx, f"rules[{index}] ({rules[index][0]!r})")
    if default is not NO_DEFAULT:
        _check_transform(default, "default")
    labelled = [(pattern, pattern.pattern) for pattern, _ in compiled]
    transforms = {pattern.pattern: tx for pattern, tx in compiled}
    if default is not NO_DEFAULT:
        transforms[DEFAULT_LABEL] = default

    def labels_of(paths: list[str]) -> list[str]:
        try:
            return labels_of_paths(paths, labelled, DEFAULT_LABEL if default is not NO_DEFAULT else NO_DEFAULT)
        except ValueError as error:
            raise ValueError(f"partition: {error}{_flat_hint(paths)}") from None

    return partition_by(labels_of, lambda labels: transforms)


def trainable_mask(tx: Any, params: Any) -> Any:
    """A tree like ``params``: ``True`` where ``tx`` trains the leaf, ``False`` where it freezes it.

    ``tx`` is a transformation (its state is traced abstractly, nothing runs) or an optimizer
    state. Reads the ``frozen_leaves`` marker of the :class:`PartitionState` wherever it sits
    (also inside ``optax.chain``); all ``True`` when ``tx`` holds no partition. This is what
    ``TrainState.value_and_grad`` uses to differentiate only the trainable leaves.

    >>> import jax.numpy as jnp, optax, optlab
    >>> from optlab.transfer import partition, trainable_mask
    >>> tx = optax.chain(optax.clip_by_global_norm(1.0), partition([("a", None), ("b", optlab.sgd(0.1))]))
    >>> trainable_mask(tx, {"a": jnp.ones(2), "b": jnp.ones(2)})
    {'a': False, 'b': True}
    """
    opt_state = jax.eval_shape(tx.init, params) if isinstance(tx, optax.GradientTransformation) else tx
    leaves, treedef = jax.tree.flatten(params)
    frozen = frozen_leaves_of(opt_state, params) or (False,) * len(leaves)
    return jax.tree.unflatten(treedef, [not f for f in frozen])


def frozen_paths(tx: Any, params: Any) -> list[str]:
    """The paths of the leaves ``tx`` freezes (see :func:`trainable_mask`)."""
    mask = jax.tree.leaves(trainable_mask(tx, params))
    return [path for path, trained in zip(param_paths(params), mask) if not trained]
