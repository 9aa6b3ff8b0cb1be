"""The files of one ``fit`` run: checkpoints, history (JSON/CSV), TensorBoard events, curves."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import jax

from ._checkpoint import Checkpoints, Restored
from ._logging import TensorBoardLogger, write_history
from ._plots import plot_learning_curves


def tensorboard_tag(name: str) -> str:
    """TensorBoard tag of a history column: ``val_ema_loss -> val_ema/loss``, ``lr -> epoch/lr``."""
    for prefix in ("val_ema_", "val_", "train_"):
        if name.startswith(prefix):
            return f"{prefix[:-1]}/{name[len(prefix):]}"
    return f"epoch/{name}"


class RunFiles:
    """Everything ``fit`` writes under ``run_dir``; ``paths`` names each file or folder.

    On several processes (``jax.distributed``) every process writes the checkpoints together
    (orbax coordinates them) and only process 0 writes TensorBoard events, history and plots.
    """

    def __init__(self, run_dir: str | os.PathLike, *, checkpoints: Checkpoints, tensorboard: bool) -> None:
        self.dir = os.path.abspath(os.fspath(run_dir))
        self.paths = {
            "run_dir": self.dir,
            "checkpoints": checkpoints.directory,
            "tensorboard": os.path.join(self.dir, "tensorboard"),
            "history_json": os.path.join(self.dir, "history.json"),
            "history_csv": os.path.join(self.dir, "history.csv"),
        }
        self.checkpoints = checkpoints
        self._writer = jax.process_index() == 0
        self._logger = TensorBoardLogger(self.paths["tensorboard"]) if tensorboard and self._writer else None

    @classmethod
    def open(
        cls, run_dir: str | os.PathLike, *, every: int, keep_latest: int, keep_best: int, mode: str,
        tensorboard: bool,
    ) -> RunFiles:
        """Create ``run_dir`` (if needed) and its checkpoint manager."""
        run_dir = os.path.abspath(os.fspath(run_dir))
        os.makedirs(run_dir, exist_ok=True)
        checkpoints = Checkpoints(
            os.path.join(run_dir, "checkpoints"), every=every, keep_latest=keep_latest,
            keep_best=keep_best, mode=mode,
        )
        return cls(run_dir, checkpoints=checkpoints, tensorboard=tensorboard)

    def resume(self, target: Any, resume: bool) -> Restored | None:
        """The newest readable checkpoint (``resume=True``), with newer unreadable ones set aside.

        Without ``resume`` a run directory that already holds checkpoints is an error: the new run
        would mix its epochs with the old ones.
        """
        if not resume:
            if self.checkpoints.epochs():
                raise ValueError(
                    f"run_dir {self.dir!r} already holds checkpoints; pass resume=True or a new run_dir"
                )
            return None
        restored = self.checkpoints.restore_latest(target)
        self.checkpoints.quarantine_after(restored.epoch if restored else 0)
        return restored

    def log_epoch(
        self, row: Mapping[str, float], step_loss: Sequence[float], step_lr: Sequence[float],
        first_step: int, history: Mapping[str, list],
    ) -> None:
        """Append one epoch to TensorBoard (per-epoch and per-step scalars) and rewrite the history."""
        if self._logger is not None:
            self._logger.scalars({tensorboard_tag(k): v for k, v in row.items() if k != "epoch"}, row["epoch"])
            for i, loss in enumerate(step_loss):
                self._logger.scalars({"step/loss": loss, **({"step/lr": step_lr[i]} if step_lr else {})}, first_step + i)
            self._logger.flush()
        if self._writer:
            write_history(history, self.paths["history_json"], self.paths["history_csv"])

    def save(self, epoch: int, tree: Any, metric: float, history: Mapping[str, list]) -> None:
        """Checkpoint ``tree`` (the full training state) with the history so far."""
        self.checkpoints.save(epoch, tree, metric=metric, meta={"history": history})

    def plot(self, history: Mapping[str, list]) -> None:
        """Learning curves to ``curves.png`` (process 0; the path is named on every process)."""
        path = os.path.join(self.dir, "curves.png")
        self.paths["curves"] = plot_learning_curves(history, path) if self._writer else path

    def close(self) -> None:
        if self._logger is not None:
            self._logger.close()
        self.checkpoints.close()


def fit_checkpoint_tree(state: Any, tracker: Any, guard: Any, key: jax.Array) -> dict[str, Any]:
    """What a ``fit`` checkpoint holds: everything the rest of the run depends on."""
    return {"state": state, "tracker": tracker, "guard": guard, "key": jax.random.key_data(key)}
