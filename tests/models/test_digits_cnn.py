import jax
import jax.numpy as jnp

from optlab.models import DigitsCNN


def test_cnn_shapes_and_parameter_count():
    model = DigitsCNN()
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    logits = model.apply({"params": params}, jnp.ones((5, 8, 8, 1)))
    assert logits.shape == (5, 10) and logits.dtype == jnp.float32
    assert sum(p.size for p in jax.tree.leaves(params)) == 38282


def test_cnn_is_configurable():
    model = DigitsCNN(features=(4,), hidden=8, num_classes=3)
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    assert model.apply({"params": params}, jnp.zeros((2, 8, 8, 1))).shape == (2, 3)
    assert params["Conv_0"]["kernel"].shape == (3, 3, 1, 4)
