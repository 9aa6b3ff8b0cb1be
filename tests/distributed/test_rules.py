"""The partition rules on an abstract 8-device mesh (no devices needed), and the one-device path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AbstractMesh, AxisType, PartitionSpec as P

import optlab
from optlab.train import TrainState
from optlab.distributed import Strategy, shard_state, state_shardings
from optlab.distributed._pad import padded_size
from optlab.distributed._rules import strategy_of, tree_leaf_specs

MESH = AbstractMesh((4, 2), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
ALL = ("data", "model")


def specs(tree, strategy):
    return tree_leaf_specs(tree, MESH, strategy)


def test_fsdp_splits_the_largest_divisible_dimension_over_all_axes():
    tree = {"a": jnp.ones((16, 24)), "b": jnp.ones((24, 16)), "c": jnp.ones((6, 8)), "d": jnp.ones((8, 8))}
    got, unsharded = specs(tree, Strategy("fsdp", min_shard_bytes=0))
    assert got == {"a": P(None, ALL), "b": P(ALL), "c": P(None, ALL), "d": P(None, ALL)}
    assert unsharded == []


def test_fsdp_keeps_small_leaves_and_scalars_replicated_and_reports_indivisible_ones():
    tree = {"big": jnp.ones((5, 7)), "small": jnp.ones((8,)), "step": jnp.zeros((), jnp.int32)}
    got, unsharded = specs(tree, Strategy("fsdp", min_shard_bytes=64))
    assert got == {"big": P(), "small": P(), "step": P()}
    assert unsharded == ["big (5, 7)"]  # 140 bytes >= 64 but no dimension divisible by 8


def test_dp_replicates_everything():
    got, unsharded = specs({"w": jnp.ones((64, 64))}, Strategy("dp"))
    assert got == {"w": P()} and unsharded == []


def test_path_rules_come_first_and_are_checked():
    tree = {"Dense_0": {"kernel": jnp.ones((8, 6)), "bias": jnp.ones((6,))}}
    strategy = Strategy("fsdp", rules=((r"kernel$", P(None, "model")),), min_shard_bytes=0)
    got, _ = specs(tree, strategy)
    assert got["Dense_0"]["kernel"] == P(None, "model")
    with pytest.raises(ValueError, match=r"splits a dimension of size 6 of Dense_0/bias"):
        specs(tree, Strategy("fsdp", rules=((r"bias", P("data")),)))
    with pytest.raises(ValueError, match=r"names axes \['tensor'\]"):
        specs(tree, Strategy("dp", rules=((r"kernel", P("tensor")),)))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"name": "zero"}, "strategy must be one of"), ({"rules": (("(", P()),)}, "not a regular expression"),
     ({"rules": (("w", "data"),)}, r"\(regex, PartitionSpec\) pairs"), ({"min_shard_bytes": -1}, "min_shard_bytes")],
)
def test_strategy_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Strategy(**{"name": "fsdp", **kwargs})


def test_strategy_of_accepts_names_and_objects():
    assert strategy_of("fsdp", rules=[("w", P())]).rules == (("w", P()),)
    assert strategy_of(Strategy("dp")).name == "dp"
    with pytest.raises(ValueError, match="strategy must be one of"):
        strategy_of(3)


def test_padding_multiple_covers_powers_of_two_and_the_device_count():
    assert padded_size(175, 8) == 1024 and padded_size(1024, 8) == 1024 and padded_size(1025, 6) == 3072


def test_one_device_mesh_places_state_and_leaves_the_caller_valid():
    mesh = jax.make_mesh((1,), ("data",), axis_types=(AxisType.Explicit,))
    state = TrainState.create(apply_fn=None, params={"w": jnp.ones((4, 2))}, tx=optlab.adam(0.1))
    placed = shard_state(state, mesh, "fsdp")
    shardings = state_shardings(state, mesh, "fsdp")
    assert placed.opt_state[0].mu["w"].sharding == shardings.opt_state[0].mu["w"] == shardings.params["w"]
    assert placed.params["w"] is not state.params["w"]
    np.testing.assert_array_equal(np.asarray(state.params["w"]), 1.0)


@pytest.mark.parametrize("name", ["optlab.distributed._rules", "optlab.distributed._shard", "optlab.distributed._multihost"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
