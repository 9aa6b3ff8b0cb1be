"""A small convolutional network for the 8x8 digits."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class DigitsCNN(nn.Module):
    """``conv3x3(c1) - [bn] - relu - conv3x3(c2) - [bn] - relu - avgpool2 - dense(hidden) - relu - dense(classes)``.

    Input ``(N, 8, 8, 1)`` float images, output ``(N, num_classes)`` logits. About 38k parameters
    with the defaults: big enough for ~98% on digits, small enough to train in seconds on a CPU.
    With ``batch_norm=True`` each convolution is followed by ``BatchNorm`` (momentum
    ``bn_momentum``; its ``batch_stats`` collection is the model state): call it with
    ``train=True`` and ``mutable=["batch_stats"]`` in training, ``train=False`` (running averages)
    otherwise.

    >>> model = DigitsCNN()
    >>> params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    >>> model.apply({"params": params}, jnp.zeros((2, 8, 8, 1))).shape
    (2, 10)
    >>> sorted(DigitsCNN(batch_norm=True).init(jax.random.key(0), jnp.zeros((1, 8, 8, 1))))
    ['batch_stats', 'params']
    """

    features: Sequence[int] = (16, 32)
    hidden: int = 64
    num_classes: int = 10
    batch_norm: bool = False
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        for width in self.features:
            x = nn.Conv(width, kernel_size=(3, 3), use_bias=not self.batch_norm)(x)
            if self.batch_norm:
                x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum)(x)
            x = nn.relu(x)
        x = nn.avg_pool(x, window_shape=(2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(self.num_classes)(x)
