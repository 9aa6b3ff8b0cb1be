"""The classifier loss for transfer learning: BatchNorm in frozen layers runs in inference mode.

In a frozen part of a network a BatchNorm layer must not keep learning either: in training mode it
would normalise with the statistics of the new (small) batches and overwrite its running averages,
so the "frozen" features would change under the new head. Keras's guide runs such layers with
``training=False``; fastai's ``train_bn=True`` does the opposite on purpose (BN layers stay fully
trainable even in frozen groups, which often helps when the new data's statistics differ).

:func:`transfer_loss` does the Keras form by default: during training, each ``flax.linen``
BatchNorm whose parameters are frozen runs with its running averages (as at inference) and its
``batch_stats`` come back unchanged; the other BatchNorms train as usual. ``train_bn=True`` runs
every BatchNorm in training mode (give the BN parameters their own trainable rule, listed before
the freezing one, to train them too: ``[("BatchNorm_.*", adam), ("Conv_.*|...", None), ...]``).
Implemented with ``flax.linen.intercept_methods`` around ``apply_fn``: the model is not changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import flax.linen as nn

from ..train._losses import classifier_loss

__all__ = ["transfer_loss"]


def _is_frozen_module(frozen: re.Pattern, module_path: tuple[str, ...]) -> bool:
    prefix = "/".join(str(p) for p in module_path)
    return any(frozen.fullmatch(f"{prefix}/{name}") for name in ("scale", "bias"))


def _inference_bn(frozen: re.Pattern) -> Callable[..., Any]:
    """A linen method interceptor: BatchNorm modules with frozen parameters use running averages."""

    def interceptor(next_fun, args, kwargs, context):
        module = context.module
        if (
            context.method_name != "__call__"
            or not isinstance(module, nn.BatchNorm)
            or not _is_frozen_module(frozen, module.path)
        ):
            return next_fun(*args, **kwargs)
        if module.use_running_average is None:  # decided per call: pass it
            args = args[:1]
            return next_fun(*args, **{**kwargs, "use_running_average": True})
        kwargs = {k: v for k, v in kwargs.items() if k != "use_running_average"}
        previous = module.use_running_average
        object.__setattr__(module, "use_running_average", True)  # the attribute, for this call only
        try:
            return next_fun(*args[:1], **kwargs)
        finally:
            object.__setattr__(module, "use_running_average", previous)

    return interceptor


def _frozen_pattern(frozen: Any) -> re.Pattern:
    if isinstance(frozen, str):
        try:
            return re.compile(frozen)
        except re.error as error:
            raise ValueError(f"frozen: invalid regex {frozen!r}: {error}") from None
    if isinstance(frozen, Collection) and all(isinstance(p, str) for p in frozen):
        return re.compile("|".join(re.escape(p) for p in frozen) if frozen else "(?!)")
    raise ValueError(f"frozen must be a regex string or a collection of parameter paths, got {frozen!r}")


def transfer_loss(apply_fn: Callable[..., Any], frozen: Any, *, train_bn: bool = False) -> Callable[..., Any]:
    """:func:`optlab.train.classifier_loss` with BatchNorm in frozen layers in inference mode.

    ``frozen``: the parameters ``tx`` freezes, as a regex (``re.fullmatch`` on paths such as
    ``"BatchNorm_0/scale"``) or a collection of paths (``optlab.transfer.frozen_paths(tx, params)``).
    A linen ``BatchNorm`` is frozen when its ``scale`` or ``bias`` path is. With ``train_bn=False``
    (default, Keras) frozen BatchNorms normalise with their running averages during training and
    their ``batch_stats`` stay unchanged; with ``train_bn=True`` (fastai) every BatchNorm trains
    (batch statistics, running averages updated). Evaluation (``rng=None``) is inference mode for
    all layers either way. Models without ``batch_stats`` are unaffected (same numbers as
    ``classifier_loss``).

    Raises:
      ValueError: ``frozen`` is not a valid regex or a collection of strings; ``train_bn`` not a bool.
    """
    pattern = _frozen_pattern(frozen)
    if not isinstance(train_bn, bool):
        raise ValueError(f"train_bn must be a bool, got {train_bn!r}")
    if train_bn:
        return classifier_loss(apply_fn)
    interceptor = _inference_bn(pattern)

    def apply_with_frozen_bn(variables: Any, x: Any, **kwargs: Any) -> Any:
        with nn.intercept_methods(interceptor):
            return apply_fn(variables, x, **kwargs)

    return classifier_loss(apply_with_frozen_bn)
