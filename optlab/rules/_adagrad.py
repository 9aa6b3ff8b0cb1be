"""AdaGrad (Duchi, Hazan & Singer, JMLR 2011)."""

from __future__ import annotations

from typing import Any, NamedTuple

import optax

from .. import _checks, _tree
from ._learning_rate import scale_by_learning_rate


class AdagradState(NamedTuple):
    """State of :func:`adagrad_accumulator`: the running sum of squared gradients ``G``."""

    sum_of_squares: Any


def adagrad_accumulator(
    eps: float = 1e-10, initial_accumulator_value: float = 0.0, *, nu_dtype: Any = None
) -> optax.GradientTransformation:
    r"""AdaGrad scaling: :math:`G_t = G_{t-1} + g_t^2`, output :math:`g_t / (\sqrt{G_t} + \epsilon)`.

    ``G`` starts at ``initial_accumulator_value`` (0, as in the lecture and torch; optax uses 0.1)
    and ``eps`` sits outside the square root (torch; optax puts it inside). ``G`` is real, built
    from :math:`|g|^2` for complex leaves, and stored in ``nu_dtype`` (a floating dtype; ``None``:
    the leaf's real dtype); the arithmetic runs in at least float32.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.adagrad_accumulator(eps=0.0)
      >>> g = {"w": jnp.array([3.0, -4.0])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> u["w"]
      Array([ 1., -1.], dtype=float32)

    Reference: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization", JMLR 2011.

    Raises:
      ValueError: ``eps`` or ``initial_accumulator_value`` negative or not finite, ``nu_dtype``
        not a floating dtype.
    """
    _checks.non_negative(eps, "eps")
    _checks.non_negative(initial_accumulator_value, "initial_accumulator_value")
    nu_dtype = _tree.check_state_dtype(nu_dtype, "nu_dtype", allow_complex=False)

    def init_fn(params):
        total = _tree.moment_like(
            params, initial_accumulator_value, dtype=nu_dtype, real=True, name="nu_dtype"
        )
        return AdagradState(sum_of_squares=total)

    def update_fn(updates, state, params=None):
        _tree.check_updates(updates, params, state.sum_of_squares)
        total = _tree.map_inexact(
            lambda g, s: _tree.accumulate(s, _tree.abs_sq(g)), updates, state.sum_of_squares, keep=1
        )
        updates = _tree.map_inexact(
            lambda g, s: _tree.cast(_tree.rms_normalize(g, s, eps), g.dtype), updates, total
        )
        return updates, AdagradState(sum_of_squares=total)

    return optax.GradientTransformation(init_fn, update_fn)


def adagrad(
    learning_rate: Any,
    eps: float = 1e-10,
    initial_accumulator_value: float = 0.0,
    *,
    nu_dtype: Any = None,
) -> optax.GradientTransformation:
    r"""AdaGrad: :math:`G_t = G_{t-1} + g_t^2,\; w_{t+1} = w_t - \eta_t\, g_t / (\sqrt{G_t} + \epsilon)`.

    Equals ``torch.optim.Adagrad(lr, eps=eps, initial_accumulator_value=...)`` (lr_decay 0).
    ``optax.adagrad`` differs: it starts ``G`` at 0.1 and puts ``eps`` inside the square root.
    ``nu_dtype``: the dtype ``G`` is stored in (see :func:`adagrad_accumulator`).

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.adagrad(0.1, eps=0.0)
      >>> g = {"w": jnp.array([2.0])}
      >>> updates, _ = tx.update(g, tx.init(g))
      >>> updates["w"]
      Array([-0.1], dtype=float32)

    Reference: Duchi, Hazan & Singer, JMLR 2011.
    """
    return optax.chain(
        adagrad_accumulator(
            eps=eps, initial_accumulator_value=initial_accumulator_value, nu_dtype=nu_dtype
        ),
        scale_by_learning_rate(learning_rate),
    )
