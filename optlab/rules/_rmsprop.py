"""RMSProp (Tieleman & Hinton, 2012): a leaky AdaGrad."""

from __future__ import annotations

from typing import Any, NamedTuple

import optax

from .. import _checks, _tree
from ._learning_rate import scale_by_learning_rate


class RmsState(NamedTuple):
    """State of :func:`rms_scaling`: the moving average of squared gradients ``s`` (``s_0 = 0``)."""

    mean_square: Any


def rms_scaling(
    rho: float = 0.99, eps: float = 1e-8, *, nu_dtype: Any = None
) -> optax.GradientTransformation:
    r"""RMS scaling: :math:`s_t = \rho s_{t-1} + (1-\rho) g_t^2`, output :math:`g_t / (\sqrt{s_t} + \epsilon)`.

    ``eps`` is outside the square root (lecture, torch); ``optax.scale_by_rms`` puts it inside and
    defaults to ``decay=0.9``. ``s`` is real, built from :math:`|g|^2` for complex leaves, and
    stored in ``nu_dtype`` (a floating dtype; ``None``: the leaf's real dtype); the arithmetic runs
    in at least float32. With ``rho`` near 1 a bf16 ``s`` stalls: each step changes it by less than
    bf16's rounding step.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.rms_scaling(rho=0.75, eps=0.0)
      >>> g = {"w": jnp.array([2.0])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> u["w"]  # 2 / sqrt(0.25 * 4)
      Array([2.], dtype=float32)

    Reference: Tieleman & Hinton, Lecture 6.5 "RMSProp", COURSERA: Neural Networks for Machine
    Learning, 2012.

    Raises:
      ValueError: ``rho`` outside ``[0, 1)``, ``eps`` negative, ``nu_dtype`` not a floating dtype.
    """
    _checks.unit_interval(rho, "rho")
    _checks.non_negative(eps, "eps")
    nu_dtype = _tree.check_state_dtype(nu_dtype, "nu_dtype", allow_complex=False)

    def init_fn(params):
        return RmsState(mean_square=_tree.moment_like(params, dtype=nu_dtype, real=True, name="nu_dtype"))

    def update_fn(updates, state, params=None):
        _tree.check_updates(updates, params, state.mean_square)
        mean_square = _tree.map_inexact(
            lambda g, s: _tree.ema(s, _tree.abs_sq(g), rho), updates, state.mean_square, keep=1
        )
        updates = _tree.map_inexact(
            lambda g, s: _tree.cast(_tree.rms_normalize(g, s, eps), g.dtype), updates, mean_square
        )
        return updates, RmsState(mean_square=mean_square)

    return optax.GradientTransformation(init_fn, update_fn)


def rmsprop(
    learning_rate: Any, rho: float = 0.99, eps: float = 1e-8, *, nu_dtype: Any = None
) -> optax.GradientTransformation:
    r"""RMSProp: :math:`s_t = \rho s_{t-1} + (1-\rho) g_t^2,\; w_{t+1} = w_t - \eta_t\, g_t / (\sqrt{s_t} + \epsilon)`.

    Equals ``torch.optim.RMSprop(lr, alpha=rho, eps=eps)`` (defaults included).
    ``optax.rmsprop`` differs: ``decay=0.9`` and ``eps`` inside the square root.
    ``nu_dtype``: the dtype ``s`` is stored in (see :func:`rms_scaling`).

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.rmsprop(0.01, rho=0.75, eps=0.0)
      >>> g = {"w": jnp.array([2.0])}
      >>> updates, _ = tx.update(g, tx.init(g))
      >>> updates["w"]
      Array([-0.02], dtype=float32)

    Reference: Tieleman & Hinton, 2012.
    """
    return optax.chain(
        rms_scaling(rho=rho, eps=eps, nu_dtype=nu_dtype), scale_by_learning_rate(learning_rate)
    )
