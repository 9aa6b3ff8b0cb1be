"""optlab: the classic deep-learning training recipe as small, exact, composable JAX parts.

Update rules are pure ``optax.GradientTransformation`` chains of named building blocks; schedules
are pure ``step -> value`` functions in :mod:`optlab.schedules`. See README.md for the tour.
"""

from . import schedules as schedules
from ._apply import apply_updates as apply_updates
from .rules import AdagradState as AdagradState
from .rules import AdamState as AdamState
from .rules import LearningRateState as LearningRateState
from .rules import MomentumState as MomentumState
from .rules import RmsState as RmsState
from .rules import ScheduledLearningRateState as ScheduledLearningRateState
from .rules import adagrad as adagrad
from .rules import adagrad_accumulator as adagrad_accumulator
from .rules import adam as adam
from .rules import adam_scaling as adam_scaling
from .rules import adamw as adamw
from .rules import add_decayed_weights as add_decayed_weights
from .rules import current_learning_rate as current_learning_rate
from .rules import momentum as momentum
from .rules import momentum_trace as momentum_trace
from .rules import nesterov as nesterov
from .rules import rms_scaling as rms_scaling
from .rules import rmsprop as rmsprop
from .rules import scale_by_learning_rate as scale_by_learning_rate
from .rules import set_learning_rate as set_learning_rate
from .rules import sgd as sgd

__version__ = "0.1.0"

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
    "apply_updates",
    "current_learning_rate",
    "momentum",
    "momentum_trace",
    "nesterov",
    "rms_scaling",
    "rmsprop",
    "scale_by_learning_rate",
    "schedules",
    "set_learning_rate",
    "sgd",
]
