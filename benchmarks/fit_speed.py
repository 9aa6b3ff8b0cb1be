"""Training speed as a user times it: the same CNN trained by PyTorch eager, a hand-written jitted
flax+optax loop, and ``optlab.train.fit`` (tree and flat state), on the same CPU.

The task (issue 15): the digits CNN conv32-conv64-avgpool-dense128 (``DigitsCNN(features=(32, 64),
hidden=128)``; the torch twin has the same layers and padding), Adam lr 1e-3, batch 32, 30 epochs on
a 1500/297 train/test split of sklearn's digits, the test set evaluated after every epoch. Each
loop runs in a **fresh process** (compilation and first-epoch costs included, JAX's persistent
compilation cache off), ``--repeats`` times, in a balanced order; the table reports the median total
wall time, the median time to 97% test accuracy (wall time from the start of training to the end of
the first epoch whose test accuracy is >= 0.97) and the ratios to the hand-written loop and to
PyTorch. ``fit_warm`` is ``fit`` with JAX's persistent compilation cache (``jax_compilation_cache_dir``)
filled by one untimed run first: what a user's second run of the same script costs. The JAX loops
build their parameters with ``jax.jit(model.init)``, as a user should (un-jitted, flax's init
compiles one random-number kernel per shape).

    python -m benchmarks.fit_speed [--epochs 30] [--repeats 3] [--loops torch,hand,fit,fit_flat,fit_warm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

EPOCHS, BATCH, LR, TARGET = 30, 32, 1e-3, 0.97
LOOPS = ("torch", "hand", "fit", "fit_flat", "fit_warm")
WARM_CACHE = os.path.join(tempfile.gettempdir(), "optlab-fit-speed-jax-cache")


def digits_1500():
    """The issue's split: 1500 training and 297 test images (seeded, stratified), scaled to [0, 1]."""
    import numpy as np
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    bunch = sklearn.datasets.load_digits()
    x = (np.asarray(bunch.images, np.float32) / np.float32(16.0))[..., None]
    y = np.asarray(bunch.target, np.int32)
    return train_test_split(x, y, test_size=297, random_state=0, stratify=y)


def _record(began: float, accuracies: list[float], epoch_ends: list[float]) -> dict:
    reached = next((t for t, a in zip(epoch_ends, accuracies) if a >= TARGET), None)
    return {
        "total_s": epoch_ends[-1],
        "time_to_target_s": reached,
        "final_test_accuracy": accuracies[-1],
        "epoch_end_s": epoch_ends,
        "test_accuracy": accuracies,
    }


def run_torch(epochs: int) -> dict:
    import torch
    from torch import nn

    x_train, x_test, y_train, y_test = digits_1500()
    began = time.perf_counter()
    torch.manual_seed(0)
    xt = torch.from_numpy(x_train).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y_train).long()
    xv = torch.from_numpy(x_test).permute(0, 3, 1, 2).contiguous()
    yv = torch.from_numpy(y_test).long()
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    steps = xt.shape[0] // BATCH
    accuracies, ends = [], []
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(xt.shape[0])
        for i in range(steps):
            rows = perm[i * BATCH : (i + 1) * BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[rows]), yt[rows])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracies.append(float((model(xv).argmax(1) == yv).float().mean()))
        ends.append(time.perf_counter() - began)
    return _record(began, accuracies, ends)


def run_hand(epochs: int) -> dict:
    """The loop a JAX user writes: jitted donated step, batch gathered on the device, eval per epoch."""
    import jax
    import jax.numpy as jnp
    import optax

    from optlab.models import DigitsCNN

    x_train, x_test, y_train, y_test = digits_1500()
    began = time.perf_counter()
    model = DigitsCNN(features=(32, 64), hidden=128)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    tx = optax.adam(LR)
    x, y = jnp.asarray(x_train), jnp.asarray(y_train)
    xv, yv = jnp.asarray(x_test), jnp.asarray(y_test)
    steps = x.shape[0] // BATCH

    def loss_fn(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, xb), yb).mean()

    @jax.jit
    def step(carry, perm, i):
        p, opt = carry
        rows = jax.lax.dynamic_slice_in_dim(perm, i * BATCH, BATCH)
        loss, g = jax.value_and_grad(loss_fn)(p, x[rows], y[rows])
        updates, opt = tx.update(g, opt, p)
        return (optax.apply_updates(p, updates), opt), loss

    step = jax.jit(step, donate_argnums=0)
    test_accuracy = jax.jit(lambda p: jnp.mean(jnp.argmax(model.apply({"params": p}, xv), -1) == yv))
    carry, key = (params, tx.init(params)), jax.random.key(0)
    accuracies, ends = [], []
    for epoch in range(epochs):
        perm = jax.random.permutation(jax.random.fold_in(key, epoch), x.shape[0])
        losses = []
        for i in range(steps):
            carry, loss = step(carry, perm, i)
            losses.append(loss)
        jax.device_get(losses)
        accuracies.append(float(test_accuracy(carry[0])))
        ends.append(time.perf_counter() - began)
    return _record(began, accuracies, ends)


