"""The few-label transfer experiment: pretrain on digits 0-4, learn 5-9 from n labels per class.

1. Pretrain the digits CNN (:class:`optlab.models.DigitsCNN`, 5 outputs) on every training image
   of classes 0-4.
2. For each ``n`` and seed, draw ``n`` labelled training images per class of 5-9 and train a
   5-class model four ways, with the same number of optimizer steps:

   * **scratch**: random init, every layer at ``LR``;
   * **feature extraction**: pretrained ``Conv_0``, ``Conv_1``, ``Dense_0`` frozen, a new
     ``Dense_1`` head trained (stage 1 of :func:`optlab.transfer.two_stage`, all the steps);
   * **fine-tuning**: stage 1 for half the steps, then everything trained, the transferred layers
     at ``LR / 10`` (:func:`optlab.transfer.fine_tuning`);
   * **layer-wise lr decay**: the same stage 1, then :func:`optlab.transfer.layerwise_lr_decay`
     (depths 0-3 from ``Conv_0`` to the head, ``decay = DECAY``).

3. Test accuracy on the test images of classes 5-9, mean and spread over the seeds.

There is no validation set (that is what few labels means): each model is the last step's.
"""

from __future__ import annotations

import json
import math
import re
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import optlab

from ..data import load_digits
from ..models import DigitsCNN
from .._checks import int_at_least
from ..train import TrainState, accuracy, check_data, classifier_loss, fit
from ._lr_groups import layerwise_lr_decay
from ._recipe import feature_extraction, fine_tune, fine_tuning, two_stage

__all__ = ["ExperimentResult", "METHODS", "few_labels", "run_experiment"]

METHODS = ("scratch", "feature extraction", "fine-tuning", "layer-wise lr decay")
LR = 3e-3
DECAY = 0.3
BACKBONE = "Conv_.*"  # transferred; Dense_0 and Dense_1 are the new head
DEPTHS = [("Conv_0/.*", 0), ("Conv_1/.*", 1), ("Dense_0/.*", 2), ("Dense_1/.*", 3)]
SOURCE, TARGET = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)


class Budget(NamedTuple):
    """Sizes of one run: ``quick`` is the test suite's smoke run of the same code."""

    pretrain_epochs: int
    steps: int  # optimizer steps per method (two-stage methods: half in each stage)
    batch_size: int


FULL = Budget(pretrain_epochs=20, steps=200, batch_size=25)
QUICK = Budget(pretrain_epochs=2, steps=8, batch_size=25)


class ExperimentResult(NamedTuple):
    """Test accuracies: ``accuracy[method][str(n)]`` is the list over ``seeds``."""

    ns: tuple[int, ...]
    seeds: tuple[int, ...]
    accuracy: dict[str, dict[str, list[float]]]
    pretrain_accuracy: float
    config: dict[str, Any]

    def mean(self, method: str, n: int) -> float:
        return float(np.mean(self.accuracy[method][str(n)]))

    def spread(self, method: str, n: int) -> float:
        """The sample standard deviation over seeds (0 with one seed)."""
        values = self.accuracy[method][str(n)]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    def table(self) -> str:
        """Markdown: one row per method, ``mean ± sd`` test accuracy per n."""
        head = "| method | " + " | ".join(f"n = {n}" for n in self.ns) + " |"
        rule = "|---|" + "---:|" * len(self.ns)
        rows = [
            f"| {m} | " + " | ".join(f"{self.mean(m, n):.3f} ± {self.spread(m, n):.3f}" for n in self.ns) + " |"
            for m in METHODS
        ]
        return "\n".join([head, rule, *rows])

    def draw(self, ax: Any) -> None:
        """Accuracy vs n (log x), one line per method with ±sd bars, on a matplotlib ``ax``."""
        for m in METHODS:
            ax.errorbar(self.ns, [self.mean(m, n) for n in self.ns], yerr=[self.spread(m, n) for n in self.ns],
                        marker="o", capsize=3, label=m)
        ax.set(xscale="log", xlabel="labelled images per class (n)", ylabel="test accuracy, digits 5-9",
               title=f"Transfer from digits 0-4 ({len(self.seeds)} seed(s), mean ± sd)")
        ax.set_xticks(self.ns, [str(n) for n in self.ns])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)

    def plot(self, path: str | os.PathLike) -> str:
        """:meth:`draw` saved as a PNG at ``path``; returns ``path``."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.0, 4.0))
        self.draw(fig.add_subplot())
        fig.tight_layout()
        fig.savefig(os.fspath(path), dpi=120)
        return os.fspath(path)

    def to_json(self) -> dict[str, Any]:
        return {**self._asdict(), "ns": list(self.ns), "seeds": list(self.seeds)}


def _subset(x: np.ndarray, y: np.ndarray, classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The images of ``classes``, relabelled ``0..len(classes)-1``."""
    keep = np.isin(y, classes)
    return x[keep], (y[keep] - classes[0]).astype(np.int32)


