"""Several processes (hosts), one program: global arrays from local data, one writer, agreed values.

Each process runs the same script after ``jax.distributed.initialize(coordinator, num_processes,
process_id)``; ``jax.devices()`` then lists every process's devices and a ``Mesh`` over them spans
the hosts. Rules that keep the processes in step:

* every process calls every jitted function and every collective (a collective inside
  ``if jax.process_index() == 0`` waits forever for the others);
* only process 0 writes logs, plots and progress (:func:`is_writer`); checkpoints are written by
  all processes together (orbax coordinates them);
* decisions (early stopping, best checkpoint) are taken on values reduced over the global batch
  inside ``jit``, so every process reads the same number.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._rules import data_axes

__all__ = ["global_batch", "global_mean", "is_writer", "put", "sync"]


def is_writer() -> bool:
    """True on the one process that writes logs, plots and progress (process 0)."""
    return jax.process_index() == 0


def sync(name: str) -> None:
    """Wait until every process reaches this point (no-op on one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


def _put_leaf(leaf: Any, sharding: NamedSharding) -> Any:
    if not isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
        return leaf
    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        impl = jax.random.key_impl(leaf)
        return jax.random.wrap_key_data(_put_leaf(jax.random.key_data(leaf), sharding), impl=impl)
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
        return jax.jit(lambda a: a, out_shardings=sharding)(leaf)  # global already: reshard
    if jax.process_count() == 1:
        return jax.device_put(jax.numpy.array(leaf, copy=True) if isinstance(leaf, jax.Array) else leaf, sharding)
    host = np.asarray(leaf)  # every process holds the same value
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def put(tree: Any, shardings: Any) -> Any:
    """Every array of ``tree`` as a new global array with its sharding from ``shardings``.

    On several processes each must pass the same values (e.g. the same seed); arrays already
    spread over the processes are resharded by an identity ``jit``.
    """
    return jax.tree.map(_put_leaf, tree, shardings)


def global_batch(local: Any, mesh: Mesh) -> Any:
    """Global arrays, split along the leading dimension over every device, from each process's rows.

    Each process passes its own rows (``jax.make_array_from_process_local_data``): the global
    batch is the processes' rows in process order, ``num_processes x`` as large as ``local``.

    >>> import jax, numpy as np
    >>> mesh = jax.make_mesh((1,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    >>> global_batch({"x": np.ones((4, 2))}, mesh)["x"].shape
    (4, 2)
    """
    sharding = NamedSharding(mesh, PartitionSpec(data_axes(mesh)))
    return jax.tree.map(lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), local)


def global_mean(value: Any) -> float:
    """The mean over processes of a host scalar (every process gets the same number).

    For values computed on each process's own data outside ``jit`` (inside ``jit`` a mean over a
    global array already is global).
    """
    gathered = multihost_utils.process_allgather(np.asarray(value, np.float64)) if jax.process_count() > 1 else np.asarray(value, np.float64)
    return float(np.mean(gathered))
