"""Eager argument validation.

Every factory in optlab validates its hyperparameters when it is called, before anything is traced,
and raises ``ValueError`` naming the argument and the offending value (in the spirit of
``torch.optim``'s ``ValueError("Invalid learning rate: ...")``). Values that are JAX tracers (a
factory called inside ``jit``, e.g. through ``optax.inject_hyperparams``) cannot be inspected and
are accepted as they are.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import jax
import numpy as np

Schedule = Callable[[Any], Any]


def _is_tracer(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def real_scalar(value: Any, name: str) -> float:
    """Return ``value`` as a Python float if it is a finite real scalar, else raise ``ValueError``."""
    if value is None or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, numbers.Real):
        result = float(value)
    else:
        try:
            array = np.asarray(value)
        except Exception as error:  # e.g. an object numpy cannot convert
            raise ValueError(f"{name} must be a real number, got {value!r}") from error
        if array.shape != () or array.dtype.kind not in "iuf":
            raise ValueError(
                f"{name} must be a real scalar, got {value!r} "
                f"(shape {array.shape}, dtype {array.dtype})"
            )
        result = float(array)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def non_negative(value: Any, name: str) -> Any:
    """A finite real scalar ``>= 0`` (tracers pass through)."""
    if _is_tracer(value):
        return value
    if real_scalar(value, name) < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def positive(value: Any, name: str) -> Any:
    """A finite real scalar ``> 0`` (tracers pass through)."""
    if _is_tracer(value):
        return value
    if real_scalar(value, name) <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def unit_interval(value: Any, name: str) -> Any:
    """A finite real scalar in ``[0, 1)``: decay rates such as rho, b1, b2."""
    if _is_tracer(value):
        return value
    number = real_scalar(value, name)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def positive_int(value: Any, name: str) -> int:
    """A Python/NumPy integer ``> 0`` (step counts, periods)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(value: Any, name: str) -> int:
    """A Python/NumPy integer ``>= 0``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def int_at_least(value: Any, name: str, minimum: int) -> int:
    """A Python/NumPy integer ``>= minimum`` (epochs, patience, counts, sizes)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def learning_rate(value: Any, name: str = "learning_rate") -> Any:
    """A learning rate: a finite scalar ``>= 0`` or a schedule (callable of the step count).

    A schedule is checked at step 0: its value there must be a finite scalar ``>= 0``.
    """
    if callable(value):
        first = value(0)
        if not _is_tracer(first):
            non_negative(np.asarray(first), f"{name}(0)")
        return value
    return non_negative(value, name)


def value_or_schedule(value: Any, name: str) -> Any:
    """A finite real scalar or a callable of the step (for schedule composition)."""
    if callable(value):
        return value
    if _is_tracer(value):
        return value
    real_scalar(value, name)
    return value


def one_of(value: Any, name: str, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def tree_match(
    tree: Any, reference: Any, *, name: str, reference_name: str, shapes: bool = True
) -> None:
    """Raise ``ValueError`` naming the path if ``tree`` and ``reference`` differ in structure or shapes.

    optlab never broadcasts a gradient into a parameter: a leaf of shape ``(1,)`` where the
    parameter has shape ``(3,)`` is an error, not a silent broadcast.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    ref_leaves, ref_treedef = jax.tree_util.tree_flatten_with_path(reference)
    if treedef != ref_treedef:
        paths = {jax.tree_util.keystr(path) for path, _ in leaves}
        ref_paths = {jax.tree_util.keystr(path) for path, _ in ref_leaves}
        missing = sorted(ref_paths - paths)
        unexpected = sorted(paths - ref_paths)
        detail = []
        if missing:
            detail.append(f"missing {', '.join(name + p for p in missing)}")
        if unexpected:
            detail.append(f"unexpected {', '.join(name + p for p in unexpected)}")
        if not detail:
            detail.append(f"{name} has structure {treedef}, {reference_name} has {ref_treedef}")
        raise ValueError(
            f"{name} tree does not match {reference_name}: " + "; ".join(detail)
        )
    if not shapes:
        return
    for (path, leaf), (_, ref_leaf) in zip(leaves, ref_leaves):
        shape, ref_shape = np.shape(leaf), np.shape(ref_leaf)
        if shape != ref_shape:
            where = jax.tree_util.keystr(path)
            raise ValueError(
                f"{name}{where} has shape {shape} but {reference_name}{where} has shape "
                f"{ref_shape}; optlab never broadcasts updates"
            )
