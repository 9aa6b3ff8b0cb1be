"""``python -m benchmarks.adam_anatomy``: where an Adam step's time goes, loop by loop.

XLA:CPU compiles the elementwise Adam step (optlab's, and optax's) into three loops, because it
does not fuse sibling loops into one multi-output loop:

* ``m``: ``m <- b1 m + (1 - b1) g``                  reads m, g   writes m
* ``v``: ``v <- b2 v + (1 - b2) g^2``                reads v, g   writes v
* ``p``: ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)`` reads p, m, v writes p

10 arrays of traffic where a perfect single loop would move 7, and the roofline kernel
(``y_i = 0.5 x_i + g`` for the 3 written arrays, ``benchmarks/_measure.py``) moves 9: the step
can reach at most 90% of the roofline. This script times each loop on its own next to the
one-array streaming kernel ``stream`` (reads x, g, writes x), plus two variants of the ``p`` loop
that move the same bytes with less arithmetic:

* ``p, 1 rounding``: without the two intermediate roundings to the parameter dtype (the optax
  convention that every transformation returns updates in the parameters' dtype: adam's output,
  then the learning-rate scaling); only the final ``p`` is rounded. Not bitwise the same result.
* ``p, no sqrt/div``: ``p - lr (m + v)``, the memory traffic of the ``p`` loop without its math.

Same bytes, different times means the loop is compute-bound. Every kernel is jitted with its
written arrays donated and timed interleaved with the others (median of ``--repeats``).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jax
import jax.numpy as jnp

from optlab import _tree

from ._measure import Runner, interleaved, summary
from ._results import write_result

B1, B2, EPS, LR = 0.9, 0.999, 1e-8, 1e-3


def stream(x: jax.Array, g: jax.Array) -> jax.Array:
    return (0.5 * x.astype(jnp.float32) + g.astype(jnp.float32)).astype(x.dtype)


def m_loop(m: jax.Array, g: jax.Array) -> jax.Array:
    return _tree.ema(m, _tree.upcast(g), B1)


def v_loop(v: jax.Array, g: jax.Array) -> jax.Array:
    return _tree.ema(v, _tree.squared(g), B2)


def _direction(m: jax.Array, v: jax.Array, count: jax.Array) -> jax.Array:
    return _tree.rms_normalize(_tree.debias(m, B1, count), _tree.debias(v, B2, count), EPS)


def p_loop(p: jax.Array, m: jax.Array, v: jax.Array, count: jax.Array) -> jax.Array:
    """The ``p`` loop of ``optlab.adam`` + ``optlab.apply_updates`` (the same roundings)."""
    updates = _direction(m, v, count).astype(p.dtype)  # adam_scaling's output
    updates = (-LR * updates.astype(jnp.float32)).astype(p.dtype)  # scale_by_learning_rate
    return (p.astype(jnp.float32) + updates.astype(jnp.float32)).astype(p.dtype)  # apply_updates


def p_loop_one_rounding(p: jax.Array, m: jax.Array, v: jax.Array, count: jax.Array) -> jax.Array:
    return (p.astype(jnp.float32) - LR * _direction(m, v, count)).astype(p.dtype)


def p_loop_no_math(p: jax.Array, m: jax.Array, v: jax.Array, count: jax.Array) -> jax.Array:
    return (p.astype(jnp.float32) - LR * (m.astype(jnp.float32) + v.astype(jnp.float32))).astype(p.dtype)


def run(size: int, dtype: str, repeats: int) -> dict[str, Any]:
    """Time every loop for ``size`` parameters of ``dtype``; a JSON-ready dict."""
    dt = jnp.dtype(dtype)

    def full(value: float) -> jax.Array:
        return jnp.full((size,), value, dt)

    count = jnp.int32(10)
    runners = {
        "stream": Runner(stream, (full(0.5),), (full(0.01),)),
        "m": Runner(m_loop, (full(0.1),), (full(0.01),)),
        "v": Runner(v_loop, (full(0.1),), (full(0.01),)),
        "p": Runner(p_loop, (full(0.5),), (full(0.1), full(0.1), count)),
        "p, 1 rounding": Runner(p_loop_one_rounding, (full(0.5),), (full(0.1), full(0.1), count)),
        "p, no sqrt/div": Runner(p_loop_no_math, (full(0.5),), (full(0.1), full(0.1), count)),
    }
    times = interleaved(runners, repeats)
    rows = {}
    for name, runner in runners.items():
        stats = summary(times[name])
        moved = runner.bytes_accessed
        rows[name] = {**stats, "bytes_accessed": moved,
                      "gb_per_s": None if not moved else moved / stats["median_ms"] / 1e6}
    return {"dtype": dtype, "size": size, "repeats": repeats, "loops": rows}


def format_result(result: dict[str, Any]) -> str:
    loops = result["loops"]
    three = sum(loops[k]["median_ms"] for k in ("m", "v", "p"))
    lines = [f"{result['dtype']}, {result['size']:,} parameters, median of {result['repeats']}:"]
    for name, row in loops.items():
        gbs = "-" if row["gb_per_s"] is None else f"{row['gb_per_s']:.1f}"
        lines.append(f"  {name:15} {row['median_ms']:7.2f} ms  {gbs:>6} GB/s  (noise {row['spread']:.2f})")
    lines.append(f"  m + v + p = {three:.2f} ms vs 3 x stream = {3 * loops['stream']['median_ms']:.2f} ms "
                 f"({100 * 3 * loops['stream']['median_ms'] / three:.0f}% of the roofline)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adam_anatomy", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16 * 2**20, help="parameters (default 16777216)")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="comma list of parameter dtypes")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per loop (default 20)")
    parser.add_argument("--name", default=None, help="results/<name>.json (default: anatomy-<UTC time>)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeats < 1:
        parser.error(f"--size and --repeats must be >= 1, got {args.size} and {args.repeats}")
    results = [run(args.size, dtype, args.repeats) for dtype in args.dtypes.split(",") if dtype]
    for result in results:
        print(format_result(result))
    name = args.name or time.strftime("anatomy-%Y%m%dT%H%M%SZ", time.gmtime())
    payload = {"device": str(jax.devices()[0]), "jax": jax.__version__, "results": results}
    print(f"wrote {write_result(name, payload)}")
    return results


if __name__ == "__main__":
    main()
