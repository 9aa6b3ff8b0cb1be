"""Time per ``fit`` epoch: the digits CNN with its convolutions frozen vs every layer trainable.

With ``optlab.transfer.partition([("Conv_.*", None), (".*", adam)])`` the TrainState differentiates
only the dense layers, so the backward pass computes no convolution gradient at all (no kernel
gradients, no gradient through ``Conv_1``'s input); the forward pass is the same. The baseline is
``partition([(".*", adam)])``: the same machinery with nothing frozen. Both run interleaved in one
process (alternating which goes first); the first epoch of every run (compilation) is dropped and
the median of the rest is reported, in wall time and in process CPU time (all threads).

    python benchmarks/frozen_backward.py [--epochs 6] [--repeats 3] [--batch-size 64]
    python -m benchmarks.frozen_backward     # the same, from the repository root
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
from optlab.models import DigitsCNN  # noqa: E402
from optlab.train import TrainState, classifier_loss, fit  # noqa: E402
from optlab.transfer import partition  # noqa: E402

LR = 3e-3
MODES = {
    "convs frozen": lambda: partition([("Conv_.*", None), (".*", optlab.adam(LR))]),
    "all trainable": lambda: partition([(".*", optlab.adam(LR))]),
}


def epoch_seconds(mode: str, data, model, params, epochs: int, batch_size: int) -> tuple[list[float], list[float]]:
    """Wall and process-CPU seconds of each epoch after the first (which compiles).

    CPU time (all threads) is read at each ``on_epoch_end``; on a machine shared with other jobs it
    is steadier than wall time, which also counts the time the process waited for a core.
    """
    marks = [time.process_time()]
    state = TrainState.create(apply_fn=model.apply, params=params, tx=MODES[mode]())
    result = fit(state, classifier_loss(model.apply), data, epochs=epochs, batch_size=batch_size,
                 progress=False, plot=False, tensorboard=False, on_epoch_end=lambda *_: marks.append(time.process_time()))
    cpu = [b - a for a, b in zip(marks, marks[1:])]
    return result.epoch_seconds[1:], cpu[1:]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    splits = load_digits(seed=0)
    data = (splits.train.x, splits.train.y)
    model = DigitsCNN()
    params = model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    wall: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    for repeat in range(args.repeats):
        order = list(MODES) if repeat % 2 == 0 else list(reversed(MODES))
        for mode in order:
            w, c = epoch_seconds(mode, data, model, params, args.epochs, args.batch_size)
            wall[mode] += w
            cpu[mode] += c
    steps = len(data[1]) // args.batch_size
    medians = {f"{kind} {mode}": statistics.median(values[mode]) for kind, values in (("wall", wall), ("cpu", cpu))
               for mode in MODES}
    print(f"digits CNN, fit epoch of {steps} steps (batch {args.batch_size}), median of {len(wall['convs frozen'])} "
          f"epochs, {jax.devices()[0].platform}:")
    for mode in MODES:
        print(f"  {mode:14s} {medians['wall ' + mode] * 1e3:7.1f} ms/epoch wall, {medians['cpu ' + mode] * 1e3:7.1f} ms CPU")
    for kind in ("wall", "cpu"):
        print(f"  frozen / trainable ({kind}) = {medians[kind + ' convs frozen'] / medians[kind + ' all trainable']:.2f}")
    return medians


if __name__ == "__main__":
    main()
