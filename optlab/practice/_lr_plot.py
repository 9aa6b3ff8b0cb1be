"""The LR range test as a picture: loss against log learning rate, suggestions marked."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..train._plots import new_figure

_MARKERS = {"valley": ("o", "tab:green"), "steepest": ("s", "tab:orange"), "minimum": ("^", "tab:red")}


def plot_lr_find(result: Any, path: str, title: str | None = None) -> str:
    """Draw ``result`` (an ``LRFindResult``) to the PNG ``path``; returns ``path``.

    Raw losses faint, the smoothed loss solid, each finite suggestion a marker on the smoothed
    curve (interpolated in log lr), the divergence point a dashed line. The y-range runs from the
    lowest loss to the highest smoothed loss (raw spikes above it are clipped).
    """
    lrs, raw, smooth = result.learning_rates, result.losses, result.smoothed_losses
    fig, (ax,) = new_figure(1, width=6.0, height=4.0)
    ax.plot(lrs, raw, color="tab:blue", alpha=0.3, linewidth=1, label="loss")
    ax.plot(lrs, smooth, color="tab:blue", linewidth=2, label="smoothed loss")
    finite = np.isfinite(smooth)
    for name, value in result.suggestions.items():
        if np.isfinite(value) and finite.any():
            marker, color = _MARKERS[name]
            y = np.interp(np.log(value), np.log(lrs[finite]), smooth[finite])
            ax.plot([value], [y], marker=marker, color=color, markersize=9, linestyle="none",
                    label=f"{name}: {value:.2g}")
    if result.diverged_at is not None:
        ax.axvline(result.diverged_at, color="gray", linestyle="--", label=f"stopped at {result.diverged_at:.2g}")
    if finite.any():
        low, high = np.nanmin(np.where(np.isfinite(raw), raw, np.nan)), smooth[finite].max()
        low = min(low, smooth[finite].min())
        pad = 0.05 * (high - low) if high > low else 0.05 * abs(high) + 1e-12
        ax.set_ylim(low - pad, high + pad)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(title or "LR range test")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path
