"""PyTorch's fused and foreach Adam on many small tensors, next to optax and optlab (CUDA only).

``python -m benchmarks.torch_adam [--leaves 3000] [--leaf-size 3500] [--repeats 50]``: the
``torch.optim.Adam(fused=True)`` / ``(foreach=True)`` step on ``leaves`` tensors of ``leaf_size``
float32 parameters with gradients set, timed with CUDA events (median ms), and in the same
process the optax tree step, optlab's FlatTrainState step and the roofline kernel on the same
shapes (``benchmarks._cases``; optlab's per-leaf rule is left out to keep ``gpu.sh`` short). Skipped, with the reason printed, without torch or without CUDA.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from ._results import write_result


def _torch_step_ms(torch: Any, params: list, mode: str, repeats: int, warmup: int) -> float:
    opt = torch.optim.Adam(params, lr=1e-3, **{mode: True})
    for _ in range(warmup):
        opt.step()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        opt.step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def torch_rows(leaves: int, leaf_size: int, repeats: int, warmup: int = 10) -> dict[str, Any]:
    """``{"fused_ms", "foreach_ms", "gb_per_s_*", "device", "torch"}`` or ``{"skipped": reason}``."""
    try:
        import torch
    except ImportError as error:
        return {"skipped": f"torch is not installed ({error})"}
    if not torch.cuda.is_available():
        return {"skipped": f"torch {torch.__version__} sees no CUDA device"}
    params = [torch.zeros(leaf_size, device="cuda", requires_grad=True) for _ in range(leaves)]
    for p in params:
        p.grad = torch.full_like(p, 0.01)
    out: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                           "device": torch.cuda.get_device_name(0)}
    moved = 28 * leaves * leaf_size  # read p, g, m, v; write p, m, v (float32)
    for mode in ("fused", "foreach"):
        ms = _torch_step_ms(torch, params, mode, repeats, warmup)
        out[f"{mode}_ms"], out[f"{mode}_gb_per_s"] = ms, moved / ms / 1e6
    del params
    torch.cuda.empty_cache()
    return out


def jax_rows(leaves: int, leaf_size: int, repeats: int) -> dict[str, Any]:
    """optax (tree), optlab (FlatTrainState) and the roofline kernel, same shapes."""
    import jax

    from ._cases import run_case

    row = run_case("update", "adam", leaves * leaf_size, leaves, "float32", repeats, with_tree=False)
    row["device"] = str(jax.devices()[0])
    return row


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_adam", description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=3000)
    parser.add_argument("--leaf-size", type=int, default=3500)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    torch_part = torch_rows(args.leaves, args.leaf_size, args.repeats)
    if "skipped" in torch_part:
        print(f"torch_adam: skipped: {torch_part['skipped']}")
        return torch_part
    print(f"torch {torch_part['torch']} (CUDA {torch_part['cuda']}) on {torch_part['device']}")
    jax_part = jax_rows(args.leaves, args.leaf_size, min(args.repeats, 30))
    rows = {
        "torch fused Adam": torch_part["fused_ms"],
        "torch foreach Adam": torch_part["foreach_ms"],
        "optax.adam (tree, donated)": jax_part["optax"]["median_ms"],
        "optlab FlatTrainState (flat, donated)": jax_part["optlab"]["median_ms"],
        "roofline kernel (3 donated + 1 read)": jax_part["roofline"]["median_ms"],
    }
    print(f"Adam step, {args.leaves} leaves x {args.leaf_size} float32 params ({jax_part['device']}):")
    for name, ms in rows.items():
        print(f"  {name:40} {ms:8.3f} ms  {28 * args.leaves * args.leaf_size / ms / 1e6:7.1f} GB/s")
    result = {"torch": torch_part, "jax": jax_part}
    print(f"wrote {write_result('torch_adam', result)}")
    return result


if __name__ == "__main__":
    main()
