"""Learning curves as PNG with matplotlib's object API (rendered by Agg; no display, no pyplot).

``matplotlib.figure.Figure`` is used directly, so plotting never switches the user's pyplot
backend nor leaves figures open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure


def new_figure(columns: int, width: float = 4.5, height: float = 3.5) -> tuple[Figure, list]:
    """A figure with ``columns`` side-by-side axes, not registered with pyplot."""
    fig = Figure(figsize=(width * columns, height))
    axes = fig.subplots(1, columns, squeeze=False)[0]
    return fig, list(axes)


def plot_learning_curves(
    history: Mapping[str, Sequence[float]], path: str, title: str | None = None
) -> str:
    """Save train/val loss and accuracy per epoch and the learning rate per step to ``path``.

    Reads the keys ``fit`` writes: ``epoch``, ``train_loss``, ``val_loss``, ``val_ema_loss``,
    ``train_<metric>``, ``val_<metric>``, ``val_ema_<metric>`` and ``step_lr``; panels without
    data are left out. Returns ``path``.
    """
    epochs = list(history.get("epoch", []))
    metric_names = sorted(
        {k[len("train_"):] for k in history if k.startswith("train_") and k != "train_loss"}
    )
    panels = ["loss", *metric_names]
    has_lr = bool(history.get("step_lr"))
    fig, axes = new_figure(len(panels) + has_lr)
    for ax, name in zip(axes, panels):
        for prefix in ("train", "val", "val_ema"):
            values = history.get(f"{prefix}_{name}")
            if values:
                ax.plot(epochs, values, marker=".", label=prefix.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
        ax.grid(alpha=0.3)
    if has_lr:
        ax = axes[-1]
        ax.plot(range(1, len(history["step_lr"]) + 1), history["step_lr"])
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path
