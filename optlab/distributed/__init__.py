"""Many devices and hosts on JAX's own sharding: dp/fsdp rules, state placement, multi-host helpers.

* :class:`Strategy`, ``"dp"`` / ``"fsdp"`` — what is replicated and what is split (big_vision's
  fsdp rule; ``rules=[(regex, PartitionSpec)]`` overrides per path).
* :func:`shard_state`, :func:`state_shardings`, :class:`Placement`, :func:`batch_sharding` — put a
  TrainState/FlatTrainState on a mesh with the optimizer state following the parameters.
* :func:`global_batch`, :func:`is_writer`, :func:`global_mean`, :func:`sync` — several processes.

``optlab.train.fit(..., mesh=mesh, strategy="fsdp")`` uses these (imported lazily, only when a mesh
is given); this package imports nothing from ``optlab.train``.
"""

from ._multihost import global_batch as global_batch
from ._multihost import global_mean as global_mean
from ._multihost import is_writer as is_writer
from ._multihost import put as put
from ._multihost import sync as sync
from ._rules import STRATEGIES as STRATEGIES
from ._rules import Strategy as Strategy
from ._shard import Placement as Placement
from ._shard import batch_sharding as batch_sharding
from ._shard import shard_state as shard_state
from ._shard import state_shardings as state_shardings

__all__ = [
    "STRATEGIES",
    "Placement",
    "Strategy",
    "batch_sharding",
    "global_batch",
    "global_mean",
    "is_writer",
    "put",
    "shard_state",
    "state_shardings",
    "sync",
]
