"""Atomic checkpoints on orbax-checkpoint: every N epochs, best k by a metric, restore into a target.

Each checkpoint is one orbax step directory named by the epoch, holding the leaves of a pytree
(``state``) and a JSON document (``meta``). Orbax writes into a temporary directory and renames it
when complete, so a crash during a save leaves the previous checkpoints intact. Restoring goes
*into a target tree*: the saved leaves are put back into the target's structure, so NamedTuples,
dataclasses and flax structs come back as themselves (never as dicts), and a mismatch in paths,
shapes or dtypes raises ``ValueError`` naming the first offending leaf.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from .._checks import int_at_least

_log = logging.getLogger(__name__)
_CORRUPT_SUFFIX = ".unreadable-"


class TargetMismatchError(ValueError):
    """The restore target's leaves (paths or shapes) differ from the checkpoint's."""


class Restored(NamedTuple):
    """A restored checkpoint: ``tree`` in the target's structure, its ``meta`` dict, its ``epoch``."""

    tree: Any
    meta: dict
    epoch: int


def _is_key(leaf: Any) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _to_saveable(leaf: Any) -> Any:
    """Typed PRNG keys are saved as their raw ``key_data``; everything else as an array."""
    if _is_key(leaf):
        return jax.random.key_data(leaf)
    return leaf if isinstance(leaf, (jax.Array, np.ndarray)) else np.asarray(leaf)


def _flatten(tree: Any) -> tuple[list[str], dict[str, Any]]:
    pairs = jax.tree_util.tree_flatten_with_path(tree)[0]
    paths = [jax.tree_util.keystr(path) for path, _ in pairs]
    leaves = {f"{i:06d}": _to_saveable(leaf) for i, (_, leaf) in enumerate(pairs)}
    return paths, leaves


