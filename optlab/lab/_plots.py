"""The lab's pictures: a landscape's contours with every rule's path, loss-vs-step curves (log y),
an animated race (GIF), and every schedule over one run.

Drawn on ``matplotlib.figure.Figure`` objects (no pyplot, no global backend switch); the GIF is
written by matplotlib's ``PillowWriter``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.figure import Figure

from ._landscapes import Landscape
from ._race import RaceResult


def new_figure(columns: int = 1, width: float = 5.0, height: float = 4.0) -> tuple[Figure, list]:
    """A figure with ``columns`` side-by-side axes, not registered with pyplot."""
    fig = Figure(figsize=(width * columns, height))
    return fig, list(fig.subplots(1, columns, squeeze=False)[0])


def _grid(landscape: Landscape, points: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = landscape.extent
    xs, ys = np.meshgrid(np.linspace(x0, x1, points), np.linspace(y0, y1, points))
    ws = jnp.stack([jnp.asarray(xs.ravel()), jnp.asarray(ys.ravel())], axis=1)
    zs = np.asarray(jax.vmap(landscape.loss)(ws)).reshape(xs.shape) - landscape.minimum
    return xs, ys, zs


def draw_landscape(ax, landscape: Landscape, results: Sequence[RaceResult] = ()) -> None:
    """Contours of ``loss - minimum`` (levels at quantiles of the values), the minima (stars), the start (circle) and
    each result's path clipped to the box."""
    xs, ys, zs = _grid(landscape)
    # Levels at quantiles of the values in the box: contours where the area is, whatever the scale.
    levels = np.unique(np.quantile(zs, np.linspace(0.0, 1.0, 22) ** 2))
    ax.contourf(xs, ys, zs, levels=levels, cmap="Blues_r", alpha=0.35)
    ax.contour(xs, ys, zs, levels=levels, colors="0.4", linewidths=0.4)
    for result in results:
        path = _clip(result.path, landscape.extent)
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, label=f"{result.name} (lr {result.learning_rate:.3g})")
    ax.plot(*landscape.start, "ko", ms=5)
    for x, y in landscape.minimizers:
        ax.plot(x, y, "k*", ms=9)
    x0, x1, y0, y1 = landscape.extent
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y", title=landscape.name)
    if results:
        ax.legend(fontsize=7, loc="best")


def _clip(path: np.ndarray, extent: tuple[float, float, float, float]) -> np.ndarray:
    """The path up to the first point outside a box three times the plot's size (divergent runs)."""
    x0, x1, y0, y1 = extent
    wx, wy = x1 - x0, y1 - y0
    inside = (np.isfinite(path).all(axis=1) & (path[:, 0] > x0 - wx) & (path[:, 0] < x1 + wx)
              & (path[:, 1] > y0 - wy) & (path[:, 1] < y1 + wy))
    stop = np.argmin(inside) if not inside.all() else len(path)
    return path[: max(stop, 1)]


def draw_losses(ax, results: Sequence[RaceResult], tolerance: float | None = None) -> None:
    """``loss - minimum`` per step on a log axis, one line per result (zeros drawn at the floor)."""
    floor = 1e-300
    for result in results:
        ax.plot(np.maximum(np.abs(result.losses), floor), lw=1, label=result.name)
    if tolerance is not None:
        ax.axhline(tolerance, color="k", ls=":", lw=0.8, label=f"tolerance {tolerance:g}")
    ax.set(yscale="log", xlabel="step", ylabel="loss - minimum")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_race(landscape: Landscape, results: Sequence[RaceResult], tolerance: float | None = None) -> Figure:
    """Contour plot with every rule's path (left) and loss-vs-step curves (right)."""
    fig, (left, right) = new_figure(2)
    draw_landscape(left, landscape, results)
    draw_losses(right, results, tolerance)
    fig.tight_layout()
    return fig


def animate_race(landscape: Landscape, results: Sequence[RaceResult], path: str, frames: int = 40,
                 fps: int = 10) -> str:
    """Write an animated GIF of the race: each rule's path growing over the steps. Returns ``path``."""
    fig, (ax,) = new_figure(1, 5.0, 4.0)
    draw_landscape(ax, landscape)
    lines = [ax.plot([], [], ".-", ms=2, lw=1, label=r.name)[0] for r in results]
    ax.legend(fontsize=7, loc="best")
    total = len(results[0].path) if results else 1
    # Early steps matter most: frames are spaced geometrically in the step count.
    ends = np.unique(np.geomspace(1, total, frames).astype(int))

    def update(i):
        for line, result in zip(lines, results):
            shown = _clip(result.path[: ends[i]], landscape.extent)
            line.set_data(shown[:, 0], shown[:, 1])
        ax.set_title(f"{landscape.name}: step {ends[i] - 1}")
        return lines

    FuncAnimation(fig, update, frames=len(ends), blit=False).save(path, writer=PillowWriter(fps=fps), dpi=60)
    return path


def plot_schedules(schedules: Mapping[str, Callable[[Any], Any]], steps: int,
                   steps_per_epoch: int = 1) -> Figure:
    """Every schedule's learning rate over one run of ``steps`` steps, on one figure (x in epochs)."""
    fig, (ax,) = new_figure(1, 7.0, 4.0)
    t = np.arange(steps)
    for name, schedule in schedules.items():
        values = np.asarray(jax.vmap(schedule)(jnp.asarray(t)))
        ax.plot(t / steps_per_epoch, values, lw=1.2, label=name)
    ax.set(xlabel="epoch" if steps_per_epoch > 1 else "step", ylabel="learning rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
