"""2-D loss landscapes from the lecture's pictures."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks


class Landscape(NamedTuple):
    """A 2-D loss surface: ``loss(w)`` for ``w`` of shape (2,), where races start, and its minimum value."""

    name: str
    loss: Callable[[jax.Array], jax.Array]
    start: tuple[float, float]
    minimum: float


def ravine(condition_number: float = 50.0) -> Landscape:
    r"""An ill-conditioned quadratic :math:`f(x, y) = \tfrac12 (x^2 + \kappa y^2)`.

    The loss "varies swiftly in one direction and slowly in the other": plain SGD must keep its
    step below :math:`2/\kappa` and then crawls along ``x``, jittering across ``y`` — the lecture's
    case for momentum and per-parameter step sizes.

    Example:
      >>> import jax.numpy as jnp
      >>> from optlab.lab import ravine
      >>> float(ravine(10.0).loss(jnp.array([1.0, 1.0])))
      5.5
    """
    kappa = _checks.positive(condition_number, "condition_number")

    def loss(w):
        return 0.5 * (w[0] ** 2 + kappa * w[1] ** 2)

    return Landscape(name=f"ravine(kappa={kappa:g})", loss=loss, start=(-4.0, 1.0), minimum=0.0)
