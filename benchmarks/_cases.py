"""The benchmarked steps: update rules on a tree (optax, optlab per leaf) and on flat buffers.

Every case works on ``size`` parameters split into ``leaves`` 1-D leaves of (nearly) equal size.
``update``: one optimizer step from a fixed gradient, params and optimizer state donated.
``train``: gradient of ``sum_l 0.5 * ||w_l - x_l||^2`` plus the update, params and state donated;
also FlatTrainState with ``dynamic_offsets=True`` (``optlab_dynamic``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

import optlab
from optlab.train._flat_state import FlatTrainState

from ._measure import Runner, interleaved, roofline_runner, summary


class Rule(NamedTuple):
    optlab: Callable[[], optax.GradientTransformation]
    optax: Callable[[], optax.GradientTransformation]
    written: int  # arrays written per step (params + state buffers); read: written + 1


RULES = {
    "sgd": Rule(lambda: optlab.sgd(0.01), lambda: optax.sgd(0.01), 1),
    "momentum": Rule(lambda: optlab.momentum(0.01, rho=0.9), lambda: optax.sgd(0.01, momentum=0.9), 2),
    "adam": Rule(lambda: optlab.adam(1e-3), lambda: optax.adam(1e-3), 3),
}


def leaf_sizes(size: int, leaves: int) -> list[int]:
    sizes = [size // leaves] * leaves
    sizes[-1] += size - sum(sizes)
    return sizes


def _tree(size: int, leaves: int, dtype: Any, value: float) -> list[jax.Array]:
    return [jnp.full((n,), value, dtype) for n in leaf_sizes(size, leaves)]


def _tree_update(tx: optax.GradientTransformation) -> Callable[..., tuple]:
    def step(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    return step


def _flat_update(state: FlatTrainState, grads: dict) -> FlatTrainState:
    return state.apply_gradients(grads=grads)


def _loss(params: list[jax.Array], targets: list[jax.Array]) -> jax.Array:
    return sum(0.5 * jnp.sum(jnp.square(w.astype(jnp.float32) - x)) for w, x in zip(params, targets))


def _tree_train(tx: optax.GradientTransformation) -> Callable[..., tuple]:
    def step(params, opt_state, targets):
        grads = jax.grad(_loss)(params, targets)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    return step


def _flat_train(state: FlatTrainState, targets: list[jax.Array]) -> FlatTrainState:
    _, grads = state.value_and_grad(_loss, targets)
    return state.apply_gradients(grads=grads)


def _runners(kind: str, rule: Rule, size: int, leaves: int, dtype: Any, with_tree: bool) -> dict[str, Runner]:
    data = _tree(size, leaves, dtype, 0.01)
    runners = {}
    make_tree_step = _tree_update if kind == "update" else _tree_train
    tx = rule.optax()
    params = _tree(size, leaves, dtype, 0.5)
    runners["optax"] = Runner(make_tree_step(tx), (params, tx.init(params)), (data,))
    if with_tree:
        tx = rule.optlab()
        params = _tree(size, leaves, dtype, 0.5)
        runners["optlab_tree"] = Runner(make_tree_step(tx), (params, tx.init(params)), (data,))
    state = FlatTrainState.create(apply_fn=None, params=_tree(size, leaves, dtype, 0.5), tx=rule.optlab())
    if kind == "update":
        runners["optlab"] = Runner(_flat_update, (state,), (optlab.perf.flatten(data, state.layout),))
    else:
        runners["optlab"] = Runner(_flat_train, (state,), (data,))
        dynamic = FlatTrainState.create(
            apply_fn=None, params=_tree(size, leaves, dtype, 0.5), tx=rule.optlab(), dynamic_offsets=True
        )
        runners["optlab_dynamic"] = Runner(_flat_train, (dynamic,), (data,))
    runners["roofline"] = roofline_runner(rule.written, size, dtype)
    return runners


def run_case(
    kind: str, rule_name: str, size: int, leaves: int, dtype: str, repeats: int, with_tree: bool
) -> dict[str, Any]:
    """Compile and time one case; a JSON-ready row."""
    rule = RULES[rule_name]
    runners = _runners(kind, rule, size, leaves, jnp.dtype(dtype), with_tree)
    times = interleaved(runners, repeats)
    itemsize = jnp.dtype(dtype).itemsize
    row: dict[str, Any] = {
        "kind": kind, "rule": rule_name, "dtype": dtype, "leaves": leaves, "size": size,
        "repeats": repeats, "bytes": size * itemsize * (2 * rule.written + 1),
    }
    for name, runner in runners.items():
        row[name] = {**summary(times[name]), "compile_s": runner.compile_s, "bytes_accessed": runner.bytes_accessed}
    del runners
    gc.collect()
    return row
