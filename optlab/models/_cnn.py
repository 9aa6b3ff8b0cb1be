"""A small convolutional network for the 8x8 digits."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class DigitsCNN(nn.Module):
    """``conv3x3(c1) - relu - conv3x3(c2) - relu - avgpool2 - dense(hidden) - relu - dense(classes)``.

    Input ``(N, 8, 8, 1)`` float images, output ``(N, num_classes)`` logits. About 38k parameters
    with the defaults: big enough for ~98% on digits, small enough to train in seconds on a CPU.

    >>> model = DigitsCNN()
    >>> params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    >>> model.apply({"params": params}, jnp.zeros((2, 8, 8, 1))).shape
    (2, 10)
    """

    features: Sequence[int] = (16, 32)
    hidden: int = 64
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.features:
            x = nn.relu(nn.Conv(width, kernel_size=(3, 3))(x))
        x = nn.avg_pool(x, window_shape=(2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(self.num_classes)(x)
