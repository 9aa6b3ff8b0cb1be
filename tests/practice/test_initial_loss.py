"""check_initial_loss: log C at init, named causes when off, bad input named."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optlab.practice import check_initial_loss


def test_fresh_digits_cnn_passes(cnn, digits):
    _, params, loss_fn = cnn
    result = check_initial_loss(loss_fn, params, digits.train.x[:256], digits.train.y[:256])
    assert result.ok, result.message
    assert result.expected == pytest.approx(math.log(10))  # read from the logits' width
    assert result.relative_error == pytest.approx(abs(result.loss - math.log(10)) / math.log(10))
    assert "matches" in result.message


def test_final_layer_scaled_100x_fails_naming_the_init_scale(cnn, digits):
    model, params, loss_fn = cnn
    last = sorted(k for k in params if k.startswith("Dense"))[-1]
    scaled = {**params, last: jax.tree.map(lambda a: 100.0 * a, params[last])}
    result = check_initial_loss(loss_fn, scaled, digits.train.x[:256], digits.train.y[:256], num_classes=10)
    assert not result.ok
    assert result.loss > 3 * math.log(10)
    assert "final layer" in result.message and "initialization scale" in result.message
    assert result.output_std > 10 * check_initial_loss(
        loss_fn, params, digits.train.x[:256], digits.train.y[:256]
    ).output_std


def _leaky_loss(params, x, y, rng):
    """A model that sees its labels: loss far below chance."""
    logits = 10.0 * jax.nn.one_hot(y, 10) + 0.0 * params["w"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits


def test_loss_far_below_chance_names_a_label_leak():
    x, y = np.zeros((20, 3), np.float32), np.arange(20) % 10
    result = check_initial_loss(_leaky_loss, {"w": jnp.zeros(())}, x, y)
    assert not result.ok
    assert result.loss < 0.1
    assert "label leak" in result.message and "wrong loss" in result.message


def test_expected_and_tolerance_are_used():
    x, y = np.zeros((20, 3), np.float32), np.arange(20) % 10
    result = check_initial_loss(_leaky_loss, {"w": jnp.zeros(())}, x, y, expected=0.0005, tolerance=0.5)
    assert result.expected == 0.0005
    assert result.ok == (result.relative_error <= 0.5)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"tolerance": 0.0}, "tolerance"), ({"num_classes": 1}, "num_classes"), ({"expected": -1.0}, "expected")],
)
def test_bad_arguments_are_named(kwargs, name):
    x, y = np.zeros((4, 3), np.float32), np.arange(4)
    with pytest.raises(ValueError, match=name):
        check_initial_loss(_leaky_loss, {"w": jnp.zeros(())}, x, y, **kwargs)


def test_bad_data_is_named():
    with pytest.raises(ValueError, match=r"check_initial_loss data \(x, y\): x and y"):
        check_initial_loss(_leaky_loss, {"w": jnp.zeros(())}, np.zeros((4, 3)), np.arange(3))
    with pytest.raises(ValueError, match=r"y\[3\] = 12"):
        check_initial_loss(_leaky_loss, {"w": jnp.zeros(())}, np.zeros((4, 3)), np.array([0, 1, 2, 12]), num_classes=10)


def test_classifier_labels_checked_against_the_logits(cnn, digits):
    _, params, loss_fn = cnn
    y = np.array(digits.train.y[:16])
    y[2] = 12
    with pytest.raises(ValueError, match=r"must lie in \[0, 10\).*y\[2\] = 12"):
        check_initial_loss(loss_fn, params, digits.train.x[:16], y)
