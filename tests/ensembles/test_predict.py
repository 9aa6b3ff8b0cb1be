"""predict and evaluate against NumPy (float64) for every way of combining members."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _ensemble_helpers import Tiny

from optlab.ensembles import Members, evaluate, predict, stack_members

K, N = 3, 50


@pytest.fixture(scope="module")
def setup(small_digits):
    (x, y), _ = small_digits
    model = Tiny(batch_norm=True)
    variables = [model.init(jax.random.key(k), jnp.zeros((1, 8, 8, 1))) for k in range(K)]
    # non-trivial statistics, so the members' model_state matters
    members = [
        (v["params"], {"batch_stats": jax.tree.map(lambda s, k=k: s + 0.1 * (k + 1), v["batch_stats"])})
        for k, v in enumerate(variables)
    ]
    logits = np.stack([np.asarray(model.apply({"params": p, **s}, x[:N]), np.float64) for p, s in members])
    return model, members, x[:N], y[:N], logits


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def reference(logits, combine):
    if combine == "mean_probs":
        return softmax(logits).mean(axis=0)
    if combine == "mean_logits":
        return softmax(logits.mean(axis=0))
    votes = np.zeros(logits.shape[1:])
    for k in range(logits.shape[0]):
        votes[np.arange(logits.shape[1]), logits[k].argmax(-1)] += 1
    return votes / logits.shape[0]


@pytest.mark.parametrize("combine", ["mean_probs", "mean_logits", "vote"])
def test_combinations_match_numpy(setup, combine):
    model, members, x, _, logits = setup
    got = np.asarray(predict(model.apply, members, x, combine=combine, batch_size=16))  # 4 batches, the last short
    np.testing.assert_allclose(got, reference(logits, combine), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)


def test_list_and_stacked_members_agree(setup):
    model, members, x, _, _ = setup
    stacked = stack_members(members)
    assert isinstance(stacked, Members) and stacked.size == K
    np.testing.assert_array_equal(predict(model.apply, members, x), predict(model.apply, stacked, x))


def test_params_only_members(small_digits):
    (x, _), _ = small_digits
    model = Tiny()
    params = [model.init(jax.random.key(k), jnp.zeros((1, 8, 8, 1)))["params"] for k in range(2)]
    logits = np.stack([np.asarray(model.apply({"params": p}, x[:N]), np.float64) for p in params])
    np.testing.assert_allclose(predict(model.apply, params, x[:N]), reference(logits, "mean_probs"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("combine", ["mean_probs", "mean_logits", "vote"])
def test_evaluate_reports_accuracy_and_nll(setup, combine):
    model, members, x, y, logits = setup
    probs = reference(logits, combine)
    got = evaluate(model.apply, members, (x, y), combine=combine)
    assert got["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == y))
    with np.errstate(divide="ignore"):
        nll = np.mean(-np.log(probs[np.arange(N), y]))
    assert got["nll"] == pytest.approx(nll, rel=1e-5)


def test_an_ensemble_beats_its_members_in_nll_on_average(setup):
    """Jensen: -log of the mean probability <= the mean of the members' -log probabilities."""
    model, members, x, y, _ = setup
    single = [evaluate(model.apply, [m], (x, y))["nll"] for m in members]
    assert evaluate(model.apply, members, (x, y))["nll"] <= np.mean(single) + 1e-9


def test_bad_input_names_the_argument(setup):
    model, members, x, y, _ = setup
    with pytest.raises(ValueError, match="combine"):
        predict(model.apply, members, x, combine="median")
    with pytest.raises(ValueError, match="members"):
        predict(model.apply, [], x)
    other = Tiny(batch_norm=True).init(jax.random.key(0), jnp.zeros((1, 8, 8, 2)))
    with pytest.raises(ValueError, match="members.*differ"):
        predict(model.apply, [members[0], (other["params"], {"batch_stats": other["batch_stats"]})], x)
    with pytest.raises(ValueError, match="members"):
        predict(model.apply, [members[0], members[1][0]], x)
    with pytest.raises(ValueError, match="x"):
        predict(model.apply, members, np.full((2, 8, 8, 1), np.nan, np.float32))
    with pytest.raises(ValueError, match="data"):
        evaluate(model.apply, members, (x, y + 10))
