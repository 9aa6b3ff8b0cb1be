"""Fixtures for the good-practice tests: digits, a tiny MLP, logistic regression, the digits CNN."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from optlab.data import load_digits
from optlab.train import classifier_loss


class TinyMLP(nn.Module):
    """8x8 digits -> 32 hidden -> 10 logits: compiles in well under a second."""

    @nn.compact
    def __call__(self, x):
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(10)(nn.relu(nn.Dense(32)(x)))


class Logistic(nn.Module):
    """Multinomial logistic regression on the 64 pixels (a linear model)."""

    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


@pytest.fixture(scope="session")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="session")
def mlp():
    model = TinyMLP()
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    return model, params, classifier_loss(model.apply)


@pytest.fixture(scope="session")
def logistic():
    model = Logistic()
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    return model, params, classifier_loss(model.apply)


@pytest.fixture(scope="session")
def cnn(digits):
    from optlab.models import DigitsCNN

    model = DigitsCNN()
    params = model.init(jax.random.key(0), digits.train.x[:1])["params"]
    return model, params, classifier_loss(model.apply)
