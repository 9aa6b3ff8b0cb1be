"""Refuse bad training data before the first step, and never touch the caller's arrays.

Every public optlab function that takes data (``fit``, the practice checks, ensembles, transfer
stages) validates it here, once per call, on the host; every function that trains a state trains
:func:`own_copy` of it, so the caller's arrays survive donation whether the function returns or
raises.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["DataChecks", "check_data", "check_fit_data", "check_labels", "check_model_data", "model_state_of", "own_copy"]


class DataChecks(NamedTuple):
    """What :func:`check_data` (and ``fit``'s ``data_checks``) checks beyond shapes and dtypes.

    Attributes:
      num_classes: labels must be integers in ``[0, num_classes)``. ``None``: read from the
        model's output on one batch when the loss declares class labels (``classifier_loss``
        does), else the labels' range is not checked.
      allow_nonfinite: accept NaN/inf in ``x`` and ``y`` (default: refused). Opt out to let the
        skip-a-step guard (``max_nonfinite_steps``) handle them instead.
    """

    num_classes: int | None = None
    allow_nonfinite: bool = False


def _host_array(name: str, part: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except Exception as error:  # noqa: BLE001 - anything numpy cannot take is a user mistake here
        raise TypeError(f"{name}: {part} cannot be made an array ({type(value).__name__}): {error}") from None
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"{name}: {part} must be numeric, got dtype {array.dtype} (e.g. {part}[0] = {_example(array)!r})"
        )
    return array


def _example(array: np.ndarray) -> Any:
    """The first element as a plain Python value (for messages)."""
    if not array.size:
        return None
    first = array.reshape(-1)[0]
    return first.item() if isinstance(first, np.generic) else first


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_labels(name: str, y: np.ndarray, num_classes: int | None) -> None:
    """Class labels: integer dtype, one-dimensional, in ``[0, num_classes)`` (when given).

    Raises:
      TypeError: labels are not integers (``name`` and an example in the message).
      ValueError: labels are not 1-D, or one lies outside ``[0, num_classes)`` (index and value).
    """
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: class labels y must be integers, got dtype {y.dtype} (e.g. y[0] = {_example(y)!r}); "
            "convert them with y.astype(int)"
        )
    if y.ndim != 1:
        raise ValueError(
            f"{name}: class labels y must be one-dimensional (N,), got shape {y.shape}; "
            "use y.reshape(-1) for shape (N, 1)"
        )
    if num_classes is not None:
        bad = (y < 0) | (y >= num_classes)
        if bad.any():
            (index,) = _first_bad(bad)
            raise ValueError(
                f"{name}: class labels y must lie in [0, {num_classes}) for {num_classes} classes, "
                f"got y[{index}] = {int(y[index])} ({int(bad.sum())} labels out of range)"
            )


def check_data(
    data: Any, name: str = "train_data", *, class_labels: bool = False, checks: DataChecks = DataChecks(),
) -> tuple[jax.Array, jax.Array]:
    """Validate ``data = (x, y)`` on the host; return it as device arrays.

    Checks: a pair; both numeric arrays (``TypeError`` otherwise); the same non-zero leading size;
    finite values unless ``checks.allow_nonfinite``; with ``class_labels`` (or
    ``checks.num_classes``) the labels as :func:`check_labels` says. Each message names ``name``
    (``"train_data"``, ``"val_data"``, ...), the problem and an example (index, value).

    Example:
      >>> import numpy as np
      >>> check_data((np.zeros((2, 3)), np.array([0, 7])), "val_data", checks=DataChecks(num_classes=5))
      Traceback (most recent call last):
      ...
      ValueError: val_data: class labels y must lie in [0, 5) for 5 classes, got y[1] = 7 (1 labels out of range)
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a pair (x, y) of arrays, got {type(data).__name__}")
    x = _host_array(name, "x", data[0])
    y = _host_array(name, "y", data[1])
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"{name}: x and y need the same non-zero leading size, got {x.shape} and {y.shape}")
    if not checks.allow_nonfinite:
        for part, array in (("x", x), ("y", y)):
            if array.dtype.kind in "fc":
                bad = ~np.isfinite(array)
                if bad.any():
                    index = _first_bad(bad)
                    raise ValueError(
                        f"{name}: {part} must be finite, got {part}{list(index)} = {array[index]} "
                        f"({int(bad.sum())} non-finite values); fix the data, or pass "
                        "DataChecks(allow_nonfinite=True) to let the non-finite-step guard skip them"
                    )
    if class_labels or checks.num_classes is not None:
        check_labels(name, y, checks.num_classes)
    return jnp.asarray(x), jnp.asarray(y)


