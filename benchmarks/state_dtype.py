"""``python -m benchmarks.state_dtype``: Adam with float32 vs bfloat16 moments, bytes and step time.

One Adam step (``tx.update`` + ``optlab.apply_updates``, parameters and optimizer state donated)
on a float32 parameter tree of ``--size`` parameters in ``--leaves`` equal leaves, for:

* ``f32``: ``optlab.adam(1e-3)``, both moments float32 (the default for float32 params);
* ``mu bf16``: ``optlab.adam(1e-3, mu_dtype=jnp.bfloat16)`` (optax's ``mu_dtype``);
* ``mu+nu bf16``: also ``nu_dtype=jnp.bfloat16`` (shown for the bytes; not a recommended setting:
  with ``b2 = 0.999`` a step changes ``nu`` by ~0.1%, below bf16's rounding step, so it stalls);
* ``optax f32``, ``optax mu bf16``: ``optax.adam(1e-3)`` and ``optax.adam(1e-3, mu_dtype=jnp.bfloat16)``,
  the same steps in optax (``optax.apply_updates``).

State bytes are the ``nbytes`` of the optimizer state's arrays; ``traffic`` is the bytes XLA's cost
analysis counts for the compiled step, in float32 parameter arrays (a perfect float32 Adam step
moves 7: reads p, g, m, v, writes p, m, v; XLA:CPU's three loops move 10, see ``adam_anatomy``). Step times are medians of
``--repeats`` interleaved rounds (``benchmarks/_measure.py``); the arithmetic is float32 in every
case, so a bf16 moment saves memory traffic (reads and writes of 2 instead of 4 bytes), not math.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jax
import jax.numpy as jnp
import optax

import optlab

from ._measure import Runner, interleaved, summary
from ._results import write_result

CASES = {  # name -> (optimizer, how its updates are applied)
    "f32": (lambda: optlab.adam(1e-3), optlab.apply_updates),
    "mu bf16": (lambda: optlab.adam(1e-3, mu_dtype=jnp.bfloat16), optlab.apply_updates),
    "mu+nu bf16": (
        lambda: optlab.adam(1e-3, mu_dtype=jnp.bfloat16, nu_dtype=jnp.bfloat16),
        optlab.apply_updates,
    ),
    "optax f32": (lambda: optax.adam(1e-3), optax.apply_updates),
    "optax mu bf16": (lambda: optax.adam(1e-3, mu_dtype=jnp.bfloat16), optax.apply_updates),
}


def _tree(size: int, leaves: int, value: float) -> dict[str, jax.Array]:
    per_leaf = size // leaves
    return {f"w{i:03d}": jnp.full((per_leaf,), value, jnp.float32) for i in range(leaves)}


def _step_fn(tx: optax.GradientTransformation, apply: Any):
    def step(params: Any, opt_state: Any, grads: Any) -> tuple[Any, Any]:
        updates, opt_state = tx.update(grads, opt_state, params)
        return apply(params, updates), opt_state

    return step


def state_bytes(opt_state: Any) -> int:
    return sum(leaf.nbytes for leaf in jax.tree_util.tree_leaves(opt_state))


def run(size: int, leaves: int, repeats: int) -> dict[str, Any]:
    """Bytes and step times of every case; a JSON-ready dict."""
    grads = _tree(size, leaves, 0.01)
    runners, rows = {}, {}
    for name, (make, apply) in CASES.items():
        tx = make()
        params = _tree(size, leaves, 0.5)
        opt_state = tx.init(params)
        rows[name] = {"state_bytes": state_bytes(opt_state)}
        runners[name] = Runner(_step_fn(tx, apply), (params, opt_state), (grads,))
        rows[name]["compile_s"] = runners[name].compile_s
        rows[name]["bytes_accessed"] = runners[name].bytes_accessed
    times = interleaved(runners, repeats)
    for name in CASES:
        rows[name].update(summary(times[name]))
    return {"size": leaves * (size // leaves), "leaves": leaves, "repeats": repeats, "cases": rows}


def format_result(result: dict[str, Any]) -> str:
    cases = result["cases"]
    base = cases["f32"]
    lines = [
        f"Adam step, {result['size']:,} float32 params in {result['leaves']} leaves, "
        f"median of {result['repeats']}:",
        f"{'moments':15} {'state MiB':>10} {'vs f32':>7} {'traffic':>8} {'step ms':>8} {'vs f32':>7} {'noise':>6}",
    ]
    for name, row in cases.items():
        moved = row["bytes_accessed"]
        traffic = "-" if moved is None else f"{moved / (4 * result['size']):.2f}"
        lines.append(
            f"{name:15} {row['state_bytes'] / 2**20:10.1f} {row['state_bytes'] / base['state_bytes']:7.2f} "
            f"{traffic:>8} {row['median_ms']:8.2f} {row['median_ms'] / base['median_ms']:7.2f} {row['spread']:6.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.state_dtype", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16 * 2**20, help="parameters (default 16777216)")
    parser.add_argument("--leaves", type=int, default=8, help="equal 1-D leaves (default 8)")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per case (default 20)")
    parser.add_argument("--name", default=None, help="results/<name>.json (default: state-dtype-<UTC time>)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.leaves < 1 or args.repeats < 1 or args.leaves > args.size:
        parser.error(
            f"need 1 <= --leaves <= --size and --repeats >= 1, got {args.size}, {args.leaves}, {args.repeats}"
        )
    start = time.perf_counter()
    result = run(args.size, args.leaves, args.repeats)
    print(format_result(result))
    name = args.name or time.strftime("state-dtype-%Y%m%dT%H%M%SZ", time.gmtime())
    payload = {"device": str(jax.devices()[0]), "jax": jax.__version__, "result": result}
    print(f"wrote {write_result(name, payload)} ({time.perf_counter() - start:.0f} s)")
    return result


if __name__ == "__main__":
    main()