def few_labels(x: Any, y: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples per class of ``(x, y)`` drawn without replacement with ``seed`` (kept in order).

    Raises:
      ValueError/TypeError: bad data (:func:`optlab.train.check_data`, named ``data``); ``n`` not an
        int >= 1 or larger than the smallest class.
    """
    x, y = (np.asarray(a) for a in check_data((x, y), "data", class_labels=True))
    n = int_at_least(n, "n", 1)
    classes, counts = np.unique(y, return_counts=True)
    if n > counts.min():
        raise ValueError(f"n must be <= the size of the smallest class ({counts.min()} of class {classes[counts.argmin()]}), got {n}")
    rng = np.random.default_rng(int_at_least(seed, "seed", 0))
    picks = [rng.choice(np.flatnonzero(y == c), size=n, replace=False) for c in classes]
    index = np.sort(np.concatenate(picks))
    return x[index], y[index]


def _fit_kwargs(budget: Budget, train_size: int, steps: int) -> dict[str, Any]:
    batch_size = min(budget.batch_size, train_size)
    epochs = max(1, math.ceil(steps / (train_size // batch_size)))
    return {"epochs": epochs, "batch_size": batch_size, "progress": False, "plot": False, "tensorboard": False}


def _test_accuracy(apply_fn: Callable[..., Any], params: Any, test: tuple[np.ndarray, np.ndarray]) -> float:
    logits = apply_fn({"params": params}, jnp.asarray(test[0]))
    return float(accuracy(logits, jnp.asarray(test[1])))


def _pretrain(model: DigitsCNN, data: tuple, budget: Budget) -> Any:
    params = model.init(jax.random.key(0), data[0][:1])["params"]
    state = TrainState.create(apply_fn=model.apply, params=params, tx=optlab.adam(LR))
    result = fit(state, classifier_loss(model.apply), data, epochs=budget.pretrain_epochs, batch_size=32,
                 progress=False, plot=False, tensorboard=False)
    return result.state.params


def _transferred(pretrained: Any, fresh: Any) -> Any:
    """``fresh`` (a new model's params) with the backbone's layers taken from ``pretrained``."""
    return {name: (pretrained[name] if re.fullmatch(BACKBONE, f"{name}/kernel") else fresh[name]) for name in fresh}


def _methods(model: DigitsCNN, pretrained: Any, train: tuple, seed: int, budget: Budget) -> dict[str, float]:
    """The four methods' final parameters for one draw of labels."""
    fresh = model.init(jax.random.key(1000 + seed), train[0][:1])["params"]
    start = _transferred(pretrained, fresh)
    kwargs = _fit_kwargs(budget, len(train[1]), budget.steps)
    half = _fit_kwargs(budget, len(train[1]), budget.steps // 2)
    scratch = fit(TrainState.create(apply_fn=model.apply, params=fresh, tx=optlab.adam(LR)),
                  classifier_loss(model.apply), train, seed=seed, **kwargs).state.params
    kwargs = {k: kwargs[k] for k in ("epochs", "batch_size")}
    half = {k: half[k] for k in ("epochs", "batch_size")}
    quiet = {"seed": seed, "progress": False, "plot": False, "tensorboard": False}
    extraction = feature_extraction(model.apply, start, train, backbone=BACKBONE, head_tx=optlab.adam(LR),
                                    epochs=kwargs["epochs"], batch_size=kwargs["batch_size"], **quiet)
    fine = two_stage(model.apply, start, train, backbone=BACKBONE, head_tx=optlab.adam(LR),
                     fine_tune_tx=fine_tuning(BACKBONE, LR / 10, LR), epochs=(half["epochs"], half["epochs"]),
                     batch_size=half["batch_size"], **quiet)
    llrd = fine_tune(model.apply, fine.stage2_start, train, tx=layerwise_lr_decay(LR, DECAY, DEPTHS),
                     epochs=half["epochs"], batch_size=half["batch_size"], **quiet)
    params = (scratch, extraction.state.params, fine.stage2.state.params, llrd.state.params)
    return dict(zip(METHODS, params))


def run_experiment(
    *, ns: Sequence[int] = (5, 10, 50), seeds: Sequence[int] = (0, 1, 2), quick: bool = False,
    log: Callable[[str], None] | None = print,
) -> ExperimentResult:
    """Run the experiment (module docstring); ``quick`` uses a tiny budget (same code paths).

    ``log`` receives one progress line per (n, seed); ``None`` is silent.

    Raises:
      ValueError: an ``n`` outside ``[1, 100]`` (there are ~100 training images per class), an
        empty ``ns``/``seeds``, a negative seed.
    """
    ns = tuple(ns)
    seeds = tuple(seeds)
    if not ns or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 100 for n in ns):
        raise ValueError(f"ns must be a non-empty sequence of ints in [1, 100], got {ns!r}")
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty sequence of ints >= 0, got {seeds!r}")
    budget = QUICK if quick else FULL
    splits = load_digits(seed=0)
    source = _subset(splits.train.x, splits.train.y, SOURCE)
    pool = _subset(splits.train.x, splits.train.y, TARGET)
    test = _subset(splits.test.x, splits.test.y, TARGET)
    model = DigitsCNN(num_classes=len(TARGET))
    began = time.perf_counter()
    pretrained = _pretrain(model, source, budget)
    source_test = _subset(splits.test.x, splits.test.y, SOURCE)
    pretrain_accuracy = _test_accuracy(model.apply, pretrained, source_test)
    if log:
        log(f"pretrained on digits 0-4 ({len(source[1])} images): test accuracy {pretrain_accuracy:.3f}")
    scores: dict[str, dict[str, list[float]]] = {m: {str(n): [] for n in ns} for m in METHODS}
    for n in ns:
        for seed in seeds:
            train = few_labels(*pool, n, seed)
            for method, params in _methods(model, pretrained, train, seed, budget).items():
                scores[method][str(n)].append(_test_accuracy(model.apply, params, test))
            if log:
                line = ", ".join(f"{m} {scores[m][str(n)][-1]:.3f}" for m in METHODS)
                log(f"n={n} seed={seed}: {line} ({time.perf_counter() - began:.0f} s)")
    config = {**budget._asdict(), "lr": LR, "decay": DECAY, "backbone": BACKBONE, "quick": quick,
              "test_images": int(len(test[1]))}
    return ExperimentResult(ns, seeds, scores, pretrain_accuracy, config)


def save(result: ExperimentResult, out: str | os.PathLike) -> dict[str, str]:
    """``transfer.md`` (table), ``transfer.json`` and ``transfer.png`` under ``out``; their paths."""
    os.makedirs(out, exist_ok=True)
    paths = {name: os.path.join(os.fspath(out), f"transfer.{name}") for name in ("md", "json", "png")}
    with open(paths["md"], "w") as f:
        f.write(result.table() + "\n")
    with open(paths["json"], "w") as f:
        json.dump(result.to_json(), f, indent=1)
    result.plot(paths["png"])
    return paths
