"""Helpers of the ensemble tests: two tiny models (with and without BatchNorm) and a state factory."""

import flax.linen as nn
import jax
import jax.numpy as jnp

import optlab
from optlab.train import TrainState


class Tiny(nn.Module):
    """8x8 digits -> 16 hidden [-> BatchNorm] -> 10 logits: compiles in well under a second."""

    batch_norm: bool = False

    @nn.compact
    def __call__(self, x, train=False):
        h = nn.Dense(16)(x.reshape((x.shape[0], -1)))
        if self.batch_norm:
            h = nn.BatchNorm(use_running_average=not train, momentum=0.8)(h)
        return nn.Dense(10)(nn.relu(h))


def make_state_factory(batch_norm=False, tx=None, **kwargs):
    """``seed -> TrainState`` of :class:`Tiny` initialised with ``key(seed)``."""
    model = Tiny(batch_norm=batch_norm)

    def make_state(seed):
        variables = model.init(jax.random.key(seed), jnp.zeros((1, 8, 8, 1)))
        return TrainState.create(
            apply_fn=model.apply, params=variables["params"], tx=tx or optlab.momentum(0.05),
            model_state={"batch_stats": variables["batch_stats"]} if batch_norm else None, **kwargs,
        )

    return model, make_state