def run_fit(epochs: int, flat: bool = False) -> dict:
    """``optlab.train.fit`` with its defaults (progress bar on, to stderr), the test set as val_data."""
    import jax
    import jax.numpy as jnp

    import optlab
    from optlab.models import DigitsCNN
    from optlab.train import FlatTrainState, TrainState, accuracy, classifier_loss, fit

    x_train, x_test, y_train, y_test = digits_1500()
    began = time.perf_counter()
    model = DigitsCNN(features=(32, 64), hidden=128)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    state_class = FlatTrainState if flat else TrainState
    state = state_class.create(apply_fn=model.apply, params=params, tx=optlab.adam(LR))
    accuracies, ends = [], []

    def on_epoch_end(epoch, row):
        accuracies.append(row["val_accuracy"])
        ends.append(time.perf_counter() - began)

    fit(
        state, classifier_loss(model.apply), (x_train, y_train), (x_test, y_test), epochs=epochs,
        batch_size=BATCH, metrics={"accuracy": accuracy}, on_epoch_end=on_epoch_end,
    )
    return _record(began, accuracies, ends)


RUNNERS = {
    "torch": run_torch,
    "hand": run_hand,
    "fit": run_fit,
    "fit_flat": lambda epochs: run_fit(epochs, flat=True),
    "fit_warm": run_fit,  # the same, with JAX's persistent compilation cache filled by an untimed run
}


def _child(loop: str, epochs: int) -> dict:
    if loop == "fit_warm":  # what a user's second run sees with jax_compilation_cache_dir set
        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": WARM_CACHE, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    else:
        env = {**os.environ, "JAX_ENABLE_COMPILATION_CACHE": "false"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.fit_speed", "--child", loop, "--epochs", str(epochs)],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(loops: list[str], epochs: int, repeats: int) -> dict:
    """Each loop ``repeats`` times in fresh processes, the order rotated every repeat."""
    results: dict[str, list[dict]] = {loop: [] for loop in loops}
    if "fit_warm" in loops:
        shutil.rmtree(WARM_CACHE, ignore_errors=True)
        _child("fit_warm", epochs)  # fills the cache; not timed
    for r in range(repeats):
        for loop in loops[r % len(loops):] + loops[: r % len(loops)]:
            results[loop].append(_child(loop, epochs))
    summary = {}
    for loop, runs in results.items():
        reached = [run["time_to_target_s"] for run in runs if run["time_to_target_s"] is not None]
        summary[loop] = {
            "total_s": statistics.median(run["total_s"] for run in runs),
            "time_to_target_s": statistics.median(reached) if len(reached) == len(runs) else None,
            "final_test_accuracy": statistics.median(run["final_test_accuracy"] for run in runs),
            "totals": [run["total_s"] for run in runs],
        }
    return summary


def format_table(summary: dict) -> str:
    base = summary.get("hand")
    ref = summary.get("torch")
    header = f"{'loop':<9} {'total s':>8} {'to 97% s':>9} {'test acc':>8} {'vs hand':>8} {'vs torch':>8}"
    lines = [header, "-" * len(header)]
    for loop, row in summary.items():
        to97 = row["time_to_target_s"]
        lines.append(
            f"{loop:<9} {row['total_s']:>8.2f} {to97 if to97 is not None else float('nan'):>9.2f} "
            f"{row['final_test_accuracy']:>8.4f} "
            f"{row['total_s'] / base['total_s'] if base else float('nan'):>8.3f} "
            f"{row['total_s'] / ref['total_s'] if ref else float('nan'):>8.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loops", default=",".join(LOOPS))
    parser.add_argument("--child", choices=LOOPS, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the summary here")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(RUNNERS[args.child](args.epochs)))
        return
    loops = [name.strip() for name in args.loops.split(",") if name.strip()]
    unknown = sorted(set(loops) - set(LOOPS))
    if unknown:
        raise SystemExit(f"--loops: unknown {unknown}; choose from {', '.join(LOOPS)}")
    summary = run(loops, args.epochs, args.repeats)
    print(format_table(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
