"""The lab: 2-D loss landscapes from the lecture, optimizer races on them, their pictures, and
the experiments (``compare``, the report) built on the library."""

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

__all__ = [
    "LANDSCAPES",
    "Landscape",
    "RaceResult",
    "format_table",
    "local_minimum",
    "plateau",
    "race",
    "ravine",
    "rosenbrock",
    "saddle",
    "sweep",
]
