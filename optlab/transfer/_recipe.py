"""The two-stage fine-tuning recipe (Keras's transfer-learning guide; the lecture's "tips").

Stage 1, feature extraction: the transferred layers (``backbone``) are frozen and only the new
head trains, until it converges. Stage 2, fine-tuning: starting from stage 1's head, the network
is unfrozen (all of it, or only the upper layers) and trained with a much smaller learning rate
for the transferred layers. Starting stage 2 from a trained head matters: a random head sends
large, random gradients into the pretrained layers and destroys what they learned.

Each stage is one :func:`optlab.train.fit` call (so checkpoints, early stopping, data checks and
the caller's-arrays rule come with it); :func:`two_stage` is that pattern written once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import optax

import optlab

from .._checks import int_at_least
from ..train import TrainState, accuracy, fit
from ..train._fit import FitResult
from ._loss import transfer_loss
from ._partition import frozen_paths, partition

__all__ = ["TwoStageResult", "feature_extraction", "fine_tune", "fine_tuning", "two_stage"]


class TwoStageResult(NamedTuple):
    """What :func:`two_stage` returns.

    ``stage1``, ``stage2``: the two :class:`optlab.train.FitResult`. ``stage2_start``: the
    parameters stage 2 started from (stage 1's best snapshot: pretrained backbone, trained head).
    ``params``, ``model_state``: stage 2's best snapshot (``model_state`` ``None`` without one).
    """

    stage1: FitResult
    stage2: FitResult
    stage2_start: Any
    params: Any
    model_state: Any


def fine_tuning(
    backbone: str, backbone_lr: float, head_lr: float, *,
    optimizer: Callable[[Any], optax.GradientTransformation] = optlab.adam, keep_frozen: str | None = None,
) -> optax.GradientTransformation:
    """Stage 2's transformation: ``backbone`` at ``backbone_lr``, the rest at ``head_lr``.

    ``keep_frozen`` (a regex) keeps the lowest layers frozen (checked first). Equivalent to
    ``partition([(keep_frozen, None), (backbone, optimizer(backbone_lr)), (".*", optimizer(head_lr))])``.
    """
    rules = [(keep_frozen, None)] if keep_frozen is not None else []
    rules += [(backbone, optimizer(backbone_lr)), (".*", optimizer(head_lr))]
    return partition(rules)


def _epochs(epochs: Any) -> tuple[int, int]:
    if not isinstance(epochs, (tuple, list)) or len(epochs) != 2:
        raise ValueError(f"epochs must be a pair (stage 1, stage 2) of ints >= 1, got {epochs!r}")
    return int_at_least(epochs[0], "epochs[0]", 1), int_at_least(epochs[1], "epochs[1]", 1)


def _stage(apply_fn, params, model_state, tx, train_data, val_data, epochs, train_bn, run_dir, fit_kwargs) -> FitResult:
    if not isinstance(tx, optax.GradientTransformation):
        raise ValueError(f"tx must be an optax.GradientTransformation, got {tx!r}")
    state = TrainState.create(apply_fn=apply_fn, params=params, tx=tx, model_state=model_state)
    loss_fn = transfer_loss(apply_fn, frozen_paths(tx, params), train_bn=train_bn)
    fit_kwargs = {"metrics": {"accuracy": accuracy}, **fit_kwargs}
    return fit(state, loss_fn, train_data, val_data, epochs=epochs, run_dir=run_dir, **fit_kwargs)


def feature_extraction(
    apply_fn: Callable[..., Any], params: Any, train_data: tuple[Any, Any], val_data: tuple[Any, Any] | None = None,
    *, backbone: str, head_tx: optax.GradientTransformation, epochs: int, model_state: Any = None,
    train_bn: bool = False, run_dir: str | os.PathLike | None = None, **fit_kwargs: Any,
) -> FitResult:
    """Stage 1: ``fit`` with ``partition([(backbone, None), (".*", head_tx)])`` — the backbone frozen
    (and not differentiated; its BatchNorms in inference mode unless ``train_bn``), the head trained.

    Arguments as in :func:`two_stage`; ``fit_kwargs`` go to :func:`optlab.train.fit`.
    """
    if not isinstance(head_tx, optax.GradientTransformation):
        raise ValueError(f"head_tx must be an optax.GradientTransformation, got {head_tx!r}")
    tx = partition([(backbone, None), (".*", head_tx)])
    return _stage(apply_fn, params, model_state, tx, train_data, val_data, epochs, train_bn, run_dir, fit_kwargs)


def fine_tune(
    apply_fn: Callable[..., Any], params: Any, train_data: tuple[Any, Any], val_data: tuple[Any, Any] | None = None,
    *, tx: optax.GradientTransformation, epochs: int, model_state: Any = None, train_bn: bool = False,
    run_dir: str | os.PathLike | None = None, **fit_kwargs: Any,
) -> FitResult:
    """Stage 2: ``fit`` with ``tx`` (e.g. :func:`fine_tuning` or :func:`layerwise_lr_decay`) from
    ``params`` (stage 1's result); the layers ``tx`` still freezes keep BatchNorm in inference mode
    unless ``train_bn``. ``fit_kwargs`` go to :func:`optlab.train.fit`.
    """
    return _stage(apply_fn, params, model_state, tx, train_data, val_data, epochs, train_bn, run_dir, fit_kwargs)


def two_stage(
    apply_fn: Callable[..., Any],
    params: Any,
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any] | None = None,
    *,
    backbone: str,
    head_tx: optax.GradientTransformation,
    fine_tune_tx: optax.GradientTransformation,
    epochs: tuple[int, int],
    batch_size: int,
    model_state: Any = None,
    train_bn: bool = False,
    run_dir: str | os.PathLike | None = None,
    **fit_kwargs: Any,
) -> TwoStageResult:
    """Feature extraction, then fine-tuning: two :func:`optlab.train.fit` calls.

    Stage 1 (``epochs[0]`` epochs): ``partition([(backbone, None), (".*", head_tx)])`` — the
    parameters whose path fullmatches ``backbone`` frozen (BatchNorm among them in inference mode
    unless ``train_bn``, see :func:`transfer_loss`), the head trained. Stage 2 (``epochs[1]``):
    ``fine_tune_tx`` (e.g. :func:`fine_tuning`, :func:`layerwise_lr_decay`, fresh optimizer state)
    from stage 1's best snapshot — pretrained backbone, trained head — and its model state.

    ``params`` (and ``model_state``, e.g. ``batch_stats``) hold the pretrained backbone and the new
    head; ``apply_fn`` is the linen ``Module.apply``; the loss is a softmax cross-entropy on integer
    labels (:func:`optlab.train.classifier_loss`). ``fit_kwargs`` go to both ``fit`` calls
    (``metrics`` default ``{"accuracy": accuracy}``); with ``run_dir`` the stages write to
    ``run_dir/stage1`` and ``run_dir/stage2``. The caller's arrays are never touched (``fit``
    trains its own copy) and the data is checked before stage 1 (:func:`optlab.train.check_data`).

    Raises:
      ValueError: bad ``epochs``, ``backbone`` matching no parameter or every parameter, a
        transformation that is not one, bad data (naming ``train_data``/``val_data``).
    """
    first, second = _epochs(epochs)
    if not isinstance(fine_tune_tx, optax.GradientTransformation):
        raise ValueError(f"fine_tune_tx must be an optax.GradientTransformation, got {fine_tune_tx!r}")
    dirs = [None, None] if run_dir is None else [os.path.join(os.fspath(run_dir), f"stage{i}") for i in (1, 2)]
    common = {"batch_size": batch_size, "train_bn": train_bn, **fit_kwargs}
    stage1 = feature_extraction(
        apply_fn, params, train_data, val_data, backbone=backbone, head_tx=head_tx, epochs=first,
        model_state=model_state, run_dir=dirs[0], **common,
    )
    start, start_state = stage1.best_params, stage1.best_model_state if model_state is not None else None
    stage2 = fine_tune(
        apply_fn, start, train_data, val_data, tx=fine_tune_tx, epochs=second, model_state=start_state,
        run_dir=dirs[1], **common,
    )
    return TwoStageResult(
        stage1=stage1, stage2=stage2, stage2_start=start, params=stage2.best_params,
        model_state=stage2.best_model_state,
    )
