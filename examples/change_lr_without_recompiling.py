"""Read and change the learning rate between jitted steps, without recompiling.
Run: python examples/change_lr_without_recompiling.py"""

import jax
import jax.numpy as jnp

import optlab

params = {"w": jnp.array([3.0, -2.0])}
tx = optlab.sgd(0.1)
state = tx.init(params)


@jax.jit
def step(params, state):
    grads = jax.grad(lambda p: jnp.sum(p["w"] ** 2))(params)
    updates, state = tx.update(grads, state, params)
    return optlab.apply_updates(params, updates), state


for epoch in range(3):
    for _ in range(10):
        params, state = step(params, state)
    print(f"epoch {epoch}: lr={float(optlab.current_learning_rate(state)):.4f} w={params['w']}")
    state = optlab.set_learning_rate(state, optlab.current_learning_rate(state) * 0.1)
print(f"compiled {step._cache_size()} time(s) for 3 learning rates")
