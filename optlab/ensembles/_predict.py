"""Ensemble prediction: average the members' probabilities or logits, or let them vote.

For members ``k = 1..K`` with logits ``z_k(x)`` (``C`` classes):

* ``"mean_probs"`` (default): ``p(x) = (1/K) sum_k softmax(z_k(x))`` — the usual ensemble average
  (Lakshminarayanan et al. 2017; Huang et al. 2017 average softmax outputs too);
* ``"mean_logits"``: ``p(x) = softmax((1/K) sum_k z_k(x))`` (a geometric mean of the probabilities);
* ``"vote"``: ``p_c(x)`` = the fraction of members whose arg-max is ``c`` (majority vote; ties go to
  the lowest class index in :func:`evaluate`).

Ensembles usually gain more in negative log-likelihood than in accuracy: :func:`evaluate` reports
both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optlab._checks import int_at_least, one_of
from optlab.train import check_data, check_labels

from ._members import Members, stack_members

COMBINES = ("mean_probs", "mean_logits", "vote")


@functools.partial(jax.jit, static_argnames=("apply_fn", "combine"))
def _combined(apply_fn: Callable, combine: str, params: Any, model_state: Any, x: jax.Array) -> jax.Array:
    def logits_of(p: Any, s: Any) -> jax.Array:
        return apply_fn({"params": p, **(s or {})}, x)

    logits = jax.vmap(logits_of)(params, model_state)  # (K, N, C)
    logits = logits.astype(jnp.promote_types(logits.dtype, jnp.float32))
    if combine == "mean_probs":
        return jnp.mean(jax.nn.softmax(logits, axis=-1), axis=0)
    if combine == "mean_logits":
        return jax.nn.softmax(jnp.mean(logits, axis=0), axis=-1)
    votes = jax.nn.one_hot(jnp.argmax(logits, axis=-1), logits.shape[-1], dtype=logits.dtype)
    return jnp.mean(votes, axis=0)


def predict(
    apply_fn: Callable, members: Any, x: Any, *, combine: str = "mean_probs", batch_size: int = 1024,
) -> jax.Array:
    """Class probabilities ``(N, C)`` of the ensemble on ``x`` (see the module docstring for the math).

    ``members``: a list of params trees, a list of ``(params, model_state)`` pairs (model state such
    as ``{"batch_stats": ...}``), or a :class:`Members` (stacked, as ``train_independent`` returns).
    ``apply_fn`` is the linen ``apply``, called as ``apply_fn({"params": p, **model_state}, xb)``
    (inference mode by the model's default, e.g. ``DigitsCNN(train=False)``). All members run in
    one vmapped program per batch of ``batch_size`` rows.

    Example:
      >>> import jax.numpy as jnp
      >>> apply = lambda v, x: x * v["params"]["s"]
      >>> members = [{"s": jnp.array(1.0)}, {"s": jnp.array(-1.0)}]
      >>> predict(apply, members, jnp.array([[1.0, 0.0]]), combine="mean_logits").tolist()
      [[0.5, 0.5]]

    Raises:
      ValueError: ``combine`` unknown; ``members`` empty or with differing trees (naming ``members``);
        ``x`` empty or not numeric/finite (naming ``x``).
    """
    one_of(combine, "combine", COMBINES)
    batch_size = int_at_least(batch_size, "batch_size", 1)
    stacked = stack_members(members, "members")
    x = _checked_inputs(x)
    parts = [
        _combined(apply_fn, combine, stacked.params, stacked.model_state, x[i : i + batch_size])
        for i in range(0, x.shape[0], batch_size)
    ]
    return parts[0] if len(parts) == 1 else jnp.concatenate(parts)


def _checked_inputs(x: Any) -> jax.Array:
    x_np = np.asarray(x) if not isinstance(x, jax.Array) else x
    checked, _ = check_data((x_np, np.zeros(np.shape(x_np)[:1], np.int32)), "x")
    return checked


def evaluate(
    apply_fn: Callable, members: Any, data: tuple[Any, Any], *, combine: str = "mean_probs",
    batch_size: int = 1024,
) -> dict[str, float]:
    """``{"accuracy", "nll"}`` of the ensemble on ``data = (x, y)`` (integer class labels).

    ``accuracy`` = mean of ``argmax_c p_c(x) == y``; ``nll`` = mean of ``-log p_y(x)`` (float64 on
    the host; ``inf`` when a vote gives the true class no vote — use ``mean_probs`` for NLL). A single
    model is an ensemble of one: ``evaluate(apply_fn, [params], data)``.

    Raises:
      ValueError/TypeError: as :func:`predict`; ``data`` checked by :func:`optlab.train.check_data`
        (naming ``data``): labels integer, 1-D, in ``[0, C)``.
    """
    stacked = stack_members(members, "members")
    x, y = check_data(data, "data", class_labels=True)
    probs = np.asarray(predict(apply_fn, stacked, x, combine=combine, batch_size=batch_size), np.float64)
    labels = np.asarray(y)
    check_labels("data", labels, probs.shape[1])  # in [0, C), C read from the members' outputs
    picked = probs[np.arange(labels.size), labels]
    with np.errstate(divide="ignore"):
        nll = float(np.mean(-np.log(picked)))
    return {"accuracy": float(np.mean(np.argmax(probs, axis=1) == labels)), "nll": nll}


__all__ = ["COMBINES", "Members", "evaluate", "predict"]
