"""The text table of a benchmark report."""

from __future__ import annotations

from typing import Any

HEADER = (
    f"{'alloc':8} {'kind':6} {'rule':8} {'dtype':8} {'leaves':>6} | {'optax':>7} {'optlab':>7} "
    f"{'speedup':>7} {'GB/s':>6} {'%roof':>6} {'ceil':>5} {'roof':>6} | {'tree':>7} {'tree/ox':>7} | "
    f"{'c.optax':>7} {'c.flat':>6} {'c.tree':>6} | {'dyn':>6} {'c.dyn':>5} | {'noise':>5}"
)
LEGEND = """\
optax / optlab / tree / roof: median step ms (optax: the optax rule on the tree; optlab: the same rule
  from optlab on flat buffers, FlatTrainState; tree: optlab's rule per leaf; roof: the roofline kernel).
speedup = optax / optlab. GB/s = (read + written bytes of the rule) / optlab time. %roof = roof / optlab.
ceil = 100 * bytes the roof kernel moves / bytes optlab's program moves (XLA's cost analysis): the
  %roof that optlab reaches if both stream at the same speed (adam float32: 9 arrays vs 10 = 90).
tree/ox = tree / optax (> 1: optlab's per-leaf rule is slower). c.*: compile seconds (first process).
dyn / c.dyn: train rows only, FlatTrainState(dynamic_offsets=True) median ms and compile seconds.
noise = the largest (p75 - p25) / median among the timings of the row."""


def _key(row: dict[str, Any]) -> tuple:
    return row["kind"], row["rule"], row["dtype"], row["leaves"]


def _fmt(value: float | None, width: int, digits: int = 1) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _ceiling(row: dict[str, Any]) -> float | None:
    roof, flat = row["roofline"].get("bytes_accessed"), row["optlab"].get("bytes_accessed")
    return None if not roof or not flat else 100 * roof / flat


def format_row(row: dict[str, Any], compile_row: dict[str, Any]) -> str:
    optax_ms, flat_ms = row["optax"]["median_ms"], row["optlab"]["median_ms"]
    roof_ms = row["roofline"]["median_ms"]
    tree_ms = row.get("optlab_tree", {}).get("median_ms")
    noise = max(row[k]["spread"] for k in ("optax", "optlab", "optlab_tree", "optlab_dynamic", "roofline") if k in row)
    compile_tree = compile_row.get("optlab_tree", {}).get("compile_s")
    dyn_ms = row.get("optlab_dynamic", {}).get("median_ms")
    compile_dyn = compile_row.get("optlab_dynamic", {}).get("compile_s")
    return (
        f"{row['allocator']:8} {row['kind']:6} {row['rule']:8} {row['dtype']:8} {row['leaves']:>6} | "
        f"{optax_ms:7.1f} {flat_ms:7.1f} {optax_ms / flat_ms:7.2f} {row['bytes'] / flat_ms / 1e6:6.1f} "
        f"{100 * roof_ms / flat_ms:6.0f} {_fmt(_ceiling(row), 5, 0)} {roof_ms:6.1f} | {_fmt(tree_ms, 7)} "
        f"{_fmt(None if tree_ms is None else tree_ms / optax_ms, 7, 2)} | "
        f"{compile_row['optax']['compile_s']:7.1f} {compile_row['optlab']['compile_s']:6.1f} "
        f"{_fmt(compile_tree, 6)} | {_fmt(dyn_ms, 6)} {_fmt(compile_dyn, 5)} | {noise:5.2f}"
    )


def format_fit(fit: dict[str, Any] | None) -> str:
    if fit is None:
        return "fit: not run (--fit-epochs 0)"
    return "fit vs hand-written loop (digits CNN): " + ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fit.items()
    )


def format_fit_flat(fit_flat: dict[str, Any]) -> str:
    return (
        f"fit with FlatTrainState vs TrainState (digits CNN, {fit_flat['leaves']} leaves): "
        f"{fit_flat['flat_ms_per_epoch']:.1f} vs {fit_flat['tree_ms_per_epoch']:.1f} ms/epoch "
        f"(ratio {fit_flat['ratio']:.3f}); final params max |diff| {fit_flat['max_abs_param_diff']:.3g}"
    )


def format_report(report: dict[str, Any]) -> str:
    first = {_key(row): row for row in report["workers"][0]["rows"]}
    lines = [HEADER, "-" * len(HEADER)]
    for worker in report["workers"]:
        lines += [format_row(row, first[_key(row)]) for row in worker["rows"]]
    lines += ["", LEGEND, ""]
    env = report["workers"][0]["env"]
    lines.append(f"jax {env['jax']}, optax {env['optax']}, {env['device']}, {env['cpus']} cpus, "
                 f"compile times from allocator={report['compile_times_from']}")
    for worker in report["workers"]:
        lines.append(f"[{worker['allocator']}] malloc env {worker['env']['malloc_env']}, "
                     f"mallopt {worker['mallopt']}; {format_fit(worker.get('fit'))}")
        if "fit_flat" in worker:
            lines.append(f"[{worker['allocator']}] {format_fit_flat(worker['fit_flat'])}")
    return "\n".join(lines)
