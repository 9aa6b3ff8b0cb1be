"""create() refuses transformations that are not elementwise; donation; allocator; fit; doctests."""

import doctest
import importlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optlab
from optlab.perf import allocator_env, train_step, tune_allocator
from optlab.train import TrainState
from optlab.train._flat_state import FlatTrainState

PARAMS = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3), "h": jnp.ones(5, jnp.bfloat16)}


@pytest.mark.parametrize(
    "tx",
    [
        optlab.adamw(0.1, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p)),
        optax.chain(optax.clip_by_block_rms(0.1), optax.sgd(0.1)),
        optax.masked(optax.sgd(0.1), {"w": True, "b": False, "h": True}),
    ],
    ids=["adamw_mask", "block_rms_clip", "masked_tree"],
)
def test_create_refuses_non_elementwise_transformations(tx):
    with pytest.raises(ValueError, match="tx=.*(not elementwise|cannot run on flat)"):
        FlatTrainState.create(apply_fn=None, params=PARAMS, tx=tx)


def test_create_validates_its_arguments():
    with pytest.raises(ValueError, match="tx must be an optax.GradientTransformation, got 3"):
        FlatTrainState.create(apply_fn=None, params=PARAMS, tx=3)
    with pytest.raises(ValueError, match="check_tx must be a bool, got 1"):
        FlatTrainState.create(apply_fn=None, params=PARAMS, tx=optlab.sgd(0.1), check_tx=1)
    with pytest.raises(ValueError, match="dynamic_offsets must be a bool, got None"):
        FlatTrainState.create(apply_fn=None, params=PARAMS, tx=optlab.sgd(0.1), dynamic_offsets=None)
    with pytest.raises(ValueError, match="ema_decay"):
        FlatTrainState.create(apply_fn=None, params=PARAMS, tx=optlab.sgd(0.1), ema_decay=1.5)


def _fresh():
    return jax.tree.map(lambda p: jnp.array(p, copy=True), PARAMS)


def _loss(params, x):
    return jnp.sum((x @ params["w"] + params["b"][None]) ** 2) + jnp.sum(params["h"].astype(jnp.float32) ** 2)


@pytest.mark.parametrize(
    "cls, kwargs",
    [(FlatTrainState, {}), (FlatTrainState, {"dynamic_offsets": True}), (TrainState, {})],
    ids=["flat", "flat_dynamic_offsets", "tree"],
)
def test_donated_step_has_no_unusable_donation_warning(cls, kwargs):
    state = cls.create(apply_fn=None, params=_fresh(), tx=optlab.adam(0.01), ema_decay=0.9, **kwargs)
    step = train_step(_loss)
    x = jnp.ones((2, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            old = state
            state, loss = step(state, x)
        jax.block_until_ready(state)
    assert np.isfinite(loss)
    assert jax.tree.leaves(old)[1].is_deleted()  # the input state was donated


def test_donated_flat_step_equals_tree_step():
    x = jnp.ones((2, 4))
    flat = FlatTrainState.create(apply_fn=None, params=PARAMS, tx=optlab.adam(0.01))
    tree = TrainState.create(apply_fn=None, params=_fresh(), tx=optlab.adam(0.01))
    flat_step, tree_step = train_step(_loss), train_step(_loss, donate=False)
    for _ in range(10):
        (flat, lf), (tree, lt) = flat_step(flat, x), tree_step(tree, x)
    np.testing.assert_array_max_ulp(lf, lt, maxulp=1)
    for a, b in zip(jax.tree.leaves(flat.params), jax.tree.leaves(tree.params)):
        np.testing.assert_array_max_ulp(np.asarray(a, np.float32), np.asarray(b, np.float32), maxulp=1)


def test_train_step_validates_flags():
    with pytest.raises(ValueError, match="donate must be a bool, got 'yes'"):
        train_step(_loss, donate="yes")


def test_tune_allocator_returns_what_it_set():
    settings = tune_allocator(mmap_threshold=2**30, trim_threshold=2**30, arena_max=8)
    assert settings == {"M_MMAP_THRESHOLD": 2**30, "M_TRIM_THRESHOLD": 2**30, "M_ARENA_MAX": 8}
    with pytest.raises(ValueError, match="arena_max must be an int in \\[1, 2147483647\\], got 0"):
        tune_allocator(arena_max=0)
    with pytest.raises(ValueError, match="mmap_threshold must be an int .* got -5"):
        allocator_env(mmap_threshold=-5)
    assert allocator_env() == {
        "MALLOC_MMAP_THRESHOLD_": "2147483647",
        "MALLOC_TRIM_THRESHOLD_": "2147483647",
        "MALLOC_ARENA_MAX": "1",
    }


@pytest.mark.parametrize("dynamic_offsets", [False, True])
def test_fit_runs_on_flat_state_and_matches_tree_state(dynamic_offsets):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = rng.normal(size=(64, 3)).astype(np.float32)

    def loss_fn(params, xb, yb, key):
        out = xb @ params["w"] + params["b"][None]
        return jnp.mean((out - yb) ** 2) + 0 * jnp.sum(params["h"].astype(jnp.float32)), out

    kwargs = dict(epochs=2, batch_size=16, progress=False, tensorboard=False, plot=False)
    results = [
        optlab.train.fit(state, loss_fn, (x, y), **kwargs)
        for state in (
            FlatTrainState.create(apply_fn=None, params=_fresh(), tx=optlab.adam(0.01), dynamic_offsets=dynamic_offsets),
            TrainState.create(apply_fn=None, params=_fresh(), tx=optlab.adam(0.01)),
        )
    ]
    flat, tree = (r.state.params for r in results)
    for a, b in zip(jax.tree.leaves(flat), jax.tree.leaves(tree)):
        np.testing.assert_array_max_ulp(np.asarray(a, np.float32), np.asarray(b, np.float32), maxulp=1)


@pytest.mark.parametrize(
    "name", ["optlab.perf._allocator", "optlab.perf._step", "optlab.train._flat_state"]
)
def test_docstring_examples_run(name):
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0
