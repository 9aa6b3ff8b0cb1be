"""The benchmark tools measure what they say: Adam's loops are optlab's, the timing is fair."""

import gc

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optlab
from benchmarks import adam_anatomy
from benchmarks._measure import interleaved


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


def test_interleaved_rotates_order_and_pauses_gc():
    calls = []
    runners = {name: _Recorder(name, calls) for name in "abc"}
    times = interleaved(runners, repeats=3, warmup=1)
    assert gc.isenabled()
    assert {name: len(ms) for name, ms in times.items()} == {"a": 3, "b": 3, "c": 3}
    warmup, timed = calls[:3], calls[3:]
    assert [name for name, _ in warmup] == ["a", "b", "c"]
    assert [name for name, _ in timed] == list("abc" "bca" "cab")
    assert not any(enabled for _, enabled in timed)
