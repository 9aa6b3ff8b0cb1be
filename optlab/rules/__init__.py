"""Update rules and their building blocks, one file per lecture section."""

from ._adagrad import AdagradState as AdagradState
from ._adagrad import adagrad as adagrad
from ._adagrad import adagrad_accumulator as adagrad_accumulator
from ._adam import AdamState as AdamState
from ._adam import adam as adam
from ._adam import adam_scaling as adam_scaling
from ._adam import adamw as adamw
from ._hyperparams import current_learning_rate as current_learning_rate
from ._hyperparams import set_learning_rate as set_learning_rate
from ._learning_rate import LearningRateState as LearningRateState
from ._learning_rate import ScheduledLearningRateState as ScheduledLearningRateState
from ._learning_rate import scale_by_learning_rate as scale_by_learning_rate
from ._momentum import MomentumState as MomentumState
from ._momentum import momentum as momentum
from ._momentum import momentum_trace as momentum_trace
from ._momentum import nesterov as nesterov
from ._rmsprop import RmsState as RmsState
from ._rmsprop import rms_scaling as rms_scaling
from ._rmsprop import rmsprop as rmsprop
from ._sgd import sgd as sgd
from ._weight_decay import add_decayed_weights as add_decayed_weights

__all__ = [
    "AdagradState",
    "AdamState",
    "LearningRateState",
    "MomentumState",
    "RmsState",
    "ScheduledLearningRateState",
    "adagrad",
    "adagrad_accumulator",
    "adam",
    "adam_scaling",
    "adamw",
    "add_decayed_weights",
    "current_learning_rate",
    "momentum",
    "momentum_trace",
    "nesterov",
    "rms_scaling",
    "rmsprop",
    "scale_by_learning_rate",
    "set_learning_rate",
    "sgd",
]
