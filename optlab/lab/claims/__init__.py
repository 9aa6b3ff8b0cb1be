"""The lecture's claims, one small module per claim, in one registry: :data:`CLAIMS`.

``python -m optlab report`` measures every claim in :data:`CLAIMS`, in order, and writes
``report.md``, ``report.html`` and ``claims.json`` (see :mod:`optlab.lab._report`).

Adding a claim (the extension point)
------------------------------------
1. Write ``optlab/lab/claims/_<name>.py`` defining

   - ``measure(budget: Budget) -> Measurement``: run the experiment with fixed seeds; return the
     numbers the verdict rests on (a JSON-able dict) and a ``matplotlib.figure.Figure`` (or None).
     Use ``budget.pick(quick, full)`` for sizes: ``--quick`` must stay a smoke run of the same code.
   - ``verdict(numbers) -> str``: a small pure function of the numbers returning ``HELD``,
     ``DID_NOT_HOLD`` or ``INCONCLUSIVE`` (test it on crafted numbers for held and did not hold).
   - ``CLAIM = Claim(id, title, claim, rule, measure, verdict)``: ``claim`` is the lecture's
     statement, ``rule`` the decision rule in words.

2. Replace that claim's ``not_measured(...)`` line in :data:`CLAIMS` below with ``_<name>.CLAIM``
   (one line; ids 10-13 are reserved for practice, ensembles and transfer).

A claim whose parts do not exist yet stays a ``not_measured(...)`` entry: the report lists it as
"not measured", which is not the same as "inconclusive" (measured, but the numbers do not decide).
"""

from . import _adagrad, _adam_bias, _early_stopping, _lr_sweep, _nesterov, _ravine, _saddle, _schedules, _staircase
from . import _transfer
from . import _ensembles
from . import _initial_loss, _overfit_subset
from ._base import DID_NOT_HOLD as DID_NOT_HOLD
from ._base import HELD as HELD
from ._base import INCONCLUSIVE as INCONCLUSIVE
from ._base import NOT_MEASURED as NOT_MEASURED
from ._base import Budget as Budget
from ._base import Claim as Claim
from ._base import Measurement as Measurement
from ._base import not_measured as not_measured

CLAIMS: tuple[Claim, ...] = (
    _ravine.CLAIM,
    _saddle.CLAIM,
    _nesterov.CLAIM,
    _adagrad.CLAIM,
    _adam_bias.CLAIM,
    _staircase.CLAIM,
    _schedules.CLAIM,
    _lr_sweep.CLAIM,
    _early_stopping.CLAIM,
    _initial_loss.CLAIM,
    _overfit_subset.CLAIM,
    _ensembles.CLAIM,
    _transfer.CLAIM,
)

__all__ = [
    "CLAIMS",
    "DID_NOT_HOLD",
    "HELD",
    "INCONCLUSIVE",
    "NOT_MEASURED",
    "Budget",
    "Claim",
    "Measurement",
    "not_measured",
]
