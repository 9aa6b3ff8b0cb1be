"""Layout, flatten/unflatten round trips and the custom-VJP gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab.perf import Layout, flatten, layout_of, unflatten
from optlab.train._flat_state import FlatTrainState


def _tree():
    rng = np.random.default_rng(1)
    return {
        "conv": {"w": jnp.asarray(rng.normal(size=(3, 3, 2, 4)), jnp.float32), "b": jnp.zeros(4)},
        "dense": [jnp.asarray(rng.normal(size=(8, 3)), jnp.bfloat16), jnp.ones(3, jnp.bfloat16)],
        "scale": jnp.asarray(rng.normal(size=()), jnp.float32),
    }


def test_layout_offsets_sizes_and_keys():
    layout = layout_of(_tree())
    assert isinstance(layout, Layout)
    assert layout.keys == ("bfloat16", "float32")
    assert dict(layout.sizes) == {"bfloat16": 27, "float32": 72 + 4 + 1}
    offsets = [(s.key, s.offset, s.size) for s in layout.slots]
    assert offsets == [("float32", 0, 4), ("float32", 4, 72), ("bfloat16", 0, 24), ("bfloat16", 24, 3), ("float32", 76, 1)]
    assert hash(layout) == hash(layout_of(_tree())) and layout == layout_of(_tree())
    assert layout != layout_of({"a": jnp.zeros(3)})


def test_unflatten_round_trips_bitwise():
    tree = _tree()
    layout = layout_of(tree)
    flat = flatten(tree, layout)
    back = unflatten(flat, layout)
    assert jax.tree.structure(back) == jax.tree.structure(tree)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), back, tree)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), flatten(back, layout), flat)
    assert all(a.dtype == b.dtype for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(tree)))


def _loss(params, x):
    w = params["conv"]["w"].reshape(-1, 4)
    h = jnp.tanh(x @ w[:3] + params["conv"]["b"][None])
    d = params["dense"][0].astype(jnp.float32)
    return jnp.sum((h[:, :3] @ d[:3] + params["dense"][1].astype(jnp.float32)[None]) ** 2) * params["scale"]


def test_custom_vjp_gradient_equals_tree_gradient():
    tree = _tree()
    layout = layout_of(tree)
    x = jnp.asarray(np.random.default_rng(2).normal(size=(5, 3)), jnp.float32)
    want = jax.grad(_loss)(tree, x)
    got = jax.grad(lambda flat: _loss(unflatten(flat, layout), x))(flatten(tree, layout))
    jax.tree.map(np.testing.assert_array_equal, got, flatten(want, layout))
    got_jit = jax.jit(jax.grad(lambda flat: _loss(unflatten(flat, layout), x)))(flatten(tree, layout))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), got_jit, got)


def test_unused_leaves_get_zero_gradient():
    tree = _tree()
    layout = layout_of(tree)
    got = jax.grad(lambda flat: jnp.sum(unflatten(flat, layout)["conv"]["b"]))(flatten(tree, layout))
    want = flatten(jax.tree.map(jnp.zeros_like, tree), layout)
    want["float32"] = want["float32"].at[:4].set(1.0)
    jax.tree.map(np.testing.assert_array_equal, got, want)


def test_flat_state_params_value_and_grad():
    tree = _tree()
    x = jnp.ones((2, 3))
    state = FlatTrainState.create(apply_fn=None, params=tree, tx=jax.tree.map(lambda f: f, __import__("optlab").sgd(0.1)))
    jax.tree.map(np.testing.assert_array_equal, state.params, tree)
    (loss, aux), grads = state.value_and_grad(lambda p, x: (_loss(p, x), 7), x, has_aux=True)
    assert aux == 7
    assert loss == _loss(tree, x)
    jax.tree.map(np.testing.assert_array_equal, grads, flatten(jax.grad(_loss)(tree, x), state.layout))


def test_bad_inputs_name_the_argument():
    tree = _tree()
    layout = layout_of(tree)
    with pytest.raises(ValueError, match=r"params\['i'\] has dtype int32"):
        layout_of({"i": jnp.ones(2, jnp.int32)})
    with pytest.raises(ValueError, match="at least one array leaf"):
        layout_of({})
    with pytest.raises(ValueError, match=r"tree\['conv'\]\['b'\] has shape \(5,\)"):
        flatten({**tree, "conv": {**tree["conv"], "b": jnp.zeros(5)}}, layout)
    with pytest.raises(ValueError, match=r"buffers\['float32'\] has shape \(3,\)"):
        unflatten({"bfloat16": jnp.zeros(27, jnp.bfloat16), "float32": jnp.zeros(3)}, layout)
    with pytest.raises(ValueError, match="buffers must be a dict with keys"):
        unflatten({"float32": jnp.zeros(77)}, layout)


def test_runtime_offsets_give_the_same_tree_and_gradient():
    from optlab.perf import runtime_offsets

    tree = _tree()
    layout = layout_of(tree)
    flat, offsets = flatten(tree, layout), runtime_offsets(layout)
    assert [int(o) for o in offsets] == [s.offset for s in layout.slots]
    jitted = jax.jit(lambda f, o: unflatten(f, layout, o))(flat, offsets)
    jax.tree.map(np.testing.assert_array_equal, jitted, unflatten(flat, layout))
    x = jnp.asarray(np.random.default_rng(3).normal(size=(5, 3)), jnp.float32)
    grad = jax.jit(jax.grad(lambda f, o: _loss(unflatten(f, layout, o), x)))
    want = jax.jit(jax.grad(lambda f: _loss(unflatten(f, layout), x)))(flat)
    jax.tree.map(np.testing.assert_array_equal, grad(flat, offsets), want)
    with pytest.raises(ValueError, match="offsets must be None or a tuple of 5 int32 scalars, got list"):
        unflatten(flat, layout, list(offsets))


def test_large_leaves_get_own_buffers_and_small_ones_share_buckets():
    tree = {
        "big": jnp.zeros(100),
        "small": [jnp.ones(10) * i for i in range(7)],
        "half": jnp.zeros(5, jnp.bfloat16),
    }
    # own buffer from 50 elements; buckets of at most 25 float32 = 100 bytes.
    layout = layout_of(tree, own_buffer_from=50, bucket_bytes=100)
    slots = [(s.key, s.offset, s.size) for s in layout.slots]
    assert slots == [
        ("float32", 0, 100),  # "big": its own buffer
        ("bfloat16", 0, 5),
        ("float32.1", 0, 10), ("float32.1", 10, 10),  # a bucket holds two (80 of 100 bytes)
        ("float32.2", 0, 10), ("float32.2", 10, 10),
        ("float32.3", 0, 10), ("float32.3", 10, 10),
        ("float32.4", 0, 10),
    ]
    assert layout.dtype("float32.3") == jnp.float32 and layout.dtype("bfloat16") == jnp.bfloat16
    flat = flatten(tree, layout)
    assert flat["float32"] is not None and flat["float32"].shape == (100,)
    back = unflatten(flat, layout)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), back, tree)
    # Gradients through the bucketed layout equal the tree gradients.
    def loss(p):
        return jnp.sum(p["big"] ** 2) + sum(jnp.sum(jnp.sin(x) * (i + 1)) for i, x in enumerate(p["small"])) + jnp.sum(p["half"].astype(jnp.float32))
    flat_grad = jax.grad(lambda b: loss(unflatten(b, layout)))(flat)
    tree_grad = jax.grad(loss)(tree)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), flatten(tree_grad, layout), flat_grad)
    with pytest.raises(ValueError, match="bucket_bytes must be an int >= 1, got 0"):
        layout_of(tree, bucket_bytes=0)


def test_flat_state_with_buckets_matches_tree_state():
    import optlab
    from optlab.train import TrainState

    tree = {"w": [jnp.linspace(-1.0, 1.0, 12).reshape(3, 4) * (i + 1) for i in range(5)], "b": jnp.ones(40)}
    loss = lambda p: sum(jnp.sum(jnp.cos(w)) for w in p["w"]) + jnp.sum(p["b"] ** 3)  # noqa: E731
    flat = FlatTrainState.create(apply_fn=None, params=tree, tx=optlab.adam(0.1), own_buffer_from=30, bucket_bytes=96)
    assert len(flat.flat_params) == 4  # "b" alone; the five 12-element leaves in buckets of two
    ref = TrainState.create(apply_fn=None, params=tree, tx=optlab.adam(0.1))
    for _ in range(5):
        flat = flat.apply_gradients(grads=flat.value_and_grad(loss)[1])
        ref = ref.apply_gradients(grads=ref.value_and_grad(loss)[1])
    jax.tree.map(lambda a, b: np.testing.assert_array_max_ulp(np.asarray(a), np.asarray(b), maxulp=1), flat.params, ref.params)
