"""Small Flax models used by the examples, tests and the report."""

from ._cnn import DigitsCNN as DigitsCNN

__all__ = ["DigitsCNN"]
