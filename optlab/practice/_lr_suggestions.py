"""Where to read a learning rate off an LR range test: fastai's ``valley``, ``steep`` and ``minimum``.

All three look at the smoothed loss ``s_i`` at learning rates ``lr_i`` (already cut to the part
worth reading: first 10% and non-finite points removed, see :func:`optlab.practice.lr_find`).
"""

from __future__ import annotations

import numpy as np


def valley(smoothed: np.ndarray) -> int:
    """Index in the middle of the longest valley (fastai >= 2.5's default, ``valley``).

    The valley is the longest strictly decreasing subsequence of ``s``, taken as running from
    ``end - length`` to ``end``; the suggestion is the point ``int(l/3) + int(l/6)`` (about half
    way) into it, where ``l = end - start``: far enough down the slope to learn fast, well before
    the minimum where training becomes unstable.
    """
    n = len(smoothed)
    lds = np.ones(n, np.int64)
    start = end = 0
    for i in range(1, n):
        higher = lds[:i][smoothed[:i] > smoothed[i]]
        if higher.size:
            lds[i] = higher.max() + 1
        if lds[end] < lds[i]:
            end = i
            start = end - int(lds[end])
    sections = (end - start) / 3
    return max(0, start + int(sections) + int(sections / 2))


def steepest(learning_rates: np.ndarray, smoothed: np.ndarray) -> int:
    r"""Index ``i`` of the steepest descent per log learning rate (fastai's ``steep``).

    :math:`\arg\min_i (s_{i+1} - s_i) / (\log lr_{i+1} - \log lr_i)`, the left end of the steepest
    segment.
    """
    slopes = np.diff(smoothed) / np.diff(np.log(learning_rates))
    return int(np.argmin(slopes))


def minimum(smoothed: np.ndarray) -> int:
    """Index of the lowest smoothed loss (fastai's ``minimum`` suggests a tenth of its lr)."""
    return int(np.argmin(smoothed))


def suggestions(learning_rates: np.ndarray, smoothed: np.ndarray) -> dict[str, float]:
    """``{"valley": lr, "steepest": lr, "minimum": lr_min / 10}`` from the readable part of the curve."""
    return {
        "valley": float(learning_rates[valley(smoothed)]),
        "steepest": float(learning_rates[steepest(learning_rates, smoothed)]),
        "minimum": float(learning_rates[minimum(smoothed)] / 10.0),
    }
