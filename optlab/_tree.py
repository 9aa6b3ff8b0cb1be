"""Tree math every update rule shares.

The per-leaf formulas of the lecture, written once:

* ``trace(v, g, rho)      = rho * v + g``                  (momentum buffer, Sutskever et al. 2013)
* ``ema(m, x, decay)      = decay * m + (1 - decay) * x``  (RMSProp / Adam moments)
* ``accumulate(G, x)      = G + x``                        (AdaGrad accumulator)
* ``debias(m, decay, t)   = m / (1 - decay**t)``           (Adam bias correction)
* ``rms_normalize(x, s, eps) = x / (sqrt(s) + eps)``       (eps outside the square root)

Arithmetic runs in at least float32 (``promote_types(dtype, float32)``) and is cast back to the
leaf's dtype, so bf16/f16 parameters never see ``b2 = 0.999`` rounded to 1.0 or ``eps = 1e-8``
flushed to zero. Integer and boolean leaves are never touched: rules pass them through unchanged.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import jax
import jax.numpy as jnp

from . import _checks

_INT32_MAX = jnp.iinfo(jnp.int32).max


def is_inexact(leaf: Any) -> bool:
    """True for floating (and complex) leaves, the ones update rules act on."""
    return jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)


def compute_dtype(leaf: Any) -> jnp.dtype:
    """The dtype the math runs in: the leaf's dtype promoted to at least float32."""
    return jnp.promote_types(jnp.result_type(leaf), jnp.float32)


def upcast(leaf: jax.Array) -> jax.Array:
    return jnp.asarray(leaf).astype(compute_dtype(leaf))


def state_float_dtype() -> jnp.dtype:
    """Dtype of scalar hyperparameters kept in optimizer state: float32, or float64 under x64."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def map_inexact(fn: Callable[..., Any], tree: Any, *rest: Any, keep: int = 0) -> Any:
    """``tree_map(fn, tree, *rest)`` on inexact leaves of ``tree``; other leaves return ``(tree, *rest)[keep]``."""

    def leaf_fn(leaf, *others):
        if is_inexact(leaf):
            return fn(leaf, *others)
        return (leaf, *others)[keep]

    return jax.tree_util.tree_map(leaf_fn, tree, *rest)


def full_like(params: Any, value: float) -> Any:
    """Moments filled with ``value`` for inexact leaves, zeros for the others.

    State leaves are never weakly typed (a weak-typed param such as ``jnp.full(3, 0.5)`` would
    otherwise give a state whose type changes after the first update and forces a recompile).
    """

    def leaf(p):
        return jnp.full(jnp.shape(p), value if is_inexact(p) else 0, dtype=jnp.result_type(p))

    return jax.tree_util.tree_map(leaf, params)


def zeros_like(params: Any) -> Any:
    """Zero moments shaped and typed like ``params`` (integer leaves get integer zeros, never used)."""
    return full_like(params, 0.0)


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1`` for an int32 step counter, saturating instead of overflowing."""
    return jnp.where(count < _INT32_MAX, count + 1, _INT32_MAX).astype(jnp.int32)


def check_updates(updates: Any, params: Any = None, moments: Any = None) -> None:
    """Trace-time check that ``updates`` has the structure and leaf shapes of ``params``/``moments``."""
    if params is not None:
        _checks.tree_match(updates, params, name="grads", reference_name="params")
    if moments is not None:
        _checks.tree_match(updates, moments, name="grads", reference_name="optimizer state")


# --- per-leaf formulas --------------------------------------------------------------------------


def trace(v: jax.Array, g: jax.Array, rho: float) -> jax.Array:
    """Momentum buffer ``rho * v + g``, stored in ``v``'s dtype."""
    return (rho * upcast(v) + upcast(g)).astype(v.dtype)


def ema(m: jax.Array, x: jax.Array, decay: float) -> jax.Array:
    """Exponential moving average ``decay * m + (1 - decay) * x``, stored in ``m``'s dtype."""
    return (decay * upcast(m) + (1.0 - decay) * x).astype(m.dtype)


def accumulate(total: jax.Array, x: jax.Array) -> jax.Array:
    """Running sum ``total + x``, stored in ``total``'s dtype."""
    return (upcast(total) + x).astype(total.dtype)


def squared(g: jax.Array) -> jax.Array:
    """``g**2`` computed in the compute dtype."""
    g = upcast(g)
    return g * g


def debias(m: jax.Array, decay: float, count: jax.Array) -> jax.Array:
    """Bias-corrected moment ``m / (1 - decay**t)`` (Kingma & Ba 2015), ``t`` the incremented count.

    ``1 - decay**t`` is computed as ``-expm1(t * log(decay))`` with ``log(decay)`` in double
    precision: in float32, ``1 - 0.999**1`` loses four digits to cancellation (optax's form has a
    relative error of 1.3e-5 there), this form keeps float32's full precision.
    """
    m = upcast(m)
    if isinstance(decay, numbers.Real):
        log_decay = math.log(decay) if decay > 0 else -math.inf
    else:  # a traced hyperparameter
        log_decay = jnp.log(decay)
    return m / -jnp.expm1(count.astype(m.dtype) * log_decay)


def rms_normalize(x: jax.Array, second_moment: jax.Array, eps: float) -> jax.Array:
    """``x / (sqrt(s) + eps)`` with eps outside the square root (lecture, torch.optim)."""
    return upcast(x) / (jnp.sqrt(upcast(second_moment)) + eps)
