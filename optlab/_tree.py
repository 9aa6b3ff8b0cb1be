"""Tree math every update rule shares.

The per-leaf formulas of the lecture, written once:

* ``trace(v, g, rho)      = rho * v + g``                  (momentum buffer, Sutskever et al. 2013)
* ``ema(m, x, decay)      = decay * m + (1 - decay) * x``  (RMSProp / Adam moments)
* ``accumulate(G, x)      = G + x``                        (AdaGrad accumulator)
* ``debias(m, decay, t)   = m / (1 - decay**t)``           (Adam bias correction)
* ``rms_normalize(x, s, eps) = x / (sqrt(s) + eps)``       (eps outside the square root)
* ``abs_sq(g)             = g * conj(g)``                  (``|g|^2``, real, also for complex ``g``)

Arithmetic runs in at least float32 (``promote_types(dtype, float32)``) and is cast back to the
leaf's dtype, so bf16/f16 parameters never see ``b2 = 0.999`` rounded to 1.0 or ``eps = 1e-8``
flushed to zero. Integer and boolean leaves are never touched: rules pass them through unchanged.

Complex leaves follow optax: first moments and momentum are complex, second moments and
accumulators are real (``|g|^2``, stored in the leaf's real dtype: float32 for complex64).
Optimizer state may be stored in another dtype than the leaf's (``mu_dtype``,
``accumulator_dtype``, ``nu_dtype``: :func:`check_state_dtype`, :func:`moment_like`); the math
still runs in at least float32 and only the stored value is rounded.
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


def is_complex(leaf: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(leaf), jnp.complexfloating)


def real_dtype(dtype: Any) -> jnp.dtype:
    """The real dtype of the same precision: float32 for complex64, float64 for complex128."""
    dtype = jnp.dtype(dtype)
    return jnp.finfo(dtype).dtype if jnp.issubdtype(dtype, jnp.complexfloating) else dtype


def cast(x: jax.Array, dtype: Any) -> jax.Array:
    """An update ``x`` in the gradient's ``dtype``; a complex ``x`` cast to a real dtype keeps its real part.

    That happens only where the imaginary part is zero by construction: a real leaf whose first
    moment was asked to be complex (``mu_dtype=jnp.complex64``, which optax allows on real params).
    """
    if jnp.iscomplexobj(x) and not jnp.issubdtype(dtype, jnp.complexfloating):
        x = jnp.real(x)
    return x.astype(dtype)


def check_state_dtype(dtype: Any, name: str, *, allow_complex: bool = True) -> jnp.dtype | None:
    """Validate a state-dtype argument (``mu_dtype``, ``accumulator_dtype``, ``nu_dtype``).

    ``None`` (the leaf's own dtype) or a floating dtype (complex too where ``allow_complex``: a
    second moment ``|g|^2`` is real). Anything else raises ``ValueError`` naming ``name``.
    """
    if dtype is None:
        return None
    kinds = "a floating" + (" or complex" if allow_complex else "") + " dtype or None"
    if isinstance(dtype, jax.Array):  # optax.inject_hyperparams took a dtype class for a schedule
        raise ValueError(
            f"{name} must be {kinds}, got an array {dtype!r}; with optax.inject_hyperparams pass "
            f"the dtype as a string ({name}='bfloat16') or list {name!r} in static_args"
        )
    if isinstance(dtype, bool):
        raise ValueError(f"{name} must be {kinds}, got {dtype!r}")
    try:
        result = jnp.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"{name} must be {kinds}, got {dtype!r}") from error
    ok = jnp.issubdtype(result, jnp.floating) or (
        allow_complex and jnp.issubdtype(result, jnp.complexfloating)
    )
    if not ok:
        raise ValueError(f"{name} must be {kinds}, got {dtype!r}")
    return result


def _moment_dtype(path: Any, leaf: Any, dtype: jnp.dtype | None, real: bool, name: str) -> jnp.dtype:
    leaf_dtype = jnp.result_type(leaf)
    if dtype is None:
        return real_dtype(leaf_dtype) if real else leaf_dtype
    dtype = jax.dtypes.canonicalize_dtype(dtype)  # float64 -> float32 unless x64 is on
    if not real and is_complex(leaf) and not jnp.issubdtype(dtype, jnp.complexfloating):
        raise ValueError(
            f"{name}={dtype.name} cannot hold the complex moment of params{jax.tree_util.keystr(path)} "
            f"({leaf_dtype.name}): its imaginary part would be dropped; use a complex dtype "
            f"(e.g. {leaf_dtype.name}) or None"
        )
    return dtype


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


def moment_like(
    params: Any, value: float = 0.0, *, dtype: Any = None, real: bool = False, name: str = "dtype"
) -> Any:
    """A moment tree shaped like ``params``, filled with ``value`` on inexact leaves.

    Its dtype per inexact leaf: ``dtype`` when given (canonicalized, so float64 means float32
    unless x64 is on), else the leaf's dtype; ``real=True`` (second moments, ``|g|^2``) makes the
    default the leaf's real dtype (float32 for complex64). A complex leaf's first moment
    (``real=False``) in a real ``dtype`` would silently lose its imaginary part: ``ValueError``
    naming ``name`` and the path. Integer/bool leaves get zeros of their own dtype (never used).

    State leaves are never weakly typed (a weak-typed param such as ``jnp.full(3, 0.5)`` would
    otherwise give a state whose type changes after the first update and forces a recompile).
    """

    def leaf(path, p):
        if not is_inexact(p):
            return jnp.zeros(jnp.shape(p), dtype=jnp.result_type(p))
        return jnp.full(jnp.shape(p), value, dtype=_moment_dtype(path, p, dtype, real, name))

    return jax.tree_util.tree_map_with_path(leaf, params)


def full_like(params: Any, value: float) -> Any:
    """Moments filled with ``value`` for inexact leaves, zeros for the others, in the leaves' dtypes."""
    return moment_like(params, value)


