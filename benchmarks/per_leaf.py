"""Every optlab rule's per-leaf (tree) update against optax's equivalent, interleaved in one process.

For each rule and leaf count (default 1, 200, 2,000 leaves of equal size, ``--size`` parameters in
all, default 8M = 2,000 x 4,000 as in issue 15): one jitted step ``params, state <- update`` with
params and optimizer state donated, from a fixed gradient. optlab and optax run in turns
(:func:`benchmarks._measure.interleaved`, balanced orders, GC off while timing); the table gives
the median ms of each and ``ratio = optax / optlab`` (> 1: optlab faster). The optax settings are
mapped to optlab's conventions where they differ (adagrad initial 0 and eps outside the root are
not expressible in optax: its adagrad/rmsprop put eps inside; the loops move the same arrays).

    python -m benchmarks.per_leaf [--rules adam,sgd] [--leaves 1,200,2000] [--size 8000000] [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import statistics

import jax
import jax.numpy as jnp
import optax

import optlab

from ._cases import leaf_sizes
from ._measure import Runner, interleaved

PAIRS = {
    "sgd": (lambda: optlab.sgd(0.01), lambda: optax.sgd(0.01)),
    "momentum": (lambda: optlab.momentum(0.01, rho=0.9), lambda: optax.sgd(0.01, momentum=0.9)),
    "nesterov": (lambda: optlab.nesterov(0.01, rho=0.9), lambda: optax.sgd(0.01, momentum=0.9, nesterov=True)),
    "adagrad": (lambda: optlab.adagrad(0.01), lambda: optax.adagrad(0.01, initial_accumulator_value=0.0, eps=1e-10)),
    "rmsprop": (lambda: optlab.rmsprop(0.01), lambda: optax.rmsprop(0.01, decay=0.99, eps=1e-8)),
    "adam": (lambda: optlab.adam(1e-3), lambda: optax.adam(1e-3)),
    "adamw": (lambda: optlab.adamw(1e-3, weight_decay=1e-2), lambda: optax.adamw(1e-3, weight_decay=1e-2)),
}


def _runner(tx: optax.GradientTransformation, size: int, leaves: int) -> Runner:
    params = [jnp.full((n,), 0.5, jnp.float32) for n in leaf_sizes(size, leaves)]
    grads = [jnp.full((n,), 0.01, jnp.float32) for n in leaf_sizes(size, leaves)]

    def step(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    return Runner(step, (params, tx.init(params)), (grads,))


def run(rules: list[str], leaf_counts: list[int], size: int, repeats: int) -> list[dict]:
    rows = []
    for leaves in leaf_counts:
        for rule in rules:
            make_optlab, make_optax = PAIRS[rule]
            runners = {"optlab": _runner(make_optlab(), size, leaves), "optax": _runner(make_optax(), size, leaves)}
            times = interleaved(runners, repeats)
            mine, theirs = statistics.median(times["optlab"]), statistics.median(times["optax"])
            rows.append({
                "rule": rule, "leaves": leaves, "size": size, "optlab_ms": mine, "optax_ms": theirs,
                "ratio": theirs / mine, "compile_s": {k: r.compile_s for k, r in runners.items()},
            })
            print(f"{rule:<9} {leaves:>6} {mine:>10.3f} {theirs:>10.3f} {theirs / mine:>7.3f}", flush=True)
            del runners
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=",".join(PAIRS))
    parser.add_argument("--leaves", default="1,200,2000")
    parser.add_argument("--size", type=int, default=8_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    unknown = sorted(set(rules) - set(PAIRS))
    if unknown:
        raise SystemExit(f"--rules: unknown {unknown}; choose from {', '.join(PAIRS)}")
    print(f"{'rule':<9} {'leaves':>6} {'optlab ms':>10} {'optax ms':>10} {'ratio':>7}   ({jax.devices()[0]})")
    rows = run(rules, [int(n) for n in args.leaves.split(",")], args.size, args.repeats)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
