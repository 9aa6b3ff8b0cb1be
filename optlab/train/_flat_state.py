"""A TrainState whose parameters live in a few flat buffers: the fast path for many leaves.

The parameters ``w_1, ..., w_L`` are stored as ``flat_params = {key: B_k}`` with a static
:class:`optlab.perf.Layout`: leaves with >= 64K elements get a buffer of their own, smaller ones
are packed, per dtype, into buckets of <= 16 MiB (``"float32"``, ``"float32.1"``, ...).
``.params`` slices the tree back out through a custom VJP, so

* ``value_and_grad(loss_fn, *args)`` differentiates ``loss_fn(params_tree, *args)`` with respect
  to the buffers: the gradients come back flat, ``{key: G_k}``, at the cost of one concatenate
  per bucket (none for a leaf with its own buffer; with dynamic offsets, one in-place write per
  leaf);
* ``apply_gradients`` runs ``tx`` once per buffer instead of once per leaf: a few fused loops
  instead of one per small leaf, the update at memory-bandwidth speed whatever ``L`` is, and a
  compile time independent of ``L``.

Same numbers as :class:`optlab.train.TrainState` (bitwise or within 1 ulp; tested) for every
transformation that is elementwise across leaves — all optlab rules (except ``adamw`` with a
``mask``) and the elementwise optax ones; ``create`` refuses the others (per-leaf clipping, masks
over the tree). Global-norm clipping is valid but sums in another order (not bitwise).

Why buckets (measured, ``benchmarks/README.md``): with one buffer per dtype, the gradient was a
fresh 64 MB buffer every step, which glibc unmaps and page-faults in again (grad+update at 200
leaves: 105 ms vs optax's 29 ms), and large leaves paid a copy they do not need. With large leaves
on their own and small ones in <= 16 MiB buckets, grad+update at 200 leaves is 23 ms (optax 25) and
at 2,000 leaves 78 ms (optax 86) under the default allocator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ..perf._elementwise import check_elementwise
from ..perf._layout import BUCKET_BYTES, OWN_BUFFER_FROM, Layout, is_flat, layout_of
from ..perf._unflatten import flatten, runtime_offsets, unflatten
from ._ema import ema_init
from ._state import check_create_args, optimizer_step
from ._swa import check_swa_args, swa_step

__all__ = ["FlatTrainState"]


class FlatTrainState(struct.PyTreeNode):
    """Step, flat parameters, optimizer state on the flat buffers, and optionally their EMA.

    The TrainState protocol that ``optlab.train.fit`` uses: ``create``, ``.params`` (the tree),
    ``.ema_params`` (the EMA tree or ``None``), ``.step``, ``.opt_state``, ``.tx``, ``.apply_fn``,
    ``.value_and_grad`` (flat gradients) and ``.apply_gradients`` (flat gradients, or a tree that
    it flattens). ``flat_params`` and ``flat_ema`` are the buffers themselves; ``offsets`` is
    ``None`` (static slices) or, with ``create(..., dynamic_offsets=True)``, the leaves' offsets as
    int32 scalars carried as data, so jitted code slices with a few shared kernels instead of one
    new kernel per leaf (see :func:`optlab.perf.runtime_offsets`).

    Example:
      >>> import jax, jax.numpy as jnp, optlab
      >>> from optlab.train._flat_state import FlatTrainState
      >>> params = {"b": jnp.zeros(2), "w": jnp.ones((2, 2))}
      >>> state = FlatTrainState.create(apply_fn=None, params=params, tx=optlab.sgd(0.1))
      >>> {k: v.shape for k, v in state.flat_params.items()}
      {'float32': (6,)}
      >>> loss, grads = state.value_and_grad(lambda p: jnp.sum(p["w"]) + jnp.sum(p["b"]))
      >>> state.apply_gradients(grads=grads).params["w"]
      Array([[0.9, 0.9],
             [0.9, 0.9]], dtype=float32)
    """

    step: jax.Array
    flat_params: dict[str, jax.Array]
    opt_state: Any
    flat_ema: dict[str, jax.Array] | None = None
    model_state: Any = None
    offsets: tuple[jax.Array, ...] | None = None
    flat_swa: dict[str, jax.Array] | None = None
    swa_count: Any = None
    layout: Layout | None = struct.field(pytree_node=False, default=None)
    apply_fn: Callable[..., Any] | None = struct.field(pytree_node=False, default=None)
    tx: optax.GradientTransformation | None = struct.field(pytree_node=False, default=None)
    ema_decay: float | None = struct.field(pytree_node=False, default=None)
    ema_warmup: bool = struct.field(pytree_node=False, default=False)
    swa_start: int | None = struct.field(pytree_node=False, default=None)
    swa_every: int = struct.field(pytree_node=False, default=1)

    @classmethod
    def create(
        cls,
        *,
        apply_fn: Callable[..., Any] | None,
        params: Any,
        tx: optax.GradientTransformation,
        ema_decay: float | None = None,
        ema_warmup: bool = False,
        check_tx: bool = True,
        dynamic_offsets: bool = False,
        own_buffer_from: int = OWN_BUFFER_FROM,
        bucket_bytes: int = BUCKET_BYTES,
        model_state: Any = None,
        swa_start: int | None = None,
        swa_every: int = 1,
        **extra: Any,
    ) -> FlatTrainState:
        """A state at step 0 with ``params`` packed into flat buffers and ``tx.init`` run on them.

        ``check_tx=True`` first runs :func:`optlab.perf.check_elementwise` (three steps on a tiny
        probe tree, milliseconds) to refuse transformations that are not valid on flat buffers.

        ``dynamic_offsets`` trades step time for compile time when there are many leaves. False
        (default): ``.params`` uses static slices, no per-step cost, but XLA:CPU compiles one
        kernel per sliced leaf (about 25 ms each on a 2-core CPU: ~1 min at 2,000 leaves).
        True: the offsets travel in the state as int32 scalars (:func:`optlab.perf.runtime_offsets`),
        slices share one kernel per leaf size (2,000-leaf train step: 15-28 s to compile instead of
        41-70 s) but every jitted call pays ~8 us per leaf to pass them (17 ms at 2,000 leaves).

        ``own_buffer_from`` and ``bucket_bytes`` shape the layout (:func:`optlab.perf.layout_of`).
        ``model_state`` (non-parameter collections such as ``batch_stats``) stays a tree, as in
        :class:`optlab.train.TrainState`, and so do ``swa_start``/``swa_every`` (SWA of the flat
        buffers in ``flat_swa``; ``.swa_params`` is its tree).

        Raises:
          ValueError: ``tx`` is not a GradientTransformation or is not elementwise across leaves;
            ``params`` has a non-floating leaf; bad ``ema_decay``/``ema_warmup``/``check_tx``.
        """
        ema_decay = check_create_args(tx, ema_decay, ema_warmup)
        swa_start, swa_every = check_swa_args(swa_start, swa_every)
        for name, flag in (("check_tx", check_tx), ("dynamic_offsets", dynamic_offsets)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be a bool, got {flag!r}")
        layout = layout_of(params, own_buffer_from=own_buffer_from, bucket_bytes=bucket_bytes)
        if check_tx:
            check_elementwise(tx, layout)
        flat = ema_init(flatten(params, layout))  # own buffers: donating the state never frees `params`
        return cls(
            step=jnp.zeros((), jnp.int32),
            flat_params=flat,
            opt_state=tx.init(flat),
            flat_ema=None if ema_decay is None else ema_init(flat),
            offsets=runtime_offsets(layout) if dynamic_offsets else None,
            layout=layout,
            apply_fn=apply_fn,
            tx=tx,
            ema_decay=ema_decay,
            ema_warmup=ema_warmup,
            model_state=model_state,
            flat_swa=None if swa_start is None else ema_init(flat),
            swa_count=None if swa_start is None else jnp.zeros((), jnp.int32),
            swa_start=swa_start,
            swa_every=swa_every,
            **extra,
        )

    @property
    def params(self) -> Any:
        """The parameter tree (slices of the flat buffers; differentiable w.r.t. them)."""
        return unflatten(self.flat_params, self.layout, self.offsets)

    @property
    def ema_params(self) -> Any:
        """The EMA parameter tree, or ``None`` without ``ema_decay``."""
        return None if self.flat_ema is None else unflatten(self.flat_ema, self.layout, self.offsets)

    @property
    def swa_params(self) -> Any:
        """The SWA parameter tree, or ``None`` without ``swa_start``."""
        return None if self.flat_swa is None else unflatten(self.flat_swa, self.layout, self.offsets)

    def flat_grads(self, grads: Any) -> dict[str, jax.Array]:
        """``grads`` as flat buffers: returned as is when already flat, else flattened as the params."""
        return grads if is_flat(grads, self.layout) else flatten(grads, self.layout)

    def apply_gradients(self, *, grads: Any, **changes: Any) -> FlatTrainState:
        """One optimizer step on the flat buffers: new ``step``, ``flat_params``, ``opt_state``, EMA.

        ``grads`` are flat (``{dtype: G_d}`` from :meth:`value_and_grad`) or a tree like ``params``.
        ``changes`` replace other fields at the same time.
        """
        flat, opt_state, ema = optimizer_step(self, self.flat_params, self.flat_grads(grads), self.flat_ema)
        swa, swa_count = swa_step(self, flat, self.flat_swa)
        return self.replace(
            step=self.step + 1, flat_params=flat, opt_state=opt_state, flat_ema=ema,
            flat_swa=swa, swa_count=swa_count, **changes
        )

    def value_and_grad(self, loss_fn: Callable[..., Any], *args: Any, has_aux: bool = False) -> Any:
        """``(value, flat_grads)`` of ``loss_fn(params_tree, *args)`` w.r.t. the flat buffers.

        ``((value, aux), flat_grads)`` with ``has_aux``. The gradient flows through the custom-VJP
        unflatten: the leaf gradients are concatenated once per buffer.
        """
        layout, offsets = self.layout, self.offsets

        def flat_loss(flat: dict[str, jax.Array], *inner: Any) -> Any:
            return loss_fn(unflatten(flat, layout, offsets), *inner)

        return jax.value_and_grad(flat_loss, has_aux=has_aux)(self.flat_params, *args)