def zeros_like(params: Any) -> Any:
    """Zero moments shaped and typed like ``params`` (integer leaves get integer zeros, never used)."""
    return moment_like(params, 0.0)


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1`` for an int32 step counter, saturating instead of overflowing."""
    return jnp.where(count < _INT32_MAX, count + 1, _INT32_MAX).astype(jnp.int32)


def check_real_for_real(tree: Any, params: Any, *, name: str) -> None:
    """``ValueError`` naming the path where ``tree`` (same structure as ``params``) is complex for a real parameter."""
    for (path, x), p in zip(jax.tree_util.tree_leaves_with_path(tree), jax.tree_util.tree_leaves(params)):
        if is_complex(x) and not is_complex(p):
            where = jax.tree_util.keystr(path)
            raise ValueError(
                f"{name}{where} is {jnp.result_type(x).name} but params{where} is "
                f"{jnp.result_type(p).name}: a real parameter takes only real {name}"
            )


def check_updates(updates: Any, params: Any = None, moments: Any = None) -> None:
    """Trace-time check that ``updates`` has the structure and leaf shapes of ``params``/``moments``.

    With ``params``, also that no real parameter gets a complex gradient (its imaginary part would
    be dropped somewhere down the chain): ``ValueError`` naming the path.
    """
    if params is not None:
        _checks.tree_match(updates, params, name="grads", reference_name="params")
        check_real_for_real(updates, params, name="grads")
    if moments is not None:
        _checks.tree_match(updates, moments, name="grads", reference_name="optimizer state")


# --- per-leaf formulas --------------------------------------------------------------------------


def store(x: jax.Array, dtype: Any) -> jax.Array:
    """``x`` cast to a state's ``dtype``; a complex ``x`` never goes into a real state.

    A complex leaf's first moment is complex (enforced by :func:`moment_like`) and second moments
    are built from the real ``|g|^2``, so a complex value meets a real state only when a real
    parameter got a complex gradient: ``ValueError`` (with ``params`` passed to ``update``,
    :func:`check_updates` reports it earlier, naming the path).
    """
    if jnp.iscomplexobj(x) and not jnp.issubdtype(dtype, jnp.complexfloating):
        raise ValueError(
            f"a complex gradient ({jnp.result_type(x).name}) for an optimizer state of dtype "
            f"{jnp.dtype(dtype).name}: a real parameter needs a real gradient (pass params to "
            "update to get the path)"
        )
    return x.astype(dtype)


def trace(v: jax.Array, g: jax.Array, rho: float) -> jax.Array:
    """Momentum buffer ``rho * v + g``, stored in ``v``'s dtype."""
    return store(rho * upcast(v) + upcast(g), v.dtype)


def ema(m: jax.Array, x: jax.Array, decay: float) -> jax.Array:
    """Exponential moving average ``decay * m + (1 - decay) * x``, stored in ``m``'s dtype."""
    return store(decay * upcast(m) + (1.0 - decay) * x, m.dtype)


def accumulate(total: jax.Array, x: jax.Array) -> jax.Array:
    """Running sum ``total + x``, stored in ``total``'s dtype."""
    return store(upcast(total) + x, total.dtype)


def abs_sq(g: jax.Array) -> jax.Array:
    """``|g|^2 = g * conj(g)`` in the compute dtype; real (float32 for complex64) for complex ``g``.

    Squaring a complex gradient (``g * g``) would give a complex "second moment" whose square root
    points the step the wrong way; optax's ``numerics.abs_sq`` is the same formula.
    """
    g = upcast(g)
    if jnp.iscomplexobj(g):
        return jnp.real(g) ** 2 + jnp.imag(g) ** 2
    return g * g


squared = abs_sq  # the name benchmarks/adam_anatomy.py uses


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
    return m / -jnp.expm1(count.astype(real_dtype(m.dtype)) * log_decay)


def rms_normalize(x: jax.Array, second_moment: jax.Array, eps: float) -> jax.Array:
    """``x / (sqrt(s) + eps)`` with eps outside the square root (lecture, torch.optim)."""
    return upcast(x) / (jnp.sqrt(upcast(second_moment)) + eps)
