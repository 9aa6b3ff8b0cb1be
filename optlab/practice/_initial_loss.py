"""Is the loss at initialization what it should be? (the lecture's first good practice)."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import int_at_least, positive
from ._steps import call_loss, checked_data


class InitialLossCheck(NamedTuple):
    """What :func:`check_initial_loss` found.

    Attributes:
      loss: the mean loss of the untrained model on ``(x, y)`` (evaluation mode).
      expected: the value it should have (``log C`` for C-class softmax cross-entropy).
      relative_error: ``|loss - expected| / expected``.
      ok: ``relative_error <= tolerance`` (and the loss is finite).
      message: one line; when not ok it names the likely cause.
      output_std: standard deviation of the model's outputs (the logits), to judge their scale.
    """

    loss: float
    expected: float
    relative_error: float
    ok: bool
    message: str
    output_std: float


@functools.partial(jax.jit, static_argnames="loss_fn")
def _evaluate(params: Any, model_state: Any, x: jax.Array, y: jax.Array, *, loss_fn: Any) -> tuple:
    """``(loss, output width, output std)`` in evaluation mode (one compile per loss and shapes)."""
    loss, outputs, _ = call_loss(loss_fn, params, x, y, None, model_state)
    outputs = jnp.asarray(outputs)
    return loss, outputs.shape[-1] if outputs.ndim else 1, jnp.std(outputs.astype(jnp.float32))


def _cause(loss: float, expected: float, output_std: float) -> str:
    if not math.isfinite(loss):
        return (
            "the loss is not finite: look for NaN/inf in the initialization (e.g. a variance of 0 or "
            "a log of 0) or in the inputs"
        )
    if loss > expected:
        return (
            f"the loss is too high: the outputs are far from uniform (logits std {output_std:.3g}): "
            "the final layer's initialization scale is too large (initialize it small or at zero), "
            "or the inputs are not normalized"
        )
    return (
        "the loss is far below chance: a label leak (the labels or a function of them reach the "
        "inputs), a wrong loss (not the mean cross-entropy of the logits, e.g. probabilities "
        "passed as logits or a sum over the wrong axis), or parameters that are not at initialization"
    )


def check_initial_loss(
    loss_fn: Any,
    params: Any,
    x: Any,
    y: Any,
    *,
    num_classes: int | None = None,
    expected: float | None = None,
    tolerance: float = 0.25,
    model_state: Any = None,
) -> InitialLossCheck:
    r"""Compare the loss of an untrained model with its expected value.

    With a softmax cross-entropy over :math:`C` classes and an initialization that makes the
    outputs nearly uniform, every example costs :math:`-\log(1/C)`, so the initial loss should be
    :math:`\log C` (2.303 for 10 classes) whatever the class balance (Karpathy, "A Recipe for
    Training Neural Networks", 2019: "verify loss @ init"). Expected value: ``expected`` when
    given, else :math:`\log` ``num_classes``, else :math:`\log` of the outputs' last dimension.
    ``ok`` when :math:`|L - L_{expected}| / L_{expected} \le` ``tolerance``; otherwise the message
    names the likely cause: loss too high = outputs too large (final-layer init scale); far below
    = label leak or wrong loss.

    ``loss_fn`` has ``fit``'s signature and runs in evaluation mode (``rng=None``); pass
    ``model_state`` (e.g. ``{"batch_stats": ...}``) for a model with state, whose loss then takes
    it as a fifth argument. ``(x, y)`` is a batch (a few hundred examples), checked with
    :func:`optlab.train.check_data` (labels in ``[0, num_classes)`` when ``num_classes`` is given).

    Example:
      >>> import jax, jax.numpy as jnp, optax
      >>> def loss_fn(w, x, y, rng):
      ...     logits = x @ w
      ...     return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits
      >>> x, y = jnp.ones((8, 3)), jnp.arange(8) % 4
      >>> check_initial_loss(loss_fn, jnp.zeros((3, 4)), x, y).message
      'initial loss 1.386 matches the expected 1.386 (log 4) within 25%'

    Raises:
      ValueError: bad ``num_classes``/``expected``/``tolerance``, or bad ``x``/``y`` (named).
    """
    if num_classes is not None:
        num_classes = int_at_least(num_classes, "num_classes", 2)
    if expected is not None:
        expected = float(positive(expected, "expected"))
    tolerance = float(positive(tolerance, "tolerance"))
    x, y = checked_data(loss_fn, params, model_state, x, y, "check_initial_loss data (x, y)", num_classes)

    loss, width, output_std = _evaluate(params, model_state, x, y, loss_fn=loss_fn)
    loss, output_std = float(loss), float(output_std)
    if expected is not None:
        target, label = expected, "given"
    else:
        classes = num_classes if num_classes is not None else int(width)
        if classes < 2:
            raise ValueError(
                f"the outputs have last dimension {classes}: pass num_classes or expected "
                "(log of the output width is only the expected loss of a softmax classifier)"
            )
        target, label = math.log(classes), f"log {classes}"
    relative_error = abs(loss - target) / target if math.isfinite(loss) else math.inf
    ok = bool(relative_error <= tolerance)
    if ok:
        message = f"initial loss {loss:.4g} matches the expected {target:.4g} ({label}) within {tolerance:.0%}"
    else:
        message = (
            f"initial loss {loss:.4g} is off the expected {target:.4g} ({label}) by "
            f"{relative_error:.0%} (> {tolerance:.0%}): {_cause(loss, target, output_std)}"
        )
    return InitialLossCheck(
        loss=loss, expected=target, relative_error=float(relative_error), ok=ok, message=message,
        output_std=output_std,
    )
