"""Each landscape: jittable, its gradient right, its minima where the docstring says."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab.lab import LANDSCAPES, local_minimum, plateau, ravine, rosenbrock, saddle

ALL = sorted(LANDSCAPES)


def _f64(name):
    return LANDSCAPES[name]()


@pytest.mark.parametrize("name", ALL)
def test_gradient_matches_finite_differences(name):
    land = _f64(name)
    with jax.enable_x64(True):
        for w in (np.asarray(land.start), np.asarray(land.start) * 0.5 + 0.1):
            grad = np.asarray(jax.grad(land.loss)(jnp.asarray(w)))
            h = 1e-6
            numeric = [
                (float(land.loss(jnp.asarray(w + h * e))) - float(land.loss(jnp.asarray(w - h * e)))) / (2 * h)
                for e in np.eye(2)
            ]
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ALL)
def test_minimizers_are_minima_with_the_stated_value(name):
    land = _f64(name)
    assert land.minimizers, "every landscape states its minima"
    with jax.enable_x64(True):
        for i, point in enumerate(land.minimizers):
            w = jnp.asarray(point, jnp.float64)
            np.testing.assert_allclose(np.asarray(jax.grad(land.loss)(w)), 0.0, atol=1e-9)
            assert np.all(np.linalg.eigvalsh(np.asarray(jax.hessian(land.loss)(w))) > 0)
            value = float(land.loss(w))
            if i == 0:
                np.testing.assert_allclose(value, land.minimum, atol=1e-12)
            assert value >= land.minimum - 1e-12
        # No point of the plotting box is below the stated global minimum.
        x0, x1, y0, y1 = land.extent
        xs, ys = np.meshgrid(np.linspace(x0, x1, 201), np.linspace(y0, y1, 201))
        values = jax.vmap(land.loss)(jnp.stack([xs.ravel(), ys.ravel()], axis=1))
        assert float(values.min()) >= land.minimum - 1e-12


@pytest.mark.parametrize("name", ALL)
def test_jit_gives_the_same_loss(name):
    land = _f64(name)
    w = jnp.asarray(land.start, jnp.float32)
    assert float(jax.jit(land.loss)(w)) == pytest.approx(float(land.loss(w)), rel=1e-6)


def test_local_minimum_has_a_poor_minimum_beside_the_global_one():
    land = local_minimum(tilt=0.5)
    good, poor = land.minimizers
    assert good[0] < 0 < poor[0]
    assert float(land.loss(jnp.asarray(poor))) > land.minimum + 0.5  # clearly worse


def test_saddle_point_is_a_saddle():
    land = saddle(curvature=10.0)
    eig = np.linalg.eigvalsh(np.asarray(jax.hessian(land.loss)(jnp.zeros(2))))
    assert eig[0] < 0 < eig[1]
    assert float(land.loss(jnp.zeros(2))) > land.minimum


def test_rotated_ravine_is_the_same_quadratic_turned():
    flat, turned = ravine(50.0), ravine(50.0, angle=30.0)
    with jax.enable_x64(True):
        eig_flat = np.linalg.eigvalsh(np.asarray(jax.hessian(flat.loss)(jnp.zeros(2, jnp.float64))))
        hess = np.asarray(jax.hessian(turned.loss)(jnp.zeros(2, jnp.float64)))
    np.testing.assert_allclose(np.linalg.eigvalsh(hess), eig_flat, rtol=1e-12)
    assert abs(hess[0, 1]) > 1.0  # not axis-aligned any more
    assert float(turned.loss(jnp.asarray(turned.start))) == pytest.approx(float(flat.loss(jnp.asarray(flat.start))))


def test_plateau_is_flat_far_from_the_well():
    land = plateau()
    g = np.asarray(jax.grad(land.loss)(jnp.asarray(land.start)))
    assert 0 < np.linalg.norm(g) < 0.05


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ravine(-1.0), "condition_number must be > 0, got -1"),
        (lambda: ravine(50.0, angle=float("nan")), "angle must be finite"),
        (lambda: saddle(0.0), "curvature must be > 0, got 0"),
        (lambda: local_minimum(2.0), "tilt must be < 1.5"),
        (lambda: rosenbrock(b=-1.0), "b must be > 0"),
        (lambda: plateau(0.0), "width must be > 0"),
    ],
)
def test_bad_parameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()
