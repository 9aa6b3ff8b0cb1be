"""Learning-rate schedules: pure, jit-safe ``step -> value`` functions (lecture: "Learning rate scheduling")."""

from ._basic import constant as constant
from ._basic import cosine as cosine
from ._basic import exponential as exponential
from ._basic import linear as linear
from ._basic import step as step
from ._compose import cosine_restarts as cosine_restarts
from ._compose import per_epoch as per_epoch
from ._compose import warmup as warmup

__all__ = [
    "constant",
    "cosine",
    "cosine_restarts",
    "exponential",
    "linear",
    "per_epoch",
    "step",
    "warmup",
]
