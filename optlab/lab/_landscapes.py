"""2-D loss landscapes from the lecture's pictures.

Each landscape is a jittable ``loss(w)`` of ``w`` with shape ``(2,)``, a start point for races, its
global minimum value and its minimizers (known in closed form or, for the tilted double well, from
the roots of a cubic), and a box to draw it in.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks


class Landscape(NamedTuple):
    """A 2-D loss surface.

    Attributes:
      name: a short description with its parameters.
      loss: ``loss(w)`` for ``w`` of shape ``(2,)`` (jittable, differentiable).
      start: where races start.
      minimum: the global minimum value (races report ``loss - minimum``).
      minimizers: the local minima, global first (for the local-minimum landscape the second is
        the poor local minimum).
      extent: ``(x_min, x_max, y_min, y_max)`` for contour plots.
    """

    name: str
    loss: Callable[[jax.Array], jax.Array]
    start: tuple[float, float]
    minimum: float
    minimizers: tuple[tuple[float, float], ...] = ()
    extent: tuple[float, float, float, float] = (-5.0, 5.0, -2.0, 2.0)


def ravine(condition_number: float = 50.0, angle: float = 0.0) -> Landscape:
    r"""An ill-conditioned quadratic :math:`f = \tfrac12 (u^2 + \kappa v^2)`, ``(u, v)`` = ``w`` turned by ``-angle``.

    The lecture's "loss varies swiftly in one direction and slowly in the other" picture: plain SGD
    must keep its step below :math:`2/\kappa` and then crawls along ``u``, jittering across ``v``
    — the case for momentum and per-parameter step sizes. With ``angle = 0`` the ravine is
    axis-aligned and a diagonal preconditioner (AdaGrad, RMSProp, Adam) removes its conditioning
    exactly; turned by 30-45 degrees (``angle`` in degrees) it is the fair test of momentum
    against per-parameter methods. The start is ``(-4, 1)`` in the ravine's own frame, so SGD and
    momentum behave identically at every angle. Minimum 0 at the origin.

    Example:
      >>> import jax.numpy as jnp
      >>> from optlab.lab import ravine
      >>> float(ravine(10.0).loss(jnp.array([1.0, 1.0])))
      5.5
      >>> round(float(ravine(10.0, angle=90).loss(jnp.array([1.0, 0.0]))), 4)
      5.0
    """
    kappa = _checks.positive(condition_number, "condition_number")
    theta = math.radians(_checks.real_scalar(angle, "angle"))
    c, s = math.cos(theta), math.sin(theta)

    def loss(w):
        u = c * w[0] + s * w[1]
        v = -s * w[0] + c * w[1]
        return 0.5 * (u**2 + kappa * v**2)

    start = (c * -4.0 - s * 1.0, s * -4.0 + c * 1.0)
    name = f"ravine(kappa={kappa:g})" if theta == 0 else f"ravine(kappa={kappa:g}, angle={angle:g})"
    return Landscape(name, loss, start, 0.0, ((0.0, 0.0),), (-5.0, 5.0, -3.5, 3.5) if theta else (-5.0, 5.0, -2.0, 2.0))


def saddle(curvature: float = 10.0) -> Landscape:
    r"""A saddle with a way down past it: :math:`f = \tfrac{c}{2} x^2 + \tfrac14 y^4 - \tfrac12 y^2`.

    The lecture's "stuck at a saddle point" picture: the origin is a saddle (curvature ``c`` across,
    ``-1`` along ``y``) and the minima ``(0, +-1)`` with value ``-1/4`` lie past it. Races start
    at ``(1, 1e-3)``: plain gradient descent slides into the saddle and leaves it only as fast as
    ``y`` grows, by a factor ``1 + lr`` per step with ``lr < 2/c``; momentum's accumulated velocity
    carries it through.

    Example:
      >>> import jax.numpy as jnp
      >>> from optlab.lab import saddle
      >>> float(saddle().loss(jnp.array([0.0, 1.0])))
      -0.25
    """
    c = _checks.positive(curvature, "curvature")

    def loss(w):
        return 0.5 * c * w[0] ** 2 + 0.25 * w[1] ** 4 - 0.5 * w[1] ** 2

    return Landscape(f"saddle(curvature={c:g})", loss, (1.0, 1e-3), -0.25, ((0.0, 1.0), (0.0, -1.0)),
                     (-1.5, 1.5, -1.5, 1.5))


def _double_well_minima(tilt: float) -> tuple[float, float]:
    """The two minimizers of ``(x^2 - 1)^2 + tilt*x``: the outer real roots of ``4x^3 - 4x + tilt``."""
    roots = np.sort(np.real(np.roots([4.0, 0.0, -4.0, tilt])))
    return float(roots[0]), float(roots[2])


def local_minimum(tilt: float = 0.5) -> Landscape:
    r"""A poor local minimum beside a better one: :math:`f = (x^2 - 1)^2 + t x + y^2`.

    The lecture's "stuck at a local minimum" picture: the tilt ``t`` (``0 < t < 1.5``) makes the
    well near ``x = -1`` the global minimum and the one near ``x = +1`` a poor local minimum,
    separated by a barrier near ``x = 0``. Races start at ``(1.5, 0.5)``, on the poor side: gradient
    descent with a stable step settles in the poor minimum; momentum's velocity can carry it over.
    ``minimizers`` = (global, poor local); the minimizers are the outer roots of ``4x^3 - 4x + t``.

    Example:
      >>> from optlab.lab import local_minimum
      >>> land = local_minimum()
      >>> [round(x, 3) for x, _ in land.minimizers], round(land.minimum, 3)
      ([-1.057, 0.93], -0.515)
    """
    t = _checks.positive(tilt, "tilt")
    if t >= 1.5:
        raise ValueError(f"tilt must be < 1.5 (two wells), got {tilt!r}")
    good, poor = _double_well_minima(t)

    def loss(w):
        return (w[0] ** 2 - 1.0) ** 2 + t * w[0] + w[1] ** 2

    minimum = (good**2 - 1.0) ** 2 + t * good
    return Landscape(f"local-minimum(tilt={t:g})", loss, (1.5, 0.5), minimum, ((good, 0.0), (poor, 0.0)),
                     (-2.0, 3.0, -1.5, 1.5))


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Landscape:
    r"""Rosenbrock's banana valley :math:`f = (a - x)^2 + b (y - x^2)^2`, minimum 0 at ``(a, a^2)``.

    A curved ravine: steep walls, a flat curved floor (Rosenbrock 1960). Races start at ``(-1.5, 2)``.

    Example:
      >>> import jax.numpy as jnp
      >>> from optlab.lab import rosenbrock
      >>> float(rosenbrock().loss(jnp.array([1.0, 1.0])))
      0.0
    """
    a = _checks.real_scalar(a, "a")
    b = _checks.positive(b, "b")

    def loss(w):
        return (a - w[0]) ** 2 + b * (w[1] - w[0] ** 2) ** 2

    return Landscape(f"rosenbrock(a={a:g}, b={b:g})", loss, (-1.5, 2.0), 0.0, ((a, a * a),),
                     (-2.0, 2.0, -1.0, 3.0))


def plateau(width: float = 1.0) -> Landscape:
    r"""A plateau around a well: :math:`f = 1 - \exp(-(x^2 + y^2) / (2 s^2))`, minimum 0 at the origin.

    Far from the well the surface is almost flat (gradient :math:`\propto r e^{-r^2/2s^2}`), the
    lecture's point that small gradients mean slow progress for plain SGD; per-parameter methods
    divide by the gradient's size and cross it. Races start at ``(2.5, 1.5)`` (in units of ``s``).

    Example:
      >>> import jax.numpy as jnp
      >>> from optlab.lab import plateau
      >>> float(plateau().loss(jnp.zeros(2)))
      0.0
    """
    s = _checks.positive(width, "width")

    def loss(w):
        return 1.0 - jnp.exp(-(w[0] ** 2 + w[1] ** 2) / (2.0 * s * s))

    return Landscape(f"plateau(width={s:g})", loss, (2.5 * s, 1.5 * s), 0.0, ((0.0, 0.0),),
                     (-3.5 * s, 3.5 * s, -2.5 * s, 2.5 * s))


LANDSCAPES: dict[str, Callable[[], Landscape]] = {
    "ravine": ravine,
    "rotated-ravine": lambda: ravine(50.0, angle=30.0),
    "saddle": saddle,
    "local-minimum": local_minimum,
    "rosenbrock": rosenbrock,
    "plateau": plateau,
}
"""The landscapes by their command-line names, each with its default parameters."""
