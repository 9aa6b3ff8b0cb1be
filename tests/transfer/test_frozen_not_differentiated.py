"""TrainState.value_and_grad differentiates only the leaves the partition trains."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optlab
from optlab.train import TrainState, classifier_loss
from optlab.transfer import param_paths, partition


def _conv_count(jaxpr) -> int:
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name == "conv_general_dilated"
        for value in eqn.params.values():
            inner = getattr(value, "jaxpr", None)
            if inner is not None:
                count += _conv_count(getattr(inner, "jaxpr", inner))
    return count


def _state(cnn, tx):
    model, params = cnn
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx)


def test_backward_pass_has_no_convolution_gradients_when_convs_are_frozen(cnn, small):
    model, _ = cnn
    loss = classifier_loss(model.apply)
    x, y = jnp.asarray(small[0][:8]), jnp.asarray(small[1][:8])
    frozen = _state(cnn, optax.chain(optax.clip_by_global_norm(1.0), partition([("Conv_.*", None), (".*", optlab.sgd(0.1))])))
    trained = _state(cnn, partition([(".*", optlab.sgd(0.1))]))
    count = lambda s: _conv_count(jax.make_jaxpr(lambda s: s.value_and_grad(loss, x, y, None, has_aux=True))(s).jaxpr)  # noqa: E731
    # forward: 2 convolutions. Trainable: + 2 kernel gradients + 1 input gradient (Conv_1's input)
    assert count(trained) == 5
    assert count(frozen) == 2


def test_custom_vjp_counter_sees_only_trainable_leaves(cnn, small):
    model, params = cnn
    seen = []

    def tap(path):
        @jax.custom_vjp
        def identity(w):
            return w

        def fwd(w):
            return w, None

        def bwd(_, g):
            seen.append(path)  # runs when this leaf's cotangent is computed (at trace time)
            return (g,)

        identity.defvjp(fwd, bwd)
        return identity

    inner = classifier_loss(model.apply)

    def loss(p, x, y, rng):
        paths = param_paths(p)
        leaves, treedef = jax.tree.flatten(p)
        return inner(jax.tree.unflatten(treedef, [tap(k)(w) for k, w in zip(paths, leaves)]), x, y, rng)

    x, y = jnp.asarray(small[0][:8]), jnp.asarray(small[1][:8])
    state = _state(cnn, partition([("Conv_.*|Dense_0/.*", None), (".*", optlab.sgd(0.1))]))
    (_, _), grads = jax.jit(lambda s: s.value_and_grad(loss, x, y, None, has_aux=True))(state)
    assert sorted(seen) == ["Dense_1/bias", "Dense_1/kernel"]
    # frozen leaves: exact zeros of the parameter's shape and dtype; trainable: the full gradient
    for name in ("Conv_0", "Conv_1", "Dense_0"):
        for g, p in zip(jax.tree.leaves(grads[name]), jax.tree.leaves(params[name])):
            assert g.shape == p.shape and g.dtype == p.dtype and not np.any(np.asarray(g))
    full = jax.grad(lambda p: inner(p, x, y, None)[0])(params)
    np.testing.assert_allclose(grads["Dense_1"]["kernel"], full["Dense_1"]["kernel"], rtol=1e-6, atol=1e-7)
