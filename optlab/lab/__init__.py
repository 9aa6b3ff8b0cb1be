"""The lab: 2-D loss landscapes from the lecture, optimizer races on them, their pictures, and
the experiments (``compare``, the report) built on the library.

The pictures (``plot_race``, ``animate_race``, ``plot_schedules``) and ``run_report`` (every claim
of :data:`optlab.lab.claims.CLAIMS`, measured) are loaded on first use: they pull in matplotlib,
flax and scikit-learn, which the landscapes and races do not need.
"""

from ._landscapes import LANDSCAPES as LANDSCAPES
from ._landscapes import Landscape as Landscape
from ._landscapes import local_minimum as local_minimum
from ._landscapes import plateau as plateau
from ._landscapes import ravine as ravine
from ._landscapes import rosenbrock as rosenbrock
from ._landscapes import saddle as saddle
from ._race import RaceResult as RaceResult
from ._race import format_table as format_table
from ._race import race as race
from ._race import sweep as sweep

_LAZY = {
    "animate_race": "._plots",
    "plot_race": "._plots",
    "plot_schedules": "._plots",
    "run_report": "._report",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LANDSCAPES",
    "Landscape",
    "RaceResult",
    "animate_race",
    "format_table",
    "local_minimum",
    "plateau",
    "plot_race",
    "plot_schedules",
    "race",
    "ravine",
    "rosenbrock",
    "run_report",
    "saddle",
    "sweep",
]
