"""Parameter paths as strings, and labels from ``(regex, label)`` rules (big_vision's form).

A leaf's path is its keys joined by ``/``: ``{"params": {"Conv_0": {"kernel": w}}}`` under
``"params"`` gives ``"Conv_0/kernel"`` for the linen ``params`` collection; list indices are
numbers (``"layers/0/kernel"``); for an ``nnx.State`` the trailing ``.value`` of each Variable is
dropped, so ``nnx`` and linen name the same layer the same way.

Rules are matched with :func:`re.fullmatch` (as in big_vision's ``make_mask_trees``): ``"Conv_0"``
matches nothing, ``"Conv_0/.*"`` matches both leaves of the layer and ``".*"`` everything. The first
rule that matches a leaf labels it. Being strict is the point: a leaf no rule covers is an error
that lists the uncovered paths (unless a ``default`` label is given), and a rule that covers no
leaf is an error naming the rule — the name-based masks that silently miss LayerNorm's ``scale``
or match a misspelt layer cannot happen here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import jax

__all__ = ["NO_DEFAULT", "compile_rules", "param_labels", "param_paths", "path_string"]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()  # "no default label": every leaf must be covered by a rule


def _key_name(key: Any) -> str:
    for attribute in ("key", "name", "idx"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def path_string(keypath: Sequence[Any]) -> str:
    """``(DictKey("Conv_0"), DictKey("kernel")) -> "Conv_0/kernel"`` (an nnx ``.value`` dropped)."""
    keys = list(keypath)
    if keys and isinstance(keys[-1], jax.tree_util.GetAttrKey) and keys[-1].name == "value":
        keys = keys[:-1]
    return "/".join(_key_name(key) for key in keys)


def param_paths(params: Any) -> list[str]:
    """The path of every leaf of ``params``, in ``jax.tree.leaves`` order.

    >>> import jax.numpy as jnp
    >>> param_paths({"Dense_0": {"bias": jnp.zeros(2), "kernel": jnp.zeros((3, 2))}, "scale": [jnp.ones(1)]})
    ['Dense_0/bias', 'Dense_0/kernel', 'scale/0']
    """
    return [path_string(path) for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]


def compile_rules(rules: Any, name: str = "rules") -> list[tuple[re.Pattern, Any]]:
    """``rules`` as ``[(compiled regex, value)]``; ``ValueError`` naming ``name`` and the bad rule.

    Each rule is a pair ``(regex string, value)``; a regex that does not compile is refused.
    """
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence) or not rules:
        raise ValueError(f"{name} must be a non-empty sequence of (regex, value) pairs, got {rules!r}")
    compiled = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, (tuple, list)) or len(rule) != 2 or not isinstance(rule[0], str):
            raise ValueError(f"{name}[{index}] must be a pair (regex string, value), got {rule!r}")
        try:
            compiled.append((re.compile(rule[0]), rule[1]))
        except re.error as error:
            raise ValueError(f"{name}[{index}]: invalid regex {rule[0]!r}: {error}") from None
    return compiled


def labels_of_paths(
    paths: Sequence[str], rules: Sequence[tuple[re.Pattern, Any]], default: Any = NO_DEFAULT, name: str = "rules",
) -> list[Any]:
    """The label of each path: the value of the first rule whose regex fullmatches it.

    Raises:
      ValueError: a rule matches no path (named), or a path is uncovered without ``default``
        (every uncovered path listed).
    """
    labels, used, uncovered = [], set(), []
    for path in paths:
        for index, (pattern, value) in enumerate(rules):
            if pattern.fullmatch(path):
                labels.append(value)
                used.add(index)
                break
        else:
            labels.append(default)
            uncovered.append(path)
    unused = [f"{name}[{i}] {rules[i][0].pattern!r}" for i in range(len(rules)) if i not in used]
    if unused:
        raise ValueError(
            f"{', '.join(unused)} matches no parameter (re.fullmatch against the paths {_preview(paths)})"
        )
    if uncovered and default is NO_DEFAULT:
        raise ValueError(
            f"{name}: no rule covers {len(uncovered)} parameter(s): {', '.join(uncovered)}; add a rule "
            "(e.g. ('.*', ...)) or a default"
        )
    return labels


def _preview(paths: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f", ... ({len(paths)} in all)" if len(paths) > limit else "")


def param_labels(params: Any, rules: Any, default: Any = NO_DEFAULT) -> Any:
    """A tree like ``params`` holding each leaf's label from ``rules = [(regex, label), ...]``.

    The first rule whose regex :func:`re.fullmatch` es the leaf's path (:func:`param_paths`) gives
    its label; ``default`` labels the leaves no rule covers (without it they are an error).

    Example:
      >>> import jax.numpy as jnp
      >>> params = {"Conv_0": {"kernel": jnp.zeros(3)}, "Dense_0": {"bias": jnp.zeros(2)}}
      >>> param_labels(params, [("Conv_.*", "backbone"), (".*", "head")])
      {'Conv_0': {'kernel': 'backbone'}, 'Dense_0': {'bias': 'head'}}

    Raises:
      ValueError: an invalid regex or malformed rule, a rule that matches no leaf (named), or
        leaves no rule covers (listed) without ``default``.
    """
    compiled = compile_rules(rules)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    labels = labels_of_paths([path_string(p) for p, _ in leaves], compiled, default)
    return jax.tree_util.tree_unflatten(treedef, labels)
