"""Fixtures for the transfer tests: digits, and the digits CNN with small widths (fast to compile)."""

import jax
import jax.numpy as jnp
import pytest

from optlab.data import load_digits
from optlab.models import DigitsCNN


@pytest.fixture(scope="session")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="session")
def small(digits):
    """200 training images: enough for a few steps."""
    return digits.train.x[:200], digits.train.y[:200]


@pytest.fixture(scope="session")
def cnn():
    model = DigitsCNN(features=(4, 8), hidden=16)
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    return model, params


@pytest.fixture(scope="session")
def bn_cnn():
    model = DigitsCNN(features=(4, 8), hidden=16, batch_norm=True)
    variables = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
    return model, variables["params"], {"batch_stats": variables["batch_stats"]}
