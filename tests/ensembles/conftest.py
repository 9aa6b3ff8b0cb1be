"""Shared by the ensemble tests: a digits subset."""

import pytest

from optlab.data import load_digits


@pytest.fixture(scope="session")
def small_digits():
    splits = load_digits(seed=0)
    return (splits.train.x[:240], splits.train.y[:240]), (splits.val.x[:100], splits.val.y[:100])
