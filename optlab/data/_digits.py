"""scikit-learn's 8x8 handwritten digits with a fixed, seeded train/validation/test split."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split


class Dataset(NamedTuple):
    """One split: ``x`` float32 images ``(N, 8, 8, 1)`` in ``[0, 1]``, ``y`` int32 labels ``(N,)``."""

    x: np.ndarray
    y: np.ndarray


class DigitsSplits(NamedTuple):
    """The three disjoint splits of the 1797 digits images."""

    train: Dataset
    val: Dataset
    test: Dataset


def _check_fraction(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return float(value)


def load_digits(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2) -> DigitsSplits:
    """Load sklearn's digits (bundled with scikit-learn, no download) and split it.

    Pixel values ``0..16`` are scaled to ``[0, 1]``. The split is stratified by label and a pure
    function of ``seed`` and the fractions, so every call returns identical arrays.

    >>> splits = load_digits(seed=0)
    >>> splits.train.x.shape, splits.train.x.dtype.name, splits.test.y.dtype.name
    ((1077, 8, 8, 1), 'float32', 'int32')
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}"
        )
    bunch = sklearn.datasets.load_digits()
    x = (np.asarray(bunch.images, np.float32) / np.float32(16.0))[..., None]
    y = np.asarray(bunch.target, np.int32)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=int(seed), stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest,
        y_rest,
        test_size=val_fraction / (1.0 - test_fraction),
        random_state=int(seed) + 1,
        stratify=y_rest,
    )
    return DigitsSplits(
        train=Dataset(x_train, y_train), val=Dataset(x_val, y_val), test=Dataset(x_test, y_test)
    )
