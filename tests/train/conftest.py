"""Shared fixtures for the training-layer tests: digits data and a tiny MLP on it."""

import logging

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
import pytest

from optlab.data import load_digits

# orbax logs (not warns) about unreadable checkpoint dirs we create on purpose; keep output quiet.
logging.getLogger("absl").setLevel(logging.ERROR)


class TinyMLP(nn.Module):
    """8x8 digits -> 32 hidden -> 10 logits: compiles in well under a second."""

    @nn.compact
    def __call__(self, x):
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(10)(nn.relu(nn.Dense(32)(x)))


def noisy_loss(apply_fn):
    """Cross-entropy with input noise drawn from ``rng``: makes the per-step RNG observable."""

    def loss_fn(params, x, y, rng):
        if rng is not None:
            x = x + 0.05 * jax.random.normal(rng, x.shape, x.dtype)
        logits = apply_fn({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits

    return loss_fn


@pytest.fixture(scope="session")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="session")
def tiny_mlp(digits):
    model = TinyMLP()
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    return model, params
