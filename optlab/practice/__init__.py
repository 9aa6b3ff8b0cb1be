"""Good training practice: check the initial loss, overfit a tiny subset, diagnose learning
curves, find a learning rate (the lecture's "good training practices"); BatchNorm statistics for
averaged weights."""

from ..train._batch_stats import recalibrate_batch_stats as recalibrate_batch_stats

from ._diagnose import KINDS as KINDS
from ._diagnose import DiagnoseThresholds as DiagnoseThresholds
from ._diagnose import Finding as Finding
from ._diagnose import diagnose as diagnose
from ._initial_loss import InitialLossCheck as InitialLossCheck
from ._initial_loss import check_initial_loss as check_initial_loss
from ._lr_find import LRFindResult as LRFindResult
from ._lr_find import LRFindWarning as LRFindWarning
from ._lr_find import lr_find as lr_find
from ._overfit import OverfitResult as OverfitResult
from ._overfit import overfit_subset as overfit_subset

__all__ = [
    "KINDS",
    "DiagnoseThresholds",
    "Finding",
    "InitialLossCheck",
    "LRFindResult",
    "LRFindWarning",
    "OverfitResult",
    "check_initial_loss",
    "diagnose",
    "lr_find",
    "overfit_subset",
    "recalibrate_batch_stats",
]
