"""The two-stage recipe: stage 2 starts from stage 1's head; the caller's arrays; bad data named."""

import jax
import numpy as np
import pytest

import optlab
from optlab.transfer import fine_tuning, two_stage

BACKBONE = "Conv_.*"


def _run(cnn, data, **kwargs):
    model, params = cnn
    return two_stage(
        model.apply, params, data, backbone=BACKBONE, head_tx=optlab.adam(1e-2),
        fine_tune_tx=fine_tuning(BACKBONE, 1e-4, 1e-3), epochs=(2, 1), batch_size=50, progress=False, **kwargs,
    )


def test_stage_two_starts_from_stage_one_head_and_keeps_callers_arrays(cnn, small):
    model, params = cnn
    result = _run(cnn, small)
    start = result.stage2_start
    # the backbone was frozen in stage 1: stage 2 starts from the pretrained one, bit for bit ...
    for a, b in zip(jax.tree.leaves({k: start[k] for k in ("Conv_0", "Conv_1")}),
                    jax.tree.leaves({k: params[k] for k in ("Conv_0", "Conv_1")})):
        np.testing.assert_array_equal(a, b)
    # ... with stage 1's trained head (its best snapshot), not the initial one
    for name in ("Dense_0", "Dense_1"):
        np.testing.assert_array_equal(start[name]["kernel"], result.stage1.best_params[name]["kernel"])
        assert not np.array_equal(start[name]["kernel"], params[name]["kernel"])
    # stage 2 trains the backbone (smaller lr) and continues from the trained head: lower loss than stage 1's start
    assert not np.array_equal(result.params["Conv_0"]["kernel"], params["Conv_0"]["kernel"])
    assert result.stage2.history["train_loss"][0] < result.stage1.history["train_loss"][0]
    # the caller's params stay readable, and a second call from them gives the same bits
    again = _run(cnn, small)
    for a, b in zip(jax.tree.leaves(again.params), jax.tree.leaves(result.params)):
        np.testing.assert_array_equal(a, b)
    assert float(np.sum(params["Conv_0"]["kernel"])) == float(np.sum(cnn[1]["Conv_0"]["kernel"]))


def test_bad_input_is_named_before_training(cnn, small):
    x, y = small
    with pytest.raises(ValueError, match="train_data: class labels y must lie in"):
        _run(cnn, (x, y + 7))
    with pytest.raises(ValueError, match=r"epochs must be a pair"):
        two_stage(cnn[0].apply, cnn[1], small, backbone=BACKBONE, head_tx=optlab.adam(1e-2),
                  fine_tune_tx=optlab.adam(1e-3), epochs=3, batch_size=50)
    with pytest.raises(ValueError, match="fine_tune_tx must be an optax.GradientTransformation"):
        two_stage(cnn[0].apply, cnn[1], small, backbone=BACKBONE, head_tx=optlab.adam(1e-2),
                  fine_tune_tx="adam", epochs=(1, 1), batch_size=50)
    with pytest.raises(ValueError, match=r"rules\[1\] '\.\*' matches no parameter"):
        two_stage(cnn[0].apply, cnn[1], small, backbone=".*", head_tx=optlab.adam(1e-2),
                  fine_tune_tx=optlab.adam(1e-3), epochs=(1, 1), batch_size=50)


def test_few_labels_draws_n_per_class_and_checks_its_data(small):
    from optlab.transfer import few_labels

    x, y = few_labels(*small, n=3, seed=1)
    assert sorted(np.bincount(y)) == [3] * 10 and len(x) == 30
    np.testing.assert_array_equal(few_labels(*small, n=3, seed=1)[1], y)  # a pure function of the seed
    with pytest.raises(ValueError, match="n must be <= the size of the smallest class"):
        few_labels(*small, n=1000, seed=0)
    with pytest.raises(TypeError, match="data: class labels y must be integers"):
        few_labels(small[0], small[1].astype(float), n=3, seed=0)


def test_two_stage_with_batch_norm_hands_over_the_statistics(bn_cnn, small):
    model, params, model_state = bn_cnn
    backbone = "Conv_.*|BatchNorm_.*"
    result = two_stage(
        model.apply, params, small, backbone=backbone, head_tx=optlab.adam(1e-2),
        fine_tune_tx=fine_tuning(backbone, 1e-4, 1e-3), epochs=(1, 1), batch_size=50, model_state=model_state,
        progress=False,
    )
    stage1_stats = result.stage1.best_model_state["batch_stats"]
    # stage 1: frozen BatchNorms in inference mode, their statistics untouched
    for a, b in zip(jax.tree.leaves(stage1_stats), jax.tree.leaves(model_state["batch_stats"])):
        np.testing.assert_array_equal(a, b)
    # stage 2 trains them (nothing frozen any more): the statistics move
    assert not np.array_equal(result.model_state["batch_stats"]["BatchNorm_0"]["mean"],
                              model_state["batch_stats"]["BatchNorm_0"]["mean"])