class Checkpoints:
    """Save/restore pytrees per epoch under ``directory``; keep the latest and the best checkpoints.

    ``keep_latest`` newest checkpoints and the ``keep_best`` ones with the best ``metric``
    (smallest for ``mode="min"``, largest for ``mode="max"``; NaN ranks last) are kept, the rest
    deleted. ``every`` is the save interval used by :meth:`due`.

    >>> import tempfile
    >>> ckpt = Checkpoints(tempfile.mkdtemp(), keep_best=1, mode="min")
    >>> ckpt.save(1, {"w": jnp.ones(2)}, metric=0.5)
    >>> ckpt.restore_latest({"w": jnp.zeros(2)}).tree["w"].tolist()
    [1.0, 1.0]
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        every: int = 1,
        keep_latest: int = 1,
        keep_best: int = 1,
        mode: str = "min",
    ) -> None:
        self.every = int_at_least(every, "every", 1)
        self.keep_latest = int_at_least(keep_latest, "keep_latest", 1)
        self.keep_best = int_at_least(keep_best, "keep_best", 0)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.directory = os.path.abspath(os.fspath(directory))
        options = ocp.CheckpointManagerOptions(
            enable_async_checkpointing=False, cleanup_tmp_directories=True
        )
        self._manager = ocp.CheckpointManager(
            self.directory, options=options, item_names=("state", "meta")
        )
        self._metrics: dict[int, float | None] = {}
        for epoch in self.epochs():
            try:
                self._metrics[epoch] = self._read_meta(epoch)["metric"]
            except Exception:  # unreadable: neither ranked nor deleted
                continue

    def due(self, epoch: int) -> bool:
        """Whether ``epoch`` is on the save interval (``epoch % every == 0``)."""
        return epoch % self.every == 0

    def _rank_value(self, metric: float | None) -> float:
        worst = math.inf if self.mode == "min" else -math.inf
        return worst if metric is None or math.isnan(metric) else float(metric)

    def save(self, epoch: int, tree: Any, *, metric: float | None = None, meta: dict | None = None) -> None:
        """Write ``tree`` (+ JSON-able ``meta``) as the checkpoint of ``epoch``, atomically."""
        epoch = int_at_least(epoch, "epoch", 0)
        paths, leaves = _flatten(tree)
        doc = {
            "epoch": epoch,
            "metric": metric,
            "paths": paths,
            "shapes": [list(np.shape(leaf)) for leaf in leaves.values()],
            "dtypes": [np.dtype(leaf.dtype).name for leaf in leaves.values()],
            "meta": dict(meta or {}),
        }
        self._manager.save(
            epoch,
            args=ocp.args.Composite(state=ocp.args.StandardSave(leaves), meta=ocp.args.JsonSave(doc)),
            force=True,
        )
        self._metrics[epoch] = None if metric is None else float(metric)
        self._prune()

    def _ranked(self) -> list[int]:
        """Readable epochs, best metric first; among ties the earliest (a later tie is no improvement)."""
        sign = 1.0 if self.mode == "min" else -1.0
        return sorted(self._metrics, key=lambda e: (sign * self._rank_value(self._metrics[e]), e))

    def _prune(self) -> None:
        keep = set(sorted(self._metrics)[-self.keep_latest :]) | set(self._ranked()[: self.keep_best])
        for epoch in [e for e in self._metrics if e not in keep]:
            self._manager.delete(epoch)
            del self._metrics[epoch]

    def epochs(self) -> list[int]:
        """All checkpoint epochs on disk (complete or not), ascending; temporary dirs excluded."""
        self._manager.reload()
        return sorted(self._manager.all_steps())

    def _read_meta(self, epoch: int) -> dict:
        return self._manager.restore(epoch, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))[
            "meta"
        ]

    def restore(self, epoch: int, target: Any) -> Restored:
        """Restore the checkpoint of ``epoch`` into the structure of ``target``.

        ``target`` may be any part of the saved tree with the same nesting (e.g. ``{"state": s}``
        out of a ``fit`` checkpoint); each of its leaves must exist in the checkpoint with the
        same shape and dtype. Each restored leaf gets the sharding of the target's leaf (when the
        target leaf is a ``jax.Array``), so a checkpoint written on one mesh restores onto another
        mesh shape or device count (or one device) without naming any sharding by hand.
        """
        doc = self._read_meta(epoch)
        index = {path: i for i, path in enumerate(doc["paths"])}
        paths, target_leaves = _flatten(target)
        for path, leaf in zip(paths, target_leaves.values()):
            if path not in index:
                raise TargetMismatchError(f"leaf {path} of the target is not in checkpoint {epoch}")
            i = index[path]
            saved = (tuple(doc["shapes"][i]), doc["dtypes"][i])
            if saved != (np.shape(leaf), np.dtype(leaf.dtype).name):
                raise TargetMismatchError(
                    f"leaf {path}: checkpoint {epoch} has shape/dtype {saved}, "
                    f"target {(np.shape(leaf), np.dtype(leaf.dtype).name)}"
                )
        abstract = {
            f"{i:06d}": jax.ShapeDtypeStruct(tuple(shape), np.dtype(dtype))
            for i, (shape, dtype) in enumerate(zip(doc["shapes"], doc["dtypes"]))
        }
        for path, leaf in zip(paths, target_leaves.values()):  # each leaf lands where the target's is
            if isinstance(leaf, jax.Array):
                name = f"{index[path]:06d}"
                abstract[name] = jax.ShapeDtypeStruct(abstract[name].shape, abstract[name].dtype, sharding=leaf.sharding)
        leaves = self._manager.restore(
            epoch, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
        )["state"]
        restored = []
        for path, original in zip(paths, jax.tree.leaves(target)):
            value = jnp.asarray(leaves[f"{index[path]:06d}"])
            if _is_key(original):
                value = jax.random.wrap_key_data(value, impl=jax.random.key_impl(original))
            restored.append(value)
        tree = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(target), restored)
        return Restored(tree=tree, meta=doc["meta"], epoch=int(doc["epoch"]))

    def _first_readable(self, order: list[int], target: Any) -> Restored | None:
        for epoch in order:
            try:
                return self.restore(epoch, target)
            except TargetMismatchError:
                raise
            except Exception as error:  # an incomplete or damaged directory: skip it
                _log.warning("checkpoint %d in %s is unreadable (%s); skipped", epoch, self.directory, error)
        return None

    def restore_latest(self, target: Any) -> Restored | None:
        """The newest readable checkpoint into ``target``; ``None`` when there is none."""
        return self._first_readable(self.epochs()[::-1], target)

    def restore_best(self, target: Any) -> Restored | None:
        """The readable checkpoint with the best metric (earliest on ties) into ``target``."""
        return self._first_readable(self._ranked(), target)

    def quarantine_after(self, epoch: int) -> list[str]:
        """Rename checkpoint dirs newer than ``epoch`` out of the way (``<n>.unreadable-<ns>``).

        Used when resuming from ``epoch`` because a newer directory could not be read: the run
        will write those epochs again, and orbax refuses to overwrite an existing step.
        """
        moved = []
        for newer in [e for e in self.epochs() if e > epoch]:
            self._metrics.pop(newer, None)
            source = os.path.join(self.directory, str(newer))
            target = f"{source}{_CORRUPT_SUFFIX}{time.time_ns()}"
            if jax.process_index() == 0:  # several processes: one renames, all wait for it
                os.rename(source, target)
            moved.append(target)
        if moved:
            if jax.process_count() > 1:
                from jax.experimental import multihost_utils

                multihost_utils.sync_global_devices("optlab-checkpoints-quarantine")
            self._manager.reload()
        return moved

    def close(self) -> None:
        """Release orbax's resources."""
        self._manager.close()

    def __enter__(self) -> Checkpoints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
