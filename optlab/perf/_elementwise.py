"""Check that a gradient transformation may run on flat buffers instead of the parameter tree.

Running ``tx`` on ``{dtype: B_d}`` equals running it leaf by leaf exactly when ``tx`` is
elementwise across leaves: every output element depends only on the same element of the inputs
and on scalars shared by the whole tree (step counts, learning rates, a global norm). Per-leaf
reductions (``optax.clip_by_block_rms``, ``adaptive_grad_clip``) and masks over the tree (a
weight-decay mask selecting matrices, ``optax.masked``, ``multi_transform``) are not, and would
silently change the numbers. :func:`check_elementwise` runs ``tx`` on a small probe tree both ways.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import optax

from ._layout import Layout, layout_of
from ._unflatten import flatten

_PROBE_SHAPES = ((3, 4), (5,), (2, 1, 3))
_PROBE_STEPS = 3


def _probe_tree(dtypes: tuple[str, ...], seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        f"{dtype}_{i}": jax.numpy.asarray(rng.normal(size=shape) * (i + 1), dtype=dtype)
        for dtype in dtypes
        for i, shape in enumerate(_PROBE_SHAPES)
    }


def _run(tx: optax.GradientTransformation, params: Any, grads: list[Any]) -> list[Any]:
    state, outs = tx.init(params), []
    for g in grads:
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        outs.append(params)
    return outs


def _refuse(tx: Any, error: Exception) -> ValueError:
    return ValueError(
        f"tx={tx!r} cannot run on flat buffers ({type(error).__name__}: {error}); "
        "use a transformation that is elementwise across leaves, or the tree TrainState"
    )


def _check_abstract(tx: optax.GradientTransformation, layout: Layout) -> None:
    flat = {key: jax.ShapeDtypeStruct((size,), layout.dtype(key)) for key, size in layout.sizes}
    try:
        jax.eval_shape(lambda p: tx.update(p, tx.init(p), p), flat)
    except Exception as error:  # noqa: BLE001 - any failure means "not valid on flat buffers"
        raise _refuse(tx, error) from error


def check_elementwise(tx: optax.GradientTransformation, layout: Layout) -> None:
    """Raise unless ``tx`` on flat buffers gives the per-leaf result on a probe tree.

    The probe has three small leaves of different shapes and scales per dtype of ``layout``;
    ``tx`` runs 3 steps on the tree and on its flat form; results must agree to float rounding.
    A ``tx`` that cannot run on the probe tree at all (e.g. a mask tree shaped like the real
    parameters) is instead traced abstractly on the real flat buffers, and refused if that fails.

    Raises:
      ValueError: ``tx`` fails on flat buffers or gives different numbers there (names ``tx``).
    """
    dtypes = tuple(sorted({layout.dtype(key).name for key in layout.keys}))
    params = _probe_tree(dtypes, seed=0)
    probe = layout_of(params)
    grads = [_probe_tree(dtypes, seed=s) for s in range(1, _PROBE_STEPS + 1)]
    try:
        reference = _run(tx, params, grads)
    except Exception:  # noqa: BLE001 - tx is specific to the real tree: check it there, abstractly
        _check_abstract(tx, layout)
        return
    try:
        flat = _run(tx, flatten(params, probe), [flatten(g, probe) for g in grads])
    except Exception as error:  # noqa: BLE001 - any failure means "not valid on flat buffers"
        raise _refuse(tx, error) from error
    for step, (ref, got) in enumerate(zip(reference, flat)):
        for key, buf in flatten(ref, probe).items():
            want, have = np.asarray(buf, np.float64), np.asarray(got[key], np.float64)
            if not np.allclose(have, want, rtol=1e-3, atol=1e-6):
                raise ValueError(
                    f"tx={tx!r} is not elementwise across leaves: on flat buffers its step {step + 1} "
                    f"differs from the per-leaf result (max |diff| {np.max(np.abs(have - want)):.3g}); "
                    "per-leaf norms, clipping by block and masks over the tree are not valid on "
                    "flat buffers"
                )