def model_state_of(state: Any) -> Any:
    """The state's ``model_state`` (non-parameter collections), ``None`` for states without one."""
    return getattr(state, "model_state", None)


def _num_classes(loss_fn: Any, params: Any, model_state: Any, x: jax.Array, y: jax.Array) -> int:
    """The last dimension of the model's outputs on one example, traced only (nothing runs)."""
    extra = () if model_state is None else (model_state,)
    _, aux = jax.eval_shape(lambda p: loss_fn(p, x[:1], y[:1], None, *extra), params)
    return (aux if model_state is None else aux[0]).shape[-1]


def check_model_data(
    loss_fn: Any, params: Any, model_state: Any, data: Any, name: str, checks: DataChecks = DataChecks(),
) -> tuple[jax.Array, jax.Array]:
    """:func:`check_data` for a model: a loss that declares class labels (``classifier_loss`` sets
    ``loss_fn.class_labels``) gets its labels checked against ``checks.num_classes`` or, without it,
    the last dimension of the model's outputs (``jax.eval_shape`` of ``loss_fn`` on one example)."""
    return check_fit_data(loss_fn, params, model_state, [(name, data)], checks)[0]


def check_fit_data(
    loss_fn: Any, params: Any, model_state: Any, named: list[tuple[str, Any]], checks: DataChecks = DataChecks(),
) -> list[tuple[jax.Array, jax.Array]]:
    """:func:`check_model_data` for several ``(name, data)`` pairs (e.g. train and validation data),
    the number of classes read off the model once, from the first."""
    if not isinstance(checks, DataChecks):
        raise ValueError(f"data_checks must be an optlab.train.DataChecks, got {checks!r}")
    class_labels = bool(getattr(loss_fn, "class_labels", False))
    checked = [check_data(data, name, class_labels=class_labels, checks=checks) for name, data in named]
    if class_labels and checks.num_classes is None:
        num_classes = _num_classes(loss_fn, params, model_state, *checked[0])
        for (name, _), (_, y) in zip(named, checked):
            check_labels(name, np.asarray(y), num_classes)
    return checked


def own_copy(tree: Any) -> Any:
    """A copy of every array in ``tree`` (new buffers; other leaves as they are).

    Functions that donate a state to a jitted step train ``own_copy(state)``: one copy on entry,
    after which donation reuses the copy's buffers, and the caller's arrays stay valid whether the
    function returns or raises.
    """
    leaves, treedef = jax.tree.flatten(tree)
    local = [i for i, a in enumerate(leaves) if _is_local_array(a)]
    # A runtime copy of each array on this process's devices (its sharding kept): unlike
    # jnp.array(a, copy=True) nothing is compiled (that cost ~0.3 s per fit call on the digits CNN,
    # one copy kernel per leaf shape). Arrays spanning several processes (and tracers) are copied by
    # jnp.array, which every process runs alike.
    for i, copy in zip(local, jax.device_put([leaves[i] for i in local], may_alias=False)):
        leaves[i] = copy
    for i, a in enumerate(leaves):
        if isinstance(a, jax.Array) and i not in local:
            leaves[i] = jnp.array(a, copy=True)
    return jax.tree.unflatten(treedef, leaves)


def _is_local_array(a: Any) -> bool:
    return isinstance(a, jax.Array) and not isinstance(a, jax.core.Tracer) and a.is_fully_addressable
