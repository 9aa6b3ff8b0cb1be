"""The benchmark tools measure what they say: Adam's loops are optlab's, the timing is fair."""

import collections
import gc
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optlab
from benchmarks import adam_anatomy
from benchmarks._measure import balanced_orders, interleaved


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_anatomy_loops_are_optlabs_adam_step(dtype):
    """m, v and p loops together give optlab.adam + apply_updates bitwise (else the anatomy times other math)."""
    keys = jax.random.split(jax.random.key(0), 4)
    p, m, v, g = (jax.random.normal(k, (4096,)).astype(dtype) for k in keys)
    v = jnp.abs(v)
    tx = optlab.adam(adam_anatomy.LR, b1=adam_anatomy.B1, b2=adam_anatomy.B2, eps=adam_anatomy.EPS)
    adam_state, lr_state = tx.init(p)
    state = (adam_state._replace(count=jnp.int32(6), mu=m, nu=v), lr_state)

    @jax.jit
    def reference(p, state, g):
        updates, state = tx.update(g, state, p)
        return optlab.apply_updates(p, updates), state[0]

    want_p, want = reference(p, state, g)
    got_m = jax.jit(adam_anatomy.m_loop)(m, g)
    got_v = jax.jit(adam_anatomy.v_loop)(v, g)
    got_p = jax.jit(adam_anatomy.p_loop)(p, got_m, got_v, want.count)
    for got, expected in ((got_m, want.mu), (got_v, want.nu), (got_p, want_p)):
        assert got.dtype == dtype
        np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(expected, np.float32))


class _Recorder:
    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def __call__(self):
        self.calls.append((self.name, gc.isenabled()))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_balanced_orders_put_every_runner_after_every_other_equally_often(n):
    orders = balanced_orders(n)
    assert all(sorted(order) == list(range(n)) for order in orders)
    follows = collections.Counter((a, b) for order in orders for a, b in itertools.pairwise(order))
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    assert sorted(follows) == sorted(pairs)
    assert len(set(follows.values())) <= 1  # each ordered pair equally often


def test_interleaved_uses_balanced_orders_and_pauses_gc():
    calls = []
    runners = {name: _Recorder(name, calls) for name in "abcd"}
    times = interleaved(runners, repeats=8, warmup=1)
    assert gc.isenabled()
    assert {name: len(ms) for name, ms in times.items()} == dict.fromkeys("abcd", 8)
    warmup, timed = calls[:4], calls[4:]
    assert [name for name, _ in warmup] == list("abcd")
    expected = ["abcd"[i] for r in range(8) for i in balanced_orders(4)[r % 4]]
    assert [name for name, _ in timed] == expected
    assert not any(enabled for _, enabled in timed)
