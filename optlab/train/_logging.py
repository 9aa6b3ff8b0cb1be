"""Metric logs: TensorBoard event files (tensorboardX, no TensorFlow), JSON and CSV history."""

from __future__ import annotations

import csv
import glob
import json
import math
import os
import struct
from collections.abc import Mapping, Sequence
from typing import Any


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_history(history: Mapping[str, Sequence[float]], json_path: str, csv_path: str | None = None) -> None:
    """Write ``history`` (name -> list of values) as JSON, and its equal-length columns as CSV.

    Both files are replaced atomically (written to ``*.tmp`` then renamed). Non-finite values
    become ``null`` in JSON (strict JSON has no NaN) and ``nan``/``inf`` in CSV.
    """
    tmp = json_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({k: [_json_value(v) for v in vs] for k, vs in history.items()}, f, indent=1)
    os.replace(tmp, json_path)
    if csv_path is None:
        return
    epoch_keys = [k for k, vs in history.items() if len(vs) == len(history.get("epoch", []))]
    tmp = csv_path + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(epoch_keys)
        writer.writerows(zip(*(history[k] for k in epoch_keys)))
    os.replace(tmp, csv_path)


class TensorBoardLogger:
    """Scalars to TensorBoard event files under ``log_dir`` (``tensorboardX.SummaryWriter``)."""

    def __init__(self, log_dir: str) -> None:
        from tensorboardX import SummaryWriter

        self._writer = SummaryWriter(logdir=log_dir)

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        """Log each ``tag -> value`` at ``step``."""
        for tag, value in values.items():
            self._writer.add_scalar(tag, float(value), int(step))

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _records(path: str):
    """The payloads of a TFRecord file: ``len(u64) crc(u32) data crc(u32)`` repeated."""
    with open(path, "rb") as f:
        while header := f.read(12):
            if len(header) < 12:
                return
            (length,) = struct.unpack("<Q", header[:8])
            data = f.read(length)
            f.read(4)
            if len(data) < length:
                return
            yield data


def read_scalars(log_dir: str) -> dict[str, list[tuple[int, float]]]:
    """Parse every ``events.out.tfevents.*`` under ``log_dir`` back into ``tag -> [(step, value)]``.

    Uses tensorboardX's bundled protobufs and a minimal TFRecord reader (TensorFlow not needed).
    """
    from tensorboardX.proto import event_pb2

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True)):
        for record in _records(path):
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, []).append((int(event.step), float(value.simple_value)))
    return scalars
