"""Members of an ensemble stacked on a leading axis, so one vmapped program runs all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Members(NamedTuple):
    """``K`` members stacked: every leaf of ``params`` (and ``model_state``) has a leading axis ``K``.

    ``model_state`` holds the non-parameter collections (e.g. ``{"batch_stats": ...}``) or ``None``.
    Build one from a list with :func:`stack_members`; ``train_independent`` returns one.
    """

    params: Any
    model_state: Any = None

    @property
    def size(self) -> int:
        """The number of members ``K``."""
        return int(jax.tree.leaves(self.params)[0].shape[0])

    def member(self, k: int) -> tuple[Any, Any]:
        """``(params, model_state)`` of member ``k`` (``model_state`` may be ``None``)."""
        take = lambda tree: jax.tree.map(lambda a: a[k], tree)  # noqa: E731
        return take(self.params), (None if self.model_state is None else take(self.model_state))


def _signature(tree: Any) -> list[tuple[str, tuple[int, ...], str]]:
    """Each leaf's path, shape and dtype (static fields such as ``tx`` closures are not compared)."""
    return [
        (jax.tree_util.keystr(path), tuple(np.shape(leaf)), str(jnp.result_type(leaf)))
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
    ]


def check_same_trees(trees: Sequence[Any], name: str) -> None:
    """``ValueError`` naming ``name`` unless every tree has the first one's type, paths, shapes, dtypes."""
    first = _signature(trees[0])
    for k, tree in enumerate(trees[1:], start=1):
        if type(tree) is not type(trees[0]):
            raise ValueError(f"{name}: member {k} is a {type(tree).__name__}, member 0 a {type(trees[0]).__name__}")
        other = _signature(tree)
        if other != first:
            diff = next((a, b) for a, b in zip(first + [None], other + [None]) if a != b)
            raise ValueError(
                f"{name}: the members' trees differ (member 0 has {diff[0]}, member {k} has {diff[1]}); "
                "members of one ensemble need the same architecture"
            )


def stack_trees(trees: Sequence[Any], name: str) -> Any:
    """The trees stacked leafwise on a new leading axis, in the first tree's structure.

    The first tree's static fields (``apply_fn``, ``tx``, ...) are kept: states built by the same
    factory carry equal-in-behaviour but distinct ``tx`` closures, which ``jax.tree.map`` would
    refuse. Raises ``ValueError`` naming ``name`` when the trees differ (:func:`check_same_trees`).
    """
    if not trees:
        raise ValueError(f"{name} must hold at least one member, got none")
    check_same_trees(trees, name)
    treedef = jax.tree.structure(trees[0])
    columns = zip(*(jax.tree.leaves(tree) for tree in trees))
    return jax.tree.unflatten(treedef, [jnp.stack(column) for column in columns])


def unstack_tree(tree: Any, k: int) -> Any:
    """Member ``k`` of a stacked tree."""
    return jax.tree.map(lambda a: a[k], tree)


def _is_pair(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and not hasattr(item, "_fields")


def stack_members(members: Any, name: str = "members") -> Members:
    """``members`` as :class:`Members`: a ``Members`` as is; a list of params trees, or of
    ``(params, model_state)`` pairs, stacked (same trees required, ``ValueError`` naming ``name``)."""
    if isinstance(members, Members):
        if not jax.tree.leaves(members.params):
            raise ValueError(f"{name} has no parameters")
        return members
    if not isinstance(members, (list, tuple)) or not members:
        raise ValueError(
            f"{name} must be a non-empty list of params trees or (params, model_state) pairs, or a "
            f"Members of stacked params, got {type(members).__name__}"
        )
    pairs = [_is_pair(item) for item in members]
    if any(pairs) and not all(pairs):
        raise ValueError(f"{name}: either every member is a (params, model_state) pair or none is")
    if all(pairs):
        params = stack_trees([p for p, _ in members], name)
        states = [s for _, s in members]
        if any(s is None for s in states):
            if not all(s is None for s in states):
                raise ValueError(f"{name}: some members have a model_state and some do not")
            return Members(params)
        return Members(params, stack_trees(states, name))
    return Members(stack_trees(list(members), name))
