"""Which ``PartitionSpec`` each leaf gets: per-path regex overrides, then the strategy's default.

Strategies (both shard the batch over every mesh axis, i.e. over all devices):

* ``"dp"`` — data parallel: every leaf replicated (``P()``), only the batch is split.
* ``"fsdp"`` — fully sharded data parallel, big_vision's default rule (``big_vision/sharding.py``,
  ``fsdp``): a leaf of at least ``min_shard_bytes`` is split along its *largest* dimension that
  the number of devices ``D`` divides (ties: the later dimension); smaller leaves stay replicated;
  a large leaf with no dimension divisible by ``D`` stays replicated and is *reported*
  (:attr:`Plan.unsharded`, one ``logging`` warning), never an error.

Scalars (``step``, ``count``, learning rates) are always ``P()``. ``rules=[(regex, spec)]`` come
first: the first ``regex`` that ``re.search``-matches a leaf's path (its keys joined by ``/``,
e.g. ``params/Dense_0/kernel``, ``flat_params/float32``) gives that leaf ``spec``; the spec must
name mesh axes and divide the leaf's dimensions (``ValueError`` otherwise, naming the rule).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, PartitionSpec

__all__ = ["STRATEGIES", "Strategy", "leaf_spec", "path_name", "strategy_of"]

_log = logging.getLogger("optlab.distributed")
STRATEGIES = ("dp", "fsdp")
MIN_SHARD_BYTES = 4 << 20  # big_vision's min_size_to_shard_mb=4


@dataclasses.dataclass(frozen=True)
class Strategy:
    """``name`` (``"dp"`` or ``"fsdp"``), per-path ``rules`` and fsdp's size threshold.

    >>> from jax.sharding import PartitionSpec as P
    >>> Strategy("fsdp", rules=((r"kernel$", P(None, "data")),), min_shard_bytes=0).name
    'fsdp'
    """

    name: str = "dp"
    rules: tuple[tuple[str, PartitionSpec], ...] = ()
    min_shard_bytes: int = MIN_SHARD_BYTES

    def __post_init__(self) -> None:
        if self.name not in STRATEGIES:
            raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {self.name!r}")
        if isinstance(self.min_shard_bytes, bool) or not isinstance(self.min_shard_bytes, int) or self.min_shard_bytes < 0:
            raise ValueError(f"min_shard_bytes must be an int >= 0, got {self.min_shard_bytes!r}")
        rules = tuple(self.rules)
        for rule in rules:
            if not (isinstance(rule, tuple) and len(rule) == 2 and isinstance(rule[0], str)
                    and isinstance(rule[1], PartitionSpec)):
                raise ValueError(f"rules must be (regex, PartitionSpec) pairs, got {rule!r}")
            try:
                re.compile(rule[0])
            except re.error as error:
                raise ValueError(f"rules: {rule[0]!r} is not a regular expression ({error})") from None
        object.__setattr__(self, "rules", rules)


def strategy_of(strategy: Any, rules: Any = None) -> Strategy:
    """``strategy`` (``"dp"``, ``"fsdp"`` or a :class:`Strategy`) with ``rules`` (if given) in it."""
    if isinstance(strategy, Strategy):
        return strategy if rules is None else dataclasses.replace(strategy, rules=tuple(rules))
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {list(STRATEGIES)} or a Strategy, got {strategy!r}")
    return Strategy(strategy, rules=tuple(rules or ()))


def path_name(path: tuple) -> str:
    """A key path as ``a/b/0/c`` (dict keys, attribute names and sequence indices)."""
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return "/".join(parts)


def data_axes(mesh: Mesh) -> tuple[str, ...]:
    """All mesh axes: the batch (and fsdp's sharded dimension) is split over every device."""
    return tuple(mesh.axis_names)


def _check_rule_spec(regex: str, spec: PartitionSpec, name: str, shape: tuple[int, ...], mesh: Mesh) -> None:
    if len(spec) > len(shape):
        raise ValueError(f"rules: ({regex!r}, {spec}) has {len(spec)} entries for {name} of shape {shape}")
    for dim, entry in zip(shape, spec):
        axes = () if entry is None else (entry if isinstance(entry, tuple) else (entry,))
        unknown = [a for a in axes if a not in mesh.shape]
        if unknown:
            raise ValueError(f"rules: ({regex!r}, {spec}) names axes {unknown} not in the mesh {dict(mesh.shape)}")
        size = math.prod(mesh.shape[a] for a in axes)
        if dim % size:
            raise ValueError(
                f"rules: ({regex!r}, {spec}) splits a dimension of size {dim} of {name} {shape} "
                f"into {size} parts"
            )


def canonical(spec: PartitionSpec) -> PartitionSpec:
    """``spec`` without trailing ``None`` s: ``P("data", None)`` and ``P("data")`` are the same
    placement, but unequal shardings, and jit would compile the step again for the other one."""
    entries = list(spec)
    while entries and entries[-1] is None:
        entries.pop()
    return PartitionSpec(*entries)


def leaf_spec(name: str, shape: tuple[int, ...], itemsize: int, mesh: Mesh, strategy: Strategy,
              unsharded: list[str]) -> PartitionSpec:
    """The spec of one leaf (see the module docstring); appends ``name`` to ``unsharded`` when
    fsdp's default rule wants to split it and cannot."""
    if not shape:
        return PartitionSpec()
    for regex, spec in strategy.rules:
        if re.search(regex, name):
            _check_rule_spec(regex, spec, name, shape, mesh)
            return canonical(spec)
    if strategy.name == "dp" or math.prod(shape) * itemsize < strategy.min_shard_bytes:
        return PartitionSpec()
    axes = data_axes(mesh)
    devices = math.prod(mesh.shape[a] for a in axes)
    for dim in np.argsort(shape, kind="stable")[::-1]:
        if shape[dim] % devices == 0:
            return canonical(PartitionSpec(*(axes if i == dim else None for i in range(len(shape)))))
    unsharded.append(f"{name} {shape}")
    return PartitionSpec()


def report_unsharded(unsharded: list[str], devices: int) -> None:
    """One warning listing the leaves fsdp left replicated (no dimension divisible by ``devices``)."""
    if unsharded:
        _log.warning(
            "fsdp: %d leaves have no dimension divisible by %d devices and stay replicated: %s",
            len(unsharded), devices, ", ".join(unsharded),
        )


def tree_leaf_specs(tree: Any, mesh: Mesh, strategy: Strategy, prefix: str = "") -> tuple[Any, list[str]]:
    """``(specs, unsharded)``: :func:`leaf_spec` for every array leaf of ``tree`` (paths under ``prefix``)."""
    unsharded: list[str] = []

    def spec(path, leaf):
        name = "/".join(p for p in (prefix, path_name(path)) if p)
        dtype = np.dtype(leaf.dtype) if not jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key) else np.dtype("uint32")
        return leaf_spec(name, tuple(np.shape(leaf)), dtype.itemsize, mesh, strategy, unsharded)

    return jax.tree_util.tree_map_with_path(spec, tree), unsharded
