"""Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019): RMSProp + momentum."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax

from .. import _checks, _tree
from ._learning_rate import scale_by_learning_rate
from ._weight_decay import add_decayed_weights


class AdamState(NamedTuple):
    """State of :func:`adam_scaling`.

    Attributes:
      count: int32 number of updates made (``t`` of the bias correction after incrementing).
      mu: first moment ``m`` (EMA of gradients, the momentum part).
      nu: second moment ``v`` (EMA of squared gradients, the RMSProp part).
    """

    count: jax.Array
    mu: Any
    nu: Any


def adam_scaling(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    bias_correction: bool = True,
    *,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformation:
    r"""Adam scaling: momentum on the gradient, RMSProp on its square, with bias correction.

    .. math::
       m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
       \text{out} = \hat m_t / (\sqrt{\hat v_t} + \epsilon),\;
       \hat m_t = \frac{m_t}{1-\beta_1^t},\; \hat v_t = \frac{v_t}{1-\beta_2^t}

    ``t`` is the incremented step count. With ``bias_correction=False`` the output is
    :math:`m_t / (\sqrt{v_t} + \epsilon)`, the lecture's first Adam slide. The moment updates are
    the same :func:`optlab._tree.ema` and :func:`optlab._tree.rms_normalize` that
    :func:`rms_scaling` uses, so ``adam_scaling(b1=0, bias_correction=False)`` *is*
    ``rms_scaling(rho=b2)``. Equals ``optax.scale_by_adam`` (eps outside the root, ``eps_root=0``).

    State dtypes: ``mu`` in ``mu_dtype`` (as in optax; e.g. ``jnp.bfloat16`` halves its memory),
    ``nu`` in ``nu_dtype`` (real; keep it float32: with ``b2 = 0.999`` a step changes ``nu`` by ~0.1%,
    below bf16's rounding step, so a bf16 ``nu`` stalls); ``None`` means the leaf's dtype (its real dtype for
    ``nu``). The arithmetic runs in at least float32 either way; only the stored moments are
    rounded, and the update is computed from the stored moments. Complex leaves: ``mu`` complex,
    ``nu`` real, built from :math:`|g|^2`.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.adam_scaling(eps=0.0)
      >>> g = {"w": jnp.array([0.5, -2.0])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> u["w"]  # the first bias-corrected step is sign(g)
      Array([ 1., -1.], dtype=float32)
      >>> z = {"w": jnp.array([3.0 + 4.0j])}  # complex leaves: mu complex, nu = EMA of |g|^2, real
      >>> _, s = tx.update(z, tx.init(z))
      >>> s.mu["w"].dtype, s.nu["w"]
      (dtype('complex64'), Array([0.025], dtype=float32))
      >>> optlab.adam_scaling(mu_dtype=jnp.bfloat16).init(g).mu["w"].dtype
      dtype(bfloat16)

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    Raises:
      ValueError: ``b1`` or ``b2`` outside ``[0, 1)``, ``eps`` negative, ``mu_dtype`` not a
        floating/complex dtype, ``nu_dtype`` not a floating dtype; at ``init``, a real ``mu_dtype``
        for a complex leaf (names the path).
    """
    _checks.unit_interval(b1, "b1")
    _checks.unit_interval(b2, "b2")
    _checks.non_negative(eps, "eps")
    if not isinstance(bias_correction, bool):
        raise ValueError(f"bias_correction must be a bool, got {bias_correction!r}")
    mu_dtype = _tree.check_state_dtype(mu_dtype, "mu_dtype")
    nu_dtype = _tree.check_state_dtype(nu_dtype, "nu_dtype", allow_complex=False)

    def init_fn(params):
        return AdamState(
            count=jax.numpy.zeros([], jax.numpy.int32),
            mu=_tree.moment_like(params, dtype=mu_dtype, name="mu_dtype"),
            nu=_tree.moment_like(params, dtype=nu_dtype, real=True, name="nu_dtype"),
        )

    def update_fn(updates, state, params=None):
        _tree.check_updates(updates, params, state.mu)
        mu = _tree.map_inexact(lambda g, m: _tree.ema(m, _tree.upcast(g), b1), updates, state.mu, keep=1)
        nu = _tree.map_inexact(lambda g, v: _tree.ema(v, _tree.abs_sq(g), b2), updates, state.nu, keep=1)
        count = _tree.safe_increment(state.count)

        def out(g, m, v):
            if bias_correction:
                m, v = _tree.debias(m, b1, count), _tree.debias(v, b2, count)
            return _tree.cast(_tree.rms_normalize(m, v, eps), g.dtype)

        updates = _tree.map_inexact(out, updates, mu, nu)
        return updates, AdamState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init_fn, update_fn)


def adam(
    learning_rate: Any = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    bias_correction: bool = True,
    *,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformation:
    r"""Adam: :math:`w_{t+1} = w_t - \eta_t\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)` (see :func:`adam_scaling`).

    Equals ``torch.optim.Adam`` and ``optax.adam`` with the same settings. ``mu_dtype`` and
    ``nu_dtype`` set the dtypes the moments are stored in (see :func:`adam_scaling`).

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.adam(0.1)
      >>> g = {"w": jnp.array([2.0])}
      >>> updates, _ = tx.update(g, tx.init(g))
      >>> updates["w"]
      Array([-0.1], dtype=float32)

    Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """
    return optax.chain(
        adam_scaling(
            b1=b1, b2=b2, eps=eps, bias_correction=bias_correction, mu_dtype=mu_dtype, nu_dtype=nu_dtype
        ),
        scale_by_learning_rate(learning_rate),
    )


def adamw(
    learning_rate: Any = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    mask: Any = None,
    *,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformation:
    r"""AdamW, decoupled weight decay: :math:`w_{t+1} = w_t - \eta_t (\hat m_t/(\sqrt{\hat v_t}+\epsilon) + \lambda w_t)`.

    Equals ``torch.optim.AdamW`` (which multiplies ``w`` by ``1 - lr*wd`` before the Adam step)
    and ``optax.adamw``. ``mask`` (a tree of bools like the params, or a callable returning one)
    selects the leaves that decay; the others get plain Adam. ``weight_decay`` defaults to 1e-2
    as in torch (``optax.adamw``: 1e-4). ``mu_dtype``/``nu_dtype``: see :func:`adam_scaling`.

    Example:
      >>> import jax.numpy as jnp, optlab
      >>> tx = optlab.adamw(0.1, weight_decay=0.5)
      >>> params = {"w": jnp.array([2.0])}
      >>> updates, _ = tx.update({"w": jnp.array([1.0])}, tx.init(params), params)
      >>> updates["w"]  # -0.1 * (1 + 0.5 * 2)
      Array([-0.2], dtype=float32)

    Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """
    return optax.chain(
        adam_scaling(b1=b1, b2=b2, eps=eps, mu_dtype=mu_dtype, nu_dtype=nu_dtype),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )
