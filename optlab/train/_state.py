"""An immutable training state with optional Polyak/EMA parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from .._apply import apply_updates
from ._ema import check_ema_decay, ema_init, ema_update
from ._swa import check_swa_args, swa_step


def optimizer_step(state: Any, params: Any, grads: Any, ema: Any) -> tuple[Any, Any, Any]:
    """``(params, opt_state, ema)`` after one step of ``state.tx`` and the EMA update.

    Shared by :class:`TrainState` and ``FlatTrainState``, which passes its flat buffers as
    ``params``, ``grads`` and ``ema``. Reads ``tx``, ``opt_state``, ``step``, ``ema_decay`` and
    ``ema_warmup`` from ``state``.
    """
    updates, opt_state = state.tx.update(grads, state.opt_state, params)
    params = apply_updates(params, updates)
    if state.ema_decay is not None:
        ema = ema_update(ema, params, state.ema_decay, state.step, state.ema_warmup)
    return params, opt_state, ema


def check_create_args(tx: Any, ema_decay: Any, ema_warmup: Any) -> float | None:
    """Validate the arguments every TrainState's ``create`` takes; the checked ``ema_decay``.

    Raises:
      ValueError: ``tx`` is not a GradientTransformation, bad ``ema_decay``, ``ema_warmup`` not a bool.
    """
    if not isinstance(tx, optax.GradientTransformation):
        raise ValueError(f"tx must be an optax.GradientTransformation, got {tx!r}")
    ema_decay = check_ema_decay(ema_decay)
    if not isinstance(ema_warmup, bool):
        raise ValueError(f"ema_warmup must be a bool, got {ema_warmup!r}")
    return ema_decay


class TrainState(struct.PyTreeNode):
    """Step, parameters, optimizer state and (optionally) the EMA of the parameters.

    In the spirit of ``flax.training.train_state.TrainState``; ``apply_fn`` and ``tx`` are static.

    ``model_state`` holds the model's non-parameter collections (e.g. ``{"batch_stats": ...}`` of a
    linen model with BatchNorm), or ``None``. With it, ``fit`` expects the stateful loss signature
    ``loss_fn(params, x, y, rng, model_state) -> (loss, (outputs, new_model_state))`` (``rng is
    None`` = evaluation, inference mode) and stores ``new_model_state`` after each step;
    :func:`optlab.train.classifier_loss` builds such a loss. Other fields can be added by
    subclassing, as in flax, and passed to ``create``.

    With ``ema_decay=d`` each ``apply_gradients`` also does
    ``ema <- d_t * ema + (1 - d_t) * params_new`` (Polyak & Juditsky 1992; the lecture's
    ``w_test = 0.95 w_test + 0.05 w`` is ``d = 0.95``), where ``d_t = d`` or, with
    ``ema_warmup=True``, ``d_t = min(d, (1 + t) / (10 + t))`` and ``t`` the step before the update.
    Integer leaves of the EMA are copied from ``params``, never averaged.

    With ``swa_start=s`` (and ``swa_every=k``) it also keeps ``swa_params``, the equal-weight mean
    of the weights after steps ``s, s + k, s + 2k, ...`` (SWA, Izmailov et al. 2018:
    ``w_swa <- (n w_swa + w) / (n + 1)``; ``swa_count`` = n; see :mod:`optlab.train._swa`).

    Works with flax.linen (``apply_fn=model.apply``) and flax.nnx (``params`` is the ``nnx.State``
    from ``nnx.split(model, nnx.Param, ...)``; merge it back with ``nnx.merge``). In flax 0.12 that
    ``State`` shares its Variables with ``model``: do not also mutate ``model`` in place (e.g. with
    ``nnx.Optimizer``) while training the split copy.
    """

    step: jax.Array
    params: Any
    opt_state: Any
    ema_params: Any = None
    model_state: Any = None
    swa_params: Any = None
    swa_count: Any = None
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
        model_state: Any = None,
        swa_start: int | None = None,
        swa_every: int = 1,
        **extra: Any,
    ) -> TrainState:
        """A state at step 0: ``opt_state = tx.init(params)``, EMA a copy of ``params`` if enabled.

        ``params`` and ``model_state`` are not copied (JAX arrays are immutable; the state shares
        them). Donating the state to a jitted step would free the caller's arrays: optlab's own
        training functions (``fit``, the practice checks, ensembles, transfer) never do that, they
        train :func:`optlab.train.own_copy` of the state. ``extra`` fills the fields a subclass adds.
        """
        ema_decay = check_create_args(tx, ema_decay, ema_warmup)
        swa_start, swa_every = check_swa_args(swa_start, swa_every)
        return cls(
            step=jnp.zeros((), jnp.int32),
            params=params,
            opt_state=tx.init(params),
            ema_params=None if ema_decay is None else ema_init(params),
            apply_fn=apply_fn,
            tx=tx,
            ema_decay=ema_decay,
            ema_warmup=ema_warmup,
            model_state=model_state,
            swa_params=None if swa_start is None else ema_init(params),
            swa_count=None if swa_start is None else jnp.zeros((), jnp.int32),
            swa_start=swa_start,
            swa_every=swa_every,
            **extra,
        )

    def apply_gradients(self, *, grads: Any, **changes: Any) -> TrainState:
        """One optimizer step: new ``step``, ``params``, ``opt_state`` (and ``ema_params``).

        ``changes`` replace other fields at the same time (e.g. ``model_state=new_model_state``).
        """
        params, opt_state, ema = optimizer_step(self, self.params, grads, self.ema_params)
        swa, swa_count = swa_step(self, params, self.swa_params)
        return self.replace(
            step=self.step + 1, params=params, opt_state=opt_state, ema_params=ema,
            swa_params=swa, swa_count=swa_count, **changes
        )

    def value_and_grad(self, loss_fn: Callable[..., Any], *args: Any, has_aux: bool = False) -> Any:
        """``jax.value_and_grad(loss_fn, has_aux=has_aux)(self.params, *args)``.

        Returns ``(value, grads)`` (``((value, aux), grads)`` with ``has_aux``), grads shaped like
        ``params``, ready for ``apply_gradients``.

        When ``tx`` freezes parameters (``opt_state`` holds a node with a static ``frozen_leaves``
        marker, as ``optlab.transfer.partition``'s state does, see :func:`frozen_leaves_of`), only
        the trainable leaves are differentiated: the frozen ones enter ``loss_fn`` as constants, so
        the backward pass never computes their gradients, and ``grads`` holds exact zeros for them.
        """
        frozen = frozen_leaves_of(self.opt_state, self.params)
        if frozen is None or not any(frozen):
            return jax.value_and_grad(loss_fn, has_aux=has_aux)(self.params, *args)
        leaves, treedef = jax.tree.flatten(self.params)
        trainable = [i for i, f in enumerate(frozen) if not f]

        def partial_loss(trained: list, *inner: Any) -> Any:
            full = list(leaves)  # frozen leaves: closed over, constants for the differentiation
            for i, leaf in zip(trainable, trained):
                full[i] = leaf
            return loss_fn(jax.tree.unflatten(treedef, full), *inner)

        value, trained_grads = jax.value_and_grad(partial_loss, has_aux=has_aux)([leaves[i] for i in trainable], *args)
        grads = [jnp.zeros_like(leaf) for leaf in leaves]
        for i, grad in zip(trainable, trained_grads):
            grads[i] = grad
        return value, jax.tree.unflatten(treedef, grads)


def frozen_leaves_of(opt_state: Any, params: Any) -> tuple[bool, ...] | None:
    """Which leaves of ``params`` (``jax.tree.leaves`` order) the optimizer freezes, or ``None``.

    Read from the nodes of ``opt_state`` that carry a static ``frozen_leaves`` tuple of bools
    (``optlab.transfer.PartitionState``), wherever they sit in the tree; several are OR-ed.

    Raises:
      ValueError: a marker does not have one entry per leaf of ``params`` (e.g. a partition nested
        inside another partition's group, which is not supported).
    """
    marked = lambda node: isinstance(getattr(node, "frozen_leaves", None), tuple)  # noqa: E731
    nodes = [n for n in jax.tree_util.tree_leaves(opt_state, is_leaf=marked) if marked(n)]
    if not nodes:
        return None
    count = len(jax.tree.leaves(params))
    for node in nodes:
        if len(node.frozen_leaves) != count:
            raise ValueError(
                f"opt_state holds a frozen-leaves marker for {len(node.frozen_leaves)} leaves but params has "
                f"{count}; a partition must see the whole parameter tree (not nested in another partition)"
            )
    return tuple(any(node.frozen_leaves[i] for node in nodes) for i in range(count))
