"""Training steps per second on 1, 2, 4 and 8 devices, data parallel (dp) and fully sharded (fsdp).

The step is ``fit``'s (``optlab.distributed.Placement``: the global batch split over the devices
with ``with_sharding_constraint``, the new state pinned to the old shardings): an MLP
784-1024-1024-10 (1.8M params, Adam, EMA 0.99) on a global batch of 256, on a mesh of the first
``n`` devices. The median time of ``--steps`` steps (after 3 warm-up steps) over ``--repeats``
runs; all device counts alternate in every repeat.

On a CPU the "devices" are simulated (``XLA_FLAGS=--xla_force_host_platform_device_count=8``,
set here before JAX starts): they share the same cores, so more devices cannot be faster. The
numbers show the *overhead* of sharding (collectives, smaller per-device kernels), not a speedup.
On a GPU machine with several GPUs the same script measures real scaling.

    python -m benchmarks.scaling [--steps 20] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

if __name__ == "__main__" and __package__ in (None, ""):  # run as a file: make optlab importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import AxisType, Mesh  # noqa: E402

import optlab  # noqa: E402
from optlab.distributed import Placement, Strategy  # noqa: E402
from optlab.train import TrainState  # noqa: E402

SIZES = (784, 1024, 1024, 10)
BATCH = 256


def _params(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {f"w{i}": jnp.asarray(rng.normal(size=(a, b)) / np.sqrt(a), jnp.float32)
            for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:]))}


def _loss(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    h = x
    for i in range(len(SIZES) - 1):
        h = h @ params[f"w{i}"]
        if i < len(SIZES) - 2:
            h = jax.nn.relu(h)
    return jnp.mean(jax.nn.logsumexp(h, axis=-1) - jnp.take_along_axis(h, y[:, None], axis=-1)[:, 0])


def _runner(devices: int, strategy: str):
    """A placed state, a placed global batch and fit's step for ``devices`` devices."""
    mesh = Mesh(np.array(jax.devices()[:devices]), ("data",), axis_types=(AxisType.Auto,))
    state = TrainState.create(apply_fn=None, params=_params(), tx=optlab.adam(1e-3), ema_decay=0.99)
    placement = Placement.for_state(state, mesh, Strategy(strategy, min_shard_bytes=0))
    state = placement.place(state)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(BATCH, SIZES[0])), jnp.float32)
    y = jnp.asarray(rng.integers(0, SIZES[-1], size=BATCH), jnp.int32)
    x, y = placement.replicate((x, y))

    def step(state, x, y):
        x, y = placement.batch((x, y))
        loss, grads = state.value_and_grad(_loss, x, y)
        return placement.constrain(state.apply_gradients(grads=grads)), loss

    return state, x, y, jax.jit(step, donate_argnums=0)


def measure(counts: list[int], strategies: list[str], steps: int, repeats: int) -> list[dict]:
    runners = {(n, s): _runner(n, s) for n in counts for s in strategies}
    states = {}
    for key, (state, x, y, step) in runners.items():  # compile + warm up
        for _ in range(3):
            state, loss = step(state, x, y)
        jax.block_until_ready(state)
        states[key] = state
    times: dict[tuple, list[float]] = {key: [] for key in runners}
    for r in range(repeats):
        order = list(runners) if r % 2 == 0 else list(runners)[::-1]
        for key in order:
            _, x, y, step = runners[key]
            state = states[key]
            began = time.perf_counter()
            for _ in range(steps):
                state, loss = step(state, x, y)
            jax.block_until_ready((state, loss))
            times[key].append(time.perf_counter() - began)
            states[key] = state
    rows = []
    for (n, s), ts in times.items():
        per_step = statistics.median(ts) / steps
        rows.append({"devices": n, "strategy": s, "ms_per_step": 1e3 * per_step, "steps_per_s": 1.0 / per_step})
    for row in rows:
        one = next(r for r in rows if r["devices"] == 1 and r["strategy"] == row["strategy"])
        row["vs_1_device"] = row["steps_per_s"] / one["steps_per_s"]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", default="1,2,4,8", help="device counts (default 1,2,4,8)")
    parser.add_argument("--strategies", default="dp,fsdp")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.devices.split(",")]
    if max(counts) > jax.device_count():
        raise SystemExit(f"--devices {args.devices}: only {jax.device_count()} devices ({jax.devices()})")
    began = time.perf_counter()
    rows = measure(counts, args.strategies.split(","), args.steps, args.repeats)
    device = jax.devices()[0]
    print(f"{device.platform} ({getattr(device, 'device_kind', '')}), {jax.device_count()} devices, jax {jax.__version__}; "
          f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, adam + EMA; median of {args.repeats} x {args.steps} steps")
    print("| devices | strategy | ms / step | steps / s | vs 1 device |")
    print("|---:|---|---:|---:|---:|")
    for row in sorted(rows, key=lambda r: (r["strategy"], r["devices"])):
        print(f"| {row['devices']} | {row['strategy']} | {row['ms_per_step']:.1f} | {row['steps_per_s']:.1f} | {row['vs_1_device']:.2f}x |")
    print(f"({time.perf_counter() - began:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"platform": device.platform, "device_kind": getattr(device, "device_kind", ""), "rows": rows}, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
