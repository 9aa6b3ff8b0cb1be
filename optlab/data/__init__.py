"""Small real data sets for examples, tests and the report."""

from ._digits import Dataset as Dataset
from ._digits import DigitsSplits as DigitsSplits
from ._digits import load_digits as load_digits

__all__ = ["Dataset", "DigitsSplits", "load_digits"]
