"""The training layer: TrainState with Polyak/EMA parameters, early stopping, checkpoints, ``fit``."""

from ._batch_stats import recalibrate_batch_stats as recalibrate_batch_stats
from ._batches import epoch_permutation as epoch_permutation
from ._checkpoint import Checkpoints as Checkpoints
from ._checkpoint import Restored as Restored
from ._checkpoint import TargetMismatchError as TargetMismatchError
from ._data import DataChecks as DataChecks
from ._data import check_data as check_data
from ._data import check_fit_data as check_fit_data
from ._data import check_labels as check_labels
from ._data import check_model_data as check_model_data
from ._data import model_state_of as model_state_of
from ._data import own_copy as own_copy
from ._early_stopping import EarlyStopping as EarlyStopping
from ._ema import ema_decay_at as ema_decay_at
from ._ema import ema_update as ema_update
from ._fit import FitResult as FitResult
from ._fit import fit as fit
from ._flat_state import FlatTrainState as FlatTrainState
from ._guard import NonFiniteError as NonFiniteError
from ._logging import read_scalars as read_scalars
from ._logging import write_history as write_history
from ._losses import accuracy as accuracy
from ._losses import classifier_loss as classifier_loss
from ._lr import learning_rate_of as learning_rate_of
from ._plots import plot_learning_curves as plot_learning_curves
from ._state import TrainState as TrainState
from ._swa import swa_update as swa_update

__all__ = [
    "Checkpoints",
    "DataChecks",
    "EarlyStopping",
    "FitResult",
    "FlatTrainState",
    "NonFiniteError",
    "Restored",
    "TargetMismatchError",
    "TrainState",
    "accuracy",
    "check_data",
    "check_fit_data",
    "check_labels",
    "check_model_data",
    "classifier_loss",
    "ema_decay_at",
    "ema_update",
    "epoch_permutation",
    "fit",
    "learning_rate_of",
    "model_state_of",
    "own_copy",
    "plot_learning_curves",
    "read_scalars",
    "recalibrate_batch_stats",
    "swa_update",
    "write_history",
]
