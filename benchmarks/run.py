"""``python -m benchmarks``: optlab's update step against optax, a roofline, and fit vs a hand loop.

Each allocator setting runs in its own process (glibc reads ``MALLOC_*`` at start):

* ``default``: the ``MALLOC_*`` variables removed from the environment;
* ``tuned``:   ``optlab.perf.allocator_env()`` in the environment (see ``optlab/perf/_allocator.py``);
* ``mallopt``: no variables, ``optlab.perf.tune_allocator()`` called first thing in the process.

The processes share a fresh persistent compilation cache, so only the first one compiles: compile
times are taken from it. Results: a table on stdout and ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODES = ("default", "tuned", "mallopt")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1M params, fewer cases/repeats")
    parser.add_argument("--rules", default=None, help="comma list of sgd,momentum,adam (default: all)")
    parser.add_argument("--leaves", default=None, help="comma list of leaf counts (default 1,200,2000)")
    parser.add_argument("--size", type=int, default=None, help="parameters in all (default 16777216)")
    parser.add_argument("--allocator", choices=("default", "tuned", "mallopt", "both", "all"), default=None,
                        help="both = default + tuned; all = the three (default: both; --quick: tuned)")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per case (default 20)")
    parser.add_argument("--bf16-rules", default=None, help="rules also run with bf16 params (default adam)")
    parser.add_argument("--train-rules", default=None, help="rules of the gradient+update cases (default adam)")
    parser.add_argument("--no-tree", action="store_true",
                        help="skip optlab's per-leaf (tree) rules (run by default on the float32 update rows)")
    parser.add_argument("--fit-epochs", type=int, default=None,
                        help="digits CNN epochs per run, the first (compiling) one not timed (0 skips; default 4)")
    parser.add_argument("--fit-repeats", type=int, default=None, help="digits CNN repeats (default 2)")
    parser.add_argument("--name", default=None, help="results/<name>.json (default: run-<UTC time>)")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    fill = {
        "rules": "sgd,adam" if quick else "sgd,momentum,adam",
        "leaves": "1,20,200" if quick else "1,200,2000",
        "size": 2**20 if quick else 16 * 2**20,
        "allocator": "tuned" if quick else "both",
        "repeats": 5 if quick else 20,
        "bf16_rules": "adam",
        "train_rules": "adam",
        "fit_epochs": 2 if quick else 4,
        "fit_repeats": 1 if quick else 2,
        "name": time.strftime("run-%Y%m%dT%H%M%SZ", time.gmtime()),
    }
    for key, value in fill.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("size", "repeats"):
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be >= 1, got {getattr(args, key)}")
    if args.fit_epochs == 1 or args.fit_epochs < 0:
        parser.error(f"--fit-epochs must be 0 (skip) or >= 2 (the first epoch compiles), got {args.fit_epochs}")
    return args


def _csv(text: str, cast=str) -> list:
    return [cast(item) for item in text.split(",") if item]


def cases(args: argparse.Namespace) -> list[tuple[str, str, int, str]]:
    """``(kind, rule, leaves, dtype)`` for every case the options ask for."""
    out = []
    for leaves in _csv(args.leaves, int):
        out += [("update", rule, leaves, "float32") for rule in _csv(args.rules)]
        out += [("update", rule, leaves, "bfloat16") for rule in _csv(args.bf16_rules)]
        out += [("train", rule, leaves, "float32") for rule in _csv(args.train_rules)]
    return out


def environment() -> dict[str, Any]:
    import jax
    import optax

    return {
        "python": platform.python_version(), "jax": jax.__version__, "optax": optax.__version__,
        "machine": platform.machine(), "cpus": os.cpu_count(), "device": str(jax.devices()[0]),
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
    }


def _fit_row(epochs: int, repeats: int) -> dict[str, Any]:
    try:
        from . import fit_vs_handwritten
    except ImportError as error:
        return {"skipped": f"benchmarks/fit_vs_handwritten.py is not available ({error})"}
    try:
        return fit_vs_handwritten.run(epochs=epochs, repeats=repeats)
    except Exception as error:  # noqa: BLE001 - report it in the table, keep the update results
        return {"error": f"fit_vs_handwritten.run(epochs={epochs}, repeats={repeats}) failed: {error!r}"}


def worker(args: argparse.Namespace) -> None:
    """One allocator setting: run every case in this process and write JSON to ``args.out``."""
    tuned = None
    if args.worker == "mallopt":
        from optlab.perf._allocator import tune_allocator

        tuned = tune_allocator()
    import jax

    jax.config.update("jax_compilation_cache_dir", args.cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    from ._cases import run_case

    result = {"allocator": args.worker, "mallopt": tuned, "env": environment(), "rows": []}
    # The digits CNN first, in a fresh process: fit does more host-side (Python) work per step than
    # the hand-written loop, and after the update cases (thousands of arrays created, a large heap
    # for the garbage collector to scan) its ratio read 1.01-1.43 in-suite vs 1.009 standalone.
    if args.fit_epochs > 0:
        result["fit"] = _fit_row(args.fit_epochs, args.fit_repeats)
        if args.worker == _modes(args.allocator)[-1]:  # once per suite: in the last process
            from ._fit_flat import run as fit_flat

            result["fit_flat"] = fit_flat(epochs=args.fit_epochs, repeats=args.fit_repeats)
    for kind, rule, leaves, dtype in cases(args):
        start = time.perf_counter()
        with_tree = not args.no_tree and kind == "update" and dtype == "float32"
        row = run_case(kind, rule, args.size, leaves, dtype, args.repeats, with_tree=with_tree)
        row["allocator"] = args.worker
        result["rows"].append(row)
        print(f"  [{args.worker}] {kind} {rule} {dtype} L={leaves}: optax {row['optax']['median_ms']:.1f} ms, "
              f"optlab {row['optlab']['median_ms']:.1f} ms ({time.perf_counter() - start:.0f} s)", flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


def _modes(allocator: str) -> list[str]:
    return {"both": ["default", "tuned"], "all": list(MODES)}.get(allocator, [allocator])


def _env(mode: str) -> dict[str, str]:
    from optlab.perf._allocator import allocator_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(allocator_env() if mode == "tuned" else {})
    return env


def spawn(args: argparse.Namespace, argv: list[str]) -> list[dict[str, Any]]:
    """Run one worker process per allocator mode; their results, in order."""
    results = []
    with tempfile.TemporaryDirectory(prefix="optlab-bench-") as tmp:
        for mode in _modes(args.allocator):
            out = Path(tmp) / f"{mode}.json"
            command = [sys.executable, "-m", "benchmarks.run", *argv, "--worker", mode,
                       "--out", str(out), "--cache-dir", str(Path(tmp) / "jax-cache")]
            print(f"allocator={mode}: {' '.join(command[1:4])} ...", flush=True)
            subprocess.run(command, check=True, env=_env(mode), cwd=HERE.parent)
            results.append(json.loads(out.read_text()))
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return {}
    from ._results import write_result
    from ._table import format_report

    started = time.perf_counter()
    workers = spawn(args, argv)
    report = {
        "name": args.name, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "options": {k: v for k, v in vars(args).items() if k not in ("worker", "out", "cache_dir")},
        "compile_times_from": workers[0]["allocator"], "workers": workers,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(format_report(report))
    print(f"\nwrote {write_result(args.name, report)} ({report['wall_s']} s in all)")
    return report


if __name__ == "__main__":
    main()
