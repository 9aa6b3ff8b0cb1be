"""What ``optlab.train.fit(..., mesh=..., strategy=...)`` asks of this package (imported lazily)."""

from __future__ import annotations

from typing import Any

from ._shard import Placement, check_mesh


def fit_placement(state: Any, mesh: Any, strategy: Any, batch_size: int) -> Placement:
    """The checked placement of a ``fit`` run: ``mesh`` a Mesh, ``strategy`` known, ``batch_size``
    a multiple of the device count (each device gets ``batch_size / devices`` rows per step)."""
    placement = Placement.for_state(state, check_mesh(mesh), strategy)
    placement.check_batch_size(batch_size)
    return placement
