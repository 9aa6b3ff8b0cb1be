"""Ensembles: independent members in one vmapped program, snapshot ensembles, prediction averaging.

Weight averaging (Polyak/EMA and SWA) lives in the training state: ``TrainState.create(...,
ema_decay=0.95, swa_start=..., swa_every=...)``.
"""

from ._experiment import run_experiment as run_experiment
from ._independent import IndependentResult as IndependentResult
from ._independent import train_independent as train_independent
from ._members import Members as Members
from ._members import stack_members as stack_members
from ._predict import COMBINES as COMBINES
from ._predict import evaluate as evaluate
from ._predict import predict as predict
from ._snapshot import SnapshotResult as SnapshotResult
from ._snapshot import load_snapshots as load_snapshots
from ._snapshot import snapshot_ensemble as snapshot_ensemble
from ._snapshot import snapshot_schedule as snapshot_schedule

__all__ = [
    "COMBINES",
    "IndependentResult",
    "Members",
    "SnapshotResult",
    "evaluate",
    "load_snapshots",
    "predict",
    "run_experiment",
    "snapshot_ensemble",
    "snapshot_schedule",
    "stack_members",
    "train_independent",
]
