"""Paths as strings and (regex, label) rules."""

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from optlab.transfer import param_labels, param_paths

PARAMS = {
    "Conv_0": {"kernel": jnp.zeros((3, 3, 1, 4)), "bias": jnp.zeros(4)},
    "LayerNorm_0": {"scale": jnp.ones(4), "bias": jnp.zeros(4)},
    "Dense_0": {"kernel": jnp.zeros((4, 2)), "bias": jnp.zeros(2)},
}


def test_paths_join_keys_with_slashes():
    assert param_paths(PARAMS) == [
        "Conv_0/bias", "Conv_0/kernel", "Dense_0/bias", "Dense_0/kernel", "LayerNorm_0/bias", "LayerNorm_0/scale",
    ]
    assert param_paths({"layers": [jnp.ones(1), {"w": jnp.ones(1)}]}) == ["layers/0", "layers/1/w"]


def test_nnx_state_paths_drop_value():
    class Net(nnx.Module):
        def __init__(self, rngs):
            self.lin = nnx.Linear(2, 3, rngs=rngs)
            self.norm = nnx.LayerNorm(3, rngs=rngs)

    _, state = nnx.split(Net(nnx.Rngs(0)), nnx.Param)
    assert param_paths(state) == ["lin/bias", "lin/kernel", "norm/bias", "norm/scale"]
    labels = param_labels(state, [("norm/.*", "frozen"), (".*", "train")])
    assert [leaf for leaf in jax.tree.leaves(labels)] == ["train", "train", "frozen", "frozen"]


def test_first_fullmatch_wins():
    labels = param_labels(PARAMS, [("Conv_0/kernel", "a"), ("Conv_.*", "b"), (".*", "c")])
    assert labels["Conv_0"] == {"kernel": "a", "bias": "b"}
    assert labels["LayerNorm_0"] == {"scale": "c", "bias": "c"}  # LayerNorm's scale is not missed


def test_fullmatch_not_search():
    # "Conv" alone matches no full path: an error naming the rule, not a silent partial match
    with pytest.raises(ValueError, match=r"rules\[0\] 'Conv' matches no parameter"):
        param_labels(PARAMS, [("Conv", "a"), (".*", "b")])


def test_uncovered_leaves_are_listed():
    with pytest.raises(ValueError, match="no rule covers 4 parameter.*Dense_0/bias, Dense_0/kernel, LayerNorm_0/bias"):
        param_labels(PARAMS, [("Conv_.*", "a")])
    labels = param_labels(PARAMS, [("Conv_.*", "a")], default="rest")
    assert labels["Dense_0"]["kernel"] == "rest"


@pytest.mark.parametrize(
    "rules, match",
    [
        ([("Conv_[", "a")], r"rules\[0\]: invalid regex 'Conv_\['"),
        ([(".*", "a"), ("Dense_.*", "b")], r"rules\[1\] 'Dense_\.\*' matches no parameter"),
        ([("Conv_.*",)], r"rules\[0\] must be a pair"),
        ("Conv_.*", "non-empty sequence"),
        ([], "non-empty sequence"),
    ],
)
def test_bad_rules_are_named(rules, match):
    with pytest.raises(ValueError, match=match):
        param_labels(PARAMS, rules)
