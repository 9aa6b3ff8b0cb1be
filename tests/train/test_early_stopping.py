import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab.train import EarlyStopping

NAN = math.nan


def run_jit(es, metrics, params_seq=None):
    step = jax.jit(lambda e, m, p: e.update(m, p))
    history = []
    for i, m in enumerate(metrics):
        es = step(es, jnp.float32(m), None if params_seq is None else params_seq[i])
        history.append(bool(es.should_stop))
    return es, history


def test_patience_rule_exact_under_jit():
    # improvements at calls 0 and 1; calls 2, 3 are not better -> wait hits 2 at call 3.
    es, stops = run_jit(EarlyStopping(patience=2), [3.0, 2.0, 2.5, 2.0, 1.0])
    assert stops == [False, False, False, True, True]  # sticky, even after the late improvement
    assert int(es.best_step) == 4 and float(es.best_metric) == 1.0  # tracking goes on
    es3, stops3 = run_jit(EarlyStopping(patience=3), [3.0, 2.0, 2.5, 2.0])
    assert stops3 == [False] * 4 and int(es3.wait) == 2


def test_min_delta_requires_strict_margin():
    es, stops = run_jit(EarlyStopping(patience=2, min_delta=0.5), [3.0, 2.6, 2.5, 1.9])
    # 2.6 and 2.5 are within 0.5 of 3.0 -> no improvement, patience fires at call 2
    assert stops == [False, False, True, True]
    assert float(es.best_metric) == pytest.approx(1.9) and int(es.best_step) == 3


def test_max_mode_for_accuracy():
    es, stops = run_jit(EarlyStopping(patience=1, mode="max"), [0.5, 0.7, 0.6])
    assert stops == [False, False, True]
    assert float(es.best_metric) == pytest.approx(0.7) and int(es.best_step) == 1


@pytest.mark.parametrize("mode", ["min", "max"])
def test_nan_is_never_best(mode):
    es, _ = run_jit(EarlyStopping(patience=5, mode=mode), [NAN, 1.0, NAN, NAN])
    assert int(es.best_step) == 1 and float(es.best_metric) == 1.0
    assert int(es.wait) == 2
    es0, _ = run_jit(EarlyStopping(patience=5, mode=mode), [NAN])
    assert int(es0.best_step) == -1 and not bool(es0.improved)


def test_best_params_restorable_without_patience_firing():
    params = [{"w": jnp.full((2,), float(i))} for i in range(4)]
    es, stops = run_jit(EarlyStopping(patience=10), [4.0, 1.0, 2.0, 3.0], params)
    assert not any(stops)
    np.testing.assert_array_equal(es.best_params["w"], [1.0, 1.0])


def test_scan_matches_python_loop():
    metrics = jnp.array([5.0, 4.0, 4.5, NAN, 3.0, 3.5, 3.6], jnp.float32)
    init = EarlyStopping(patience=2, min_delta=0.1)
    final, stops = jax.lax.scan(lambda e, m: (e.update(m), e.update(m).should_stop), init, metrics)
    ref, ref_stops = run_jit(init, list(np.asarray(metrics)))
    assert list(np.asarray(stops)) == ref_stops
    assert int(final.best_step) == int(ref.best_step) == 4


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"patience": 0}, "patience must be an int >= 1, got 0"),
        ({"patience": 2.5}, "patience must be an int >= 1, got 2.5"),
        ({"patience": 2, "min_delta": -0.1}, "min_delta must be a float >= 0, got -0.1"),
        ({"patience": 2, "min_delta": NAN}, "min_delta must be a float >= 0, got nan"),
        ({"patience": 2, "mode": "best"}, "mode must be 'min' or 'max', got 'best'"),
    ],
)
def test_arguments_validated_eagerly(kwargs, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        EarlyStopping(**kwargs)
