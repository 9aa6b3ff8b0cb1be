"""The lab: 2-D loss landscapes from the lecture and optimizer races on them."""

from ._landscapes import Landscape as Landscape
from ._landscapes import ravine as ravine
from ._race import RaceResult as RaceResult
from ._race import format_table as format_table
from ._race import race as race

__all__ = ["Landscape", "RaceResult", "format_table", "race", "ravine"]
