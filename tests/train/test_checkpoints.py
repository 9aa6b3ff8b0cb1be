import dataclasses
import os
import shutil
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optlab
from optlab.train import Checkpoints, EarlyStopping, TrainState


class Pair(NamedTuple):
    a: jax.Array
    b: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Box:
    value: jax.Array


TX = optlab.momentum(0.1)


def make_tree(scale):
    state = TrainState.create(apply_fn=None, params={"w": jnp.arange(3.0) * scale}, tx=TX, ema_decay=0.9)
    state = state.apply_gradients(grads={"w": jnp.ones(3)})
    return {
        "state": state,
        "es": EarlyStopping(patience=3).update(scale, state.params),
        "pair": Pair(jnp.int32(7), jnp.ones((2, 2), jnp.bfloat16) * scale),
        "box": Box(jnp.array([scale], jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)),
        "key": jax.random.fold_in(jax.random.key(0), int(scale)),
    }


def assert_same(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_restore_into_target_keeps_types(tmp_path):
    tree = make_tree(2.0)
    with Checkpoints(tmp_path) as ckpt:
        ckpt.save(1, tree, metric=0.5, meta={"note": "x"})
        restored = ckpt.restore_latest(make_tree(0.0))
    assert restored.epoch == 1 and restored.meta == {"note": "x"}
    out = restored.tree
    assert isinstance(out["state"], TrainState) and isinstance(out["es"], EarlyStopping)
    assert isinstance(out["pair"], Pair) and isinstance(out["box"], Box)
    assert type(out["state"].opt_state) is type(tree["state"].opt_state)
    assert isinstance(out["state"].opt_state[-1], optlab.LearningRateState)
    assert out["state"].tx is TX and out["state"].ema_decay == 0.9  # static fields from the target
    assert_same(out, tree)


def test_target_mismatch_names_the_leaf(tmp_path):
    with Checkpoints(tmp_path) as ckpt:
        ckpt.save(1, {"a": jnp.zeros(2)})
        with pytest.raises(ValueError, match=r"leaf \['b'\] of the target is not in checkpoint 1"):
            ckpt.restore(1, {"b": jnp.zeros(2)})
        with pytest.raises(ValueError, match=r"leaf \['a'\]: checkpoint 1 has shape/dtype \(\(2,\), 'float32'\)"):
            ckpt.restore_latest({"a": jnp.zeros(3)})  # a mismatch is an error, not a skipped checkpoint


def test_restore_part_of_the_tree(tmp_path):
    tree = make_tree(3.0)
    with Checkpoints(tmp_path) as ckpt:
        ckpt.save(2, tree)
        part = ckpt.restore(2, {"state": make_tree(0.0)["state"], "key": jax.random.key(1)}).tree
    assert_same(part, {"state": tree["state"], "key": tree["key"]})


def test_keeps_latest_and_best_k(tmp_path):
    metrics = {1: 5.0, 2: 1.0, 3: 4.0, 4: 2.0, 5: float("nan"), 6: 3.0}
    with Checkpoints(tmp_path, keep_latest=1, keep_best=2, mode="min") as ckpt:
        for epoch, m in metrics.items():
            ckpt.save(epoch, {"e": jnp.int32(epoch)}, metric=m)
        assert ckpt.epochs() == [2, 4, 6]
        assert int(ckpt.restore_best({"e": jnp.int32(0)}).tree["e"]) == 2
    # the ranking survives a restart (metrics are read back from disk)
    with Checkpoints(tmp_path, keep_latest=1, keep_best=2, mode="min") as ckpt:
        ckpt.save(7, {"e": jnp.int32(7)}, metric=9.0)
        assert ckpt.epochs() == [2, 4, 7]
    with Checkpoints(tmp_path / "max", keep_best=1, mode="max") as ckpt:
        for epoch, m in {1: 0.9, 2: 0.95, 3: 0.8}.items():
            ckpt.save(epoch, {"e": jnp.int32(epoch)}, metric=m)
        assert ckpt.epochs() == [2, 3]


def test_partial_and_corrupted_dirs_are_ignored(tmp_path):
    with Checkpoints(tmp_path, keep_latest=3, keep_best=0) as ckpt:
        ckpt.save(1, {"w": jnp.ones(2)})
        ckpt.save(2, {"w": jnp.full(2, 2.0)})
    # a crash mid-save: orbax's temporary dir, a half-written step dir, a step with damaged data
    os.makedirs(tmp_path / "3.orbax-checkpoint-tmp-1234" / "state")
    os.makedirs(tmp_path / "4" / "state")
    (tmp_path / "4" / "state" / "partial").write_bytes(b"\x00" * 10)
    shutil.copytree(tmp_path / "2", tmp_path / "5")
    for root, _, files in os.walk(tmp_path / "5" / "state"):
        for name in files:
            with open(os.path.join(root, name), "wb") as f:
                f.write(b"garbage")
    with Checkpoints(tmp_path, keep_latest=3, keep_best=0) as ckpt:
        restored = ckpt.restore_latest({"w": jnp.zeros(2)})
        assert restored.epoch == 2
        np.testing.assert_array_equal(restored.tree["w"], [2.0, 2.0])
        moved = ckpt.quarantine_after(restored.epoch)
        assert len(moved) == 2 and ckpt.epochs() == [1, 2]
        ckpt.save(4, {"w": jnp.full(2, 4.0)})  # the epoch can be written again
        assert ckpt.restore_latest({"w": jnp.zeros(2)}).epoch == 4


def test_empty_directory_restores_none(tmp_path):
    with Checkpoints(tmp_path) as ckpt:
        assert ckpt.restore_latest({"w": jnp.zeros(1)}) is None
        assert ckpt.restore_best({"w": jnp.zeros(1)}) is None


@pytest.mark.parametrize(
    "kwargs, needle",
    [({"every": 0}, "every must be an int >= 1, got 0"), ({"keep_latest": 0}, "keep_latest must be an int >= 1, got 0"),
     ({"keep_best": -1}, "keep_best must be an int >= 0, got -1"), ({"mode": "up"}, "mode must be 'min' or 'max', got 'up'")],
)
def test_arguments_validated(tmp_path, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        Checkpoints(tmp_path, **kwargs)


def test_optax_state_round_trip(tmp_path):
    params = {"w": jnp.ones(3)}
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
    state = TrainState.create(apply_fn=None, params=params, tx=tx).apply_gradients(grads=params)
    with Checkpoints(tmp_path) as ckpt:
        ckpt.save(1, state)
        out = ckpt.restore_latest(TrainState.create(apply_fn=None, params=params, tx=tx)).tree
    assert isinstance(out.opt_state[1][0], optax.ScaleByAdamState)
    assert_same(out, state)
