"""Where ``fit``'s time goes on the digits CNN (issue 15), next to the hand-written loop and PyTorch.

Four measurements, each printed as a table (and written as JSON with ``--json``):

1. **Compile and trace time per jitted function** in a fresh process running 2 epochs of
   ``fit`` and of the hand-written loop (``benchmarks.fit_speed``), from JAX's own compile log
   (``jax_log_compiles``), summed per function name; the persistent compilation cache is off.
2. **Steady-state time per training step**, interleaved in one process: the hand-written step,
   ``fit``'s step as it is, and ``fit``'s step without each extra it carries (the non-finite guard's
   select, the metrics), so each extra's price is read off directly. Median of ``--repeats`` blocks
   of 200 steps; wall and process CPU time.
3. **The model alone**: the jitted forward+backward of the CNN on one batch in JAX, and PyTorch
   eager's forward+backward of its twin, each with and without the two convolutions — how much of
   a step is XLA:CPU's convolution against oneDNN's.
4. **Per-epoch host work in fit**: permutation, evaluation on the test set, epoch summary.

    python -m benchmarks.fit_profile [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

BATCH = 32
# JAX's compile log: "Finished tracing NAME for jit in S sec", "Finished jaxpr to MLIR module
# conversion jit(NAME) in S sec", "Finished XLA compilation of jit(NAME) in S sec".
_LOG = (
    ("trace_s", re.compile(r"Finished tracing (.+?) for jit in ([0-9.e-]+) sec")),
    ("lower_s", re.compile(r"Finished jaxpr to MLIR module conversion jit\((.+?)\) in ([0-9.e-]+) sec")),
    ("compile_s", re.compile(r"Finished XLA compilation of jit\((.+?)\) in ([0-9.e-]+) sec")),
)


def _timed(fn, repeats: int, inner: int = 1) -> dict:
    """Median wall and CPU milliseconds per call of ``fn`` over ``repeats`` blocks of ``inner`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn(inner)
        walls.append((time.perf_counter() - w) / inner * 1e3)
        cpus.append((time.process_time() - c) / inner * 1e3)
    return {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}


# ---------------------------------------------------------------- 1. compile log of a real run
def _compile_child(loop: str) -> None:
    import logging

    import jax

    jax.config.update("jax_log_compiles", True)
    totals: dict[str, dict[str, float]] = {}

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            for kind, pattern in _LOG:
                match = pattern.search(message)
                if match:
                    row = totals.setdefault(match.group(1), {"trace_s": 0.0, "lower_s": 0.0, "compile_s": 0.0, "count": 0})
                    row[kind] += float(match.group(2))
                    row["count"] += kind == "compile_s"

    logging.getLogger("jax").addHandler(Collect())
    logging.getLogger("jax").setLevel(logging.DEBUG)
    from benchmarks.fit_speed import run_fit, run_hand

    began = time.process_time()
    result = (run_fit if loop == "fit" else run_hand)(2)
    print(json.dumps({"functions": totals, "epoch_end_s": result["epoch_end_s"], "cpu_s": time.process_time() - began}))


def compile_profile() -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "JAX_ENABLE_COMPILATION_CACHE": "false"}
    out = {}
    for loop in ("hand", "fit"):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.fit_profile", "--compile-child", loop],
            cwd=root, env=env, capture_output=True, text=True, check=True,
        )
        out[loop] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def format_compile(profile: dict) -> str:
    lines = ["1. trace + lower + compile seconds per jitted function (2 epochs, fresh process, cache off)"]
    for loop, data in profile.items():
        cost = lambda r: r["trace_s"] + r["lower_s"] + r["compile_s"]  # noqa: E731
        rows = sorted(data["functions"].items(), key=lambda kv: -cost(kv[1]))
        total = sum(cost(r) for _, r in rows)
        lines.append(f"  {loop}: {total:.2f} s in {len(rows)} functions; epoch ends at {[round(t, 2) for t in data['epoch_end_s']]} s")
        for name, r in rows[:8]:
            lines.append(
                f"    {name:<24} trace {r['trace_s']:6.3f}  lower {r['lower_s']:6.3f}  compile {r['compile_s']:6.3f}  x{r['count']}"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------- 2. steady-state step variants
def step_profile(repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    import optax

    import optlab
    from benchmarks.fit_speed import digits_1500
    from optlab.models import DigitsCNN
    from optlab.train import TrainState, accuracy, classifier_loss
    from optlab.train._batches import take_batch
    from optlab.train._fit import _Carry, _loss_and_grads, _make_train_step
    from optlab.train._guard import NonFiniteGuard, all_finite, select_tree

    x_train, _, y_train, _ = digits_1500()
    model = DigitsCNN(features=(32, 64), hidden=128)
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    x, y = jnp.asarray(x_train), jnp.asarray(y_train)
    perm = jax.random.permutation(jax.random.key(0), x.shape[0])
    key = jax.random.key(1)
    steps = x.shape[0] // BATCH
    loss_fn = classifier_loss(model.apply)

    def variant(guard: bool, metrics: bool):
        def train_step(carry, data, permutation, index, key):
            state, g = carry
            xb, yb = take_batch(data, permutation, index, BATCH)
            loss, outputs, grads, changes = _loss_and_grads(state, loss_fn, xb, yb, jax.random.fold_in(key, index))
            new = state.apply_gradients(grads=grads, **changes)
            finite = all_finite(loss, grads) if guard else jnp.asarray(True)
            state = select_tree(finite, new, state) if guard else new
            out = {"loss": loss, **({"accuracy": accuracy(outputs, yb)} if metrics else {})}
            return _Carry(state, g.update(finite)), out

        return jax.jit(train_step, donate_argnums=0)

    tx = optax.adam(1e-3)

    def hand_loss(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, xb), yb).mean()

    @jax.jit
    def hand_step(carry, permutation, i):
        p, opt = carry
        rows = jax.lax.dynamic_slice_in_dim(permutation, i * BATCH, BATCH)
        loss, g = jax.value_and_grad(hand_loss)(p, x[rows], y[rows])
        updates, opt = tx.update(g, opt, p)
        return (optax.apply_updates(p, updates), opt), loss

    hand_step = jax.jit(hand_step, donate_argnums=0)
    fresh = lambda: _Carry(TrainState.create(apply_fn=model.apply, params=jax.tree.map(jnp.copy, params),  # noqa: E731
                                             tx=optlab.adam(1e-3)), NonFiniteGuard(limit=10))
    runners = {
        "fit step": (_make_train_step(loss_fn, (("accuracy", accuracy),), BATCH), fresh()),
        "fit step, no guard": (variant(False, True), fresh()),
        "fit step, no metric": (variant(True, False), fresh()),
        "fit step, neither": (variant(False, False), fresh()),
    }
    carries = {name: carry for name, (_, carry) in runners.items()}
    carries["hand step"] = (jax.tree.map(jnp.copy, params), tx.init(params))

    def make_run(name):
        def run(n):
            outs = []
            for i in range(n):
                if name == "hand step":
                    carries[name], out = hand_step(carries[name], perm, i % steps)
                else:
                    carries[name], out = runners[name][0](carries[name], (x, y), perm, i % steps, key)
                outs.append(out)
            jax.device_get(outs)

        return run

    names = ["hand step", *runners]
    for name in names:  # compile and warm up
        make_run(name)(5)
    samples: dict[str, list] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            samples[name].append(_timed(make_run(name), 1, 200))
    return {name: {k: statistics.median(s[k] for s in rows) for k in ("wall_ms", "cpu_ms")} for name, rows in samples.items()}


def format_steps(profile: dict) -> str:
    base = profile["hand step"]["wall_ms"]
    lines = ["2. steady-state ms per training step (median of blocks of 200, interleaved)",
             f"  {'step':<22} {'wall ms':>8} {'cpu ms':>8} {'vs hand':>8}"]
    for name, row in profile.items():
        lines.append(f"  {name:<22} {row['wall_ms']:>8.3f} {row['cpu_ms']:>8.3f} {row['wall_ms'] / base:>8.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- 3. the model alone, JAX vs torch
def model_profile(repeats: int) -> dict:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from optlab.models import DigitsCNN

    class DenseOnly(nn.Module):  # the CNN after its convolutions: avgpool - dense128 - dense10
        @nn.compact
        def __call__(self, x):
            x = nn.avg_pool(x, (2, 2), strides=(2, 2)).reshape((x.shape[0], -1))
            return nn.Dense(10)(nn.relu(nn.Dense(128)(x)))

    rng = np.random.default_rng(0)
    xb = rng.random((BATCH, 8, 8, 1), np.float32)
    hb = rng.random((BATCH, 8, 8, 64), np.float32)
    yb = rng.integers(0, 10, BATCH).astype(np.int32)
    out = {}
    for name, model, inp in (("jax: whole CNN", DigitsCNN(features=(32, 64), hidden=128), xb),
                             ("jax: without convs", DenseOnly(), hb)):
        params = model.init(jax.random.key(0), inp[:1])["params"]
        grad = jax.jit(jax.grad(lambda p, x, y, m=model: optax.softmax_cross_entropy_with_integer_labels(
            m.apply({"params": p}, x), y).mean()))
        xj, yj = jnp.asarray(inp), jnp.asarray(yb)
        jax.block_until_ready(grad(params, xj, yj))

        def run(n, grad=grad, params=params, xj=xj, yj=yj):
            for _ in range(n):
                g = grad(params, xj, yj)
            jax.block_until_ready(g)

        out[name] = _timed(run, repeats, 200)
    try:
        import torch
        from torch import nn as tnn
    except ImportError as error:
        out["torch"] = {"skipped": str(error)}
        return out
    whole = tnn.Sequential(
        tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(),
        tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(64 * 4 * 4, 128), tnn.ReLU(), tnn.Linear(128, 10),
    )
    dense = tnn.Sequential(tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(64 * 4 * 4, 128), tnn.ReLU(), tnn.Linear(128, 10))
    loss = tnn.CrossEntropyLoss()
    yt = torch.from_numpy(yb).long()
    for name, model, inp in (("torch: whole CNN", whole, torch.from_numpy(xb).permute(0, 3, 1, 2).contiguous()),
                             ("torch: without convs", dense, torch.from_numpy(hb).permute(0, 3, 1, 2).contiguous())):
        def run(n, model=model, inp=inp):
            for _ in range(n):
                model.zero_grad(set_to_none=True)
                loss(model(inp), yt).backward()

        run(5)
        out[name] = _timed(run, repeats, 200)
    return out


def format_model(profile: dict) -> str:
    lines = ["3. forward+backward of one batch of 32 (median ms)", f"  {'model':<22} {'wall ms':>8} {'cpu ms':>8}"]
    for name, row in profile.items():
        if "skipped" in row:
            lines.append(f"  {name:<22} skipped: {row['skipped']}")
        else:
            lines.append(f"  {name:<22} {row['wall_ms']:>8.3f} {row['cpu_ms']:>8.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- 4. per-epoch host work
def epoch_profile(repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks.fit_speed import digits_1500
    from optlab.models import DigitsCNN
    from optlab.train import accuracy, classifier_loss
    from optlab.train._batches import epoch_permutation
    from optlab.train._fit import _batches, _epoch_summary, _evaluate, _make_eval_step

    _, x_test, _, y_test = digits_1500()
    model = DigitsCNN(features=(32, 64), hidden=128)
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    eval_step = _make_eval_step(classifier_loss(model.apply), (("accuracy", accuracy),))
    batches = _batches(jnp.asarray(x_test), jnp.asarray(y_test), 1024)
    key = jax.random.key(0)
    outs = [{"loss": np.float32(1), "finite": np.bool_(True), "accuracy": np.float32(1), "lr": np.float32(1e-3)}] * 46
    cases = {
        "permutation": lambda n: [jax.block_until_ready(epoch_permutation(key, e, 1500)) for e in range(n)],
        "evaluate test set": lambda n: [_evaluate(eval_step, params, None, batches) for _ in range(n)],
        "epoch summary (host)": lambda n: [_epoch_summary(outs) for _ in range(n)],
    }
    for fn in cases.values():
        fn(2)
    return {name: _timed(fn, repeats, 20) for name, fn in cases.items()}


def format_epoch(profile: dict) -> str:
    lines = ["4. per-epoch host work in fit (median ms per epoch)", f"  {'part':<22} {'wall ms':>8} {'cpu ms':>8}"]
    for name, row in profile.items():
        lines.append(f"  {name:<22} {row['wall_ms']:>8.3f} {row['cpu_ms']:>8.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None)
    parser.add_argument("--compile-child", choices=("fit", "hand"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compile_child:
        _compile_child(args.compile_child)
        return
    results = {"compile": compile_profile()}
    print(format_compile(results["compile"]), flush=True)
    results["steps"] = step_profile(args.repeats)
    print(format_steps(results["steps"]), flush=True)
    results["model"] = model_profile(args.repeats)
    print(format_model(results["model"]), flush=True)
    results["epoch"] = epoch_profile(args.repeats)
    print(format_epoch(results["epoch"]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
