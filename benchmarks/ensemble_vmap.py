"""Wall time: K = 5 digits CNNs as one vmapped program (``train_independent``) vs 5 ``fit`` runs.

Both train the same five members (seeds 0..4: init and data order; SGD momentum 0.05, batch 32,
no validation, no files) and give the same weights up to float rounding
(tests/ensembles/test_independent.py). Times are end to end, compilation included, since that is
what a user waits for; the vmapped step is also timed a second time in the same process (its
jitted program is cached; ``fit`` builds a new jitted step per call, so it recompiles each time).
``vmap=False`` runs the members one at a time through the same cached (unbatched) step. The
per-epoch time after compilation is reported too (median over epochs 2..E of each run), and
the process CPU time (all threads), steadier than wall time on a shared machine.

    python benchmarks/ensemble_vmap.py [--epochs 5] [--members 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if __name__ == "__main__" and __package__ in (None, ""):  # run as a file: make optlab importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import optlab  # noqa: E402
from optlab.data import load_digits  # noqa: E402
from optlab.ensembles import train_independent  # noqa: E402
from optlab.models import DigitsCNN  # noqa: E402
from optlab.train import TrainState, classifier_loss, fit  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--members", type=int, default=5)
    args = parser.parse_args(argv)
    data = load_digits(seed=0)
    model = DigitsCNN()
    loss = classifier_loss(model.apply)
    tx = optlab.momentum(0.05)
    seeds = list(range(args.members))

    def make_state(seed):
        params = model.init(jax.random.key(seed), jnp.zeros((1, 8, 8, 1)))["params"]
        return TrainState.create(apply_fn=model.apply, params=params, tx=tx)

    kw = dict(epochs=args.epochs, batch_size=32)
    began, cpu = time.perf_counter(), time.process_time()
    sequential = [fit(make_state(s), loss, data.train, seed=s, progress=False, tensorboard=False, plot=False, **kw) for s in seeds]
    jax.block_until_ready([r.state.params for r in sequential])
    t_seq, c_seq = time.perf_counter() - began, time.process_time() - cpu
    seq_epoch = statistics.median(t for r in sequential for t in r.epoch_seconds[1:]) * args.members
    times, cpus = [], []
    for _ in range(2):
        began, cpu = time.perf_counter(), time.process_time()
        result = train_independent(make_state, loss, data.train, seeds=seeds, **kw)
        jax.block_until_ready(result.members.params)
        times.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
    print(f"digits CNN, K={args.members} members, {args.epochs} epochs each, {jax.devices()[0].platform}")
    print(f"{'':<34} {'wall s':>8} {'CPU s':>8}")
    print(f"{f'{args.members} sequential fit runs':<34} {t_seq:>8.1f} {c_seq:>8.1f}   "
          f"(one epoch of all members after compile: {seq_epoch:.2f} s wall)")
    print(f"{'train_independent (vmapped)':<34} {times[0]:>8.1f} {cpus[0]:>8.1f}   "
          f"(speed-up {t_seq / times[0]:.2f}x wall, {c_seq / cpus[0]:.2f}x CPU)")
    vmap_epoch = statistics.median(result.epoch_seconds[1:])
    began, cpu = time.perf_counter(), time.process_time()
    one_by_one = train_independent(make_state, loss, data.train, seeds=seeds, vmap=False, **kw)
    jax.block_until_ready(one_by_one.members.params)
    t_one, c_one = time.perf_counter() - began, time.process_time() - cpu
    one_epoch = statistics.median(t for k in range(args.members) for t in one_by_one.epoch_seconds[k * args.epochs + 1 : (k + 1) * args.epochs]) * args.members
    print(f"{'train_independent, again (cached)':<34} {times[1]:>8.1f} {cpus[1]:>8.1f}   "
          f"(one epoch of all members after compile: {vmap_epoch:.2f} s wall)")
    print(f"{'train_independent(vmap=False)':<34} {t_one:>8.1f} {c_one:>8.1f}   "
          f"(one member at a time, one compile: {one_epoch:.2f} s wall per epoch of all members)")


if __name__ == "__main__":
    main()
