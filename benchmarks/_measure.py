"""Timing primitives: interleaved runs of donated steps, medians, compile time, the roofline kernel."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


class Runner:
    """A compiled donated step and the state it threads: ``state = step(*state, *consts)``.

    ``compile_s`` is the wall time of ``jit(fn).lower(...).compile()``; ``bytes_accessed`` is XLA's
    own count of the bytes the compiled program reads and writes (its cost analysis), ``None``
    where the backend does not report it.
    """

    def __init__(self, fn: Callable[..., Any], state: tuple, consts: tuple = (), donate: bool = True):
        donate_argnums = tuple(range(len(state))) if donate else ()
        start = time.perf_counter()
        self.compiled = jax.jit(fn, donate_argnums=donate_argnums).lower(*state, *consts).compile()
        self.compile_s = time.perf_counter() - start
        self.bytes_accessed = bytes_accessed(self.compiled)
        self.state, self.consts = state, consts

    def __call__(self) -> None:
        out = self.compiled(*self.state, *self.consts)
        jax.block_until_ready(out)
        self.state = out if isinstance(out, tuple) else (out,)


def bytes_accessed(compiled: Any) -> float | None:
    """``"bytes accessed"`` of XLA's cost analysis of a compiled program (``None`` if unreported)."""
    try:
        cost = compiled.cost_analysis()
    except Exception:  # noqa: BLE001 - some backends do not implement it
        return None
    if isinstance(cost, list):
        cost = cost[0] if cost else None
    return None if not cost else cost.get("bytes accessed")


def balanced_orders(n: int) -> list[list[int]]:
    """Orders of ``n`` runners in which each runner directly follows each other equally often.

    A Williams design: the first order is ``0, 1, n-1, 2, n-2, ...``, order ``r`` adds ``r`` mod
    ``n``; ``n`` orders for even ``n``, and for odd ``n`` the ``n`` orders and their reverses.
    (Rotating one order is not enough: it keeps every runner after the same neighbour.)
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    orders = [[(i + r) % n for i in first] for r in range(n)]
    return orders if n % 2 == 0 else orders + [order[::-1] for order in orders]


def interleaved(runners: dict[str, Runner], repeats: int, warmup: int = 2) -> dict[str, list[float]]:
    """Per runner ``repeats`` step times in ms, the runners taking turns step by step.

    Round ``r`` runs the runners in order ``balanced_orders(n)[r mod len]``, so each runner follows
    each other equally often: on the 2-core CPU a step timed right after a 2,000-leaf tree step
    read 3-10 ms slower than after itself (16M params; +1 ms at 64K params; a 50 ms pause between
    the two does not remove it), and a fixed order charged that to whichever runner came next.

    Python's cyclic garbage collector is off while timing (as in :mod:`timeit`): a 2,000-leaf tree
    step returns ~6,000 new arrays, and the collections they trigger landed in the *next* runner's
    timing (a flat 2,000-leaf Adam step read 23.6-24.1 ms after one, 20.3-20.6 ms with the
    collector off; arrays are freed by reference counting either way).
    """
    for runner in runners.values():
        for _ in range(warmup):
            runner()
    names = list(runners)
    orders = balanced_orders(len(names))
    times: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_index in range(repeats):
            for index in orders[round_index % len(orders)]:
                name = names[index]
                start = time.perf_counter()
                runners[name]()
                times[name].append((time.perf_counter() - start) * 1e3)
    finally:
        if was_enabled:
            gc.enable()
    return times


def summary(ms: list[float]) -> dict[str, float]:
    """Median, min and the spread ``(p75 - p25) / median`` (the run's noise) of step times."""
    q25, med, q75 = np.percentile(ms, [25, 50, 75])
    return {"median_ms": float(med), "min_ms": float(np.min(ms)), "spread": float((q75 - q25) / med)}


def roofline_kernel(*arrays: jax.Array) -> tuple:
    """``y_i = 0.5 * x_i + g`` for ``arrays = (x_1, ..., x_j, g)``: reads ``j + 1`` arrays, writes ``j``.

    The cheapest XLA program that streams the arrays an update rule streams (the ``x_i`` donated,
    like parameters and optimizer state; ``g`` like the gradient).
    """
    *xs, g = arrays
    return tuple((0.5 * x.astype(jnp.float32) + g.astype(jnp.float32)).astype(x.dtype) for x in xs)


def roofline_runner(num_written: int, size: int, dtype: Any) -> Runner:
    """A :class:`Runner` of :func:`roofline_kernel` writing ``num_written`` arrays of ``size`` x ``dtype``."""
    state = tuple(jnp.full((size,), 0.5, dtype) for _ in range(num_written))
    return Runner(roofline_kernel, state, (jnp.full((size,), 0.01, dtype),))
