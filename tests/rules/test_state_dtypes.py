"""Optimizer state in a chosen dtype (mu_dtype, accumulator_dtype, nu_dtype): exact, validated,
and usable with TrainState, FlatTrainState, checkpoints and set_learning_rate."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _registry import RULES

import optlab
from optlab.train import Checkpoints, FlatTrainState, TargetMismatchError, TrainState

STATE_ARGS = sorted({(rule.make, field.arg, field.real) for rule in RULES for field in rule.state_dtypes},
                    key=lambda case: (case[0].__name__, case[1]))
STATE_ARG_IDS = [f"{make.__name__}-{arg}" for make, arg, _ in STATE_ARGS]


def _field(state, name):
    (node,) = [s for s in jax.tree_util.tree_leaves(state, is_leaf=lambda s: hasattr(s, name)) if hasattr(s, name)]
    return getattr(node, name)


@pytest.mark.parametrize(("make", "arg", "real"), STATE_ARGS, ids=STATE_ARG_IDS)
@pytest.mark.parametrize("bad", ["int32", jnp.int8, bool, "no-such-dtype", True, 3, object()], ids=lambda bad: type(bad).__name__ if type(bad) is object else repr(bad))
def test_bad_state_dtype_names_the_argument(make, arg, real, bad):
    with pytest.raises(ValueError, match=rf"^{arg} must be a floating"):
        make(0.1, **{arg: bad})


@pytest.mark.parametrize(("make", "arg", "real"), STATE_ARGS, ids=STATE_ARG_IDS)
def test_complex_dtype_only_for_first_moments(make, arg, real):
    if real:  # |g|^2 is real: a complex second-moment dtype is refused when the optimizer is built
        with pytest.raises(ValueError, match=rf"^{arg} must be a floating dtype or None, got "):
            make(0.1, **{arg: jnp.complex64})
    else:  # a real dtype for a complex leaf's first moment would drop its imaginary part
        tx = make(0.1, **{arg: "float32"})
        params = {"a": jnp.ones(2), "z": jnp.ones(2, jnp.complex64)}
        with pytest.raises(ValueError, match=rf"^{arg}=float32 cannot hold the complex moment of params\['z'\]"):
            tx.init(params)


def test_dtype_class_under_inject_hyperparams_explains_the_fix():
    with pytest.raises(ValueError, match=r"mu_dtype='bfloat16'\) or list 'mu_dtype' in static_args"):
        optax.inject_hyperparams(optlab.adam)(0.1, mu_dtype=jnp.bfloat16).init(jnp.ones(2))
    state = optax.inject_hyperparams(optlab.adam)(0.1, mu_dtype="bfloat16").init(jnp.ones(2))
    assert state.inner_state[0].mu.dtype == jnp.bfloat16


def test_float64_state_dtype_follows_x64():
    """Like optax: the dtype is canonicalized (float64 is float32 unless x64 is on), at init."""
    tx = optlab.adam(0.1, nu_dtype=jnp.float64)
    assert tx.init(jnp.ones(2, jnp.bfloat16))[0].nu.dtype == jnp.float32
    with jax.enable_x64(True):
        assert tx.init(jnp.ones(2, jnp.bfloat16))[0].nu.dtype == jnp.float64


# --- numerics: math in float32, only the stored state is rounded ---------------------------------

B1, B2, EPS, LR, STEPS = 0.9, 0.999, 1e-8, 0.05, 20
_rng = np.random.default_rng(3)
W0 = _rng.normal(size=7)
GRADS = [_rng.normal(size=7) for _ in range(STEPS)]


def adam_with_bf16_mu_reference():
    """Adam in float64 whose stored first moment is rounded to bfloat16 after every step."""
    w, m, v, out = W0.copy(), np.zeros(7), np.zeros(7), []
    for t, g in enumerate(GRADS, start=1):
        m = (B1 * m + (1 - B1) * g).astype(jnp.bfloat16).astype(np.float64)
        v = B2 * v + (1 - B2) * g**2
        w = w - LR * (m / (1 - B1**t)) / (np.sqrt(v / (1 - B2**t)) + EPS)
        out.append(w)
    return np.stack(out)


def run_adam(**kwargs):
    tx = optlab.adam(LR, **kwargs)
    params = jnp.asarray(W0, jnp.float32)
    state, out = tx.init(params), []
    step = jax.jit(tx.update)
    for g in GRADS:
        updates, state = step(jnp.asarray(g, jnp.float32), state, params)
        params = optlab.apply_updates(params, updates)
        out.append(np.asarray(params, np.float64))
    return np.stack(out), state


def test_bf16_first_moment_is_float32_math_with_bf16_storage():
    got, state = run_adam(mu_dtype=jnp.bfloat16)
    assert state[0].mu.dtype == jnp.bfloat16 and state[0].nu.dtype == jnp.float32
    expected = adam_with_bf16_mu_reference()
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-7)
    # ... and the rounding is real: float32 moments give a different trajectory.
    plain, _ = run_adam()
    assert np.abs(plain - expected).max() > 1e-5


STATEFUL = [rule for rule in RULES if rule.state_dtypes]


@pytest.mark.parametrize("rule", STATEFUL, ids=[rule.name for rule in STATEFUL])
def test_float32_state_for_bf16_params_is_the_float32_state(rule):
    """bf16 params, float32 state: the state is exactly the float32 run's, the updates bf16."""
    params16 = {"w": jnp.asarray(W0, jnp.bfloat16)}
    params32 = jax.tree_util.tree_map(lambda p: p.astype(jnp.float32), params16)
    tx32, tx16 = rule.build(LR), rule.build(LR, **{f.arg: jnp.float32 for f in rule.state_dtypes})
    s32, s16 = tx32.init(params32), tx16.init(params16)
    for g in GRADS[:5]:
        g16 = {"w": jnp.asarray(g, jnp.bfloat16)}
        u32, s32 = tx32.update(jax.tree_util.tree_map(lambda x: x.astype(jnp.float32), g16), s32, params32)
        u16, s16 = tx16.update(g16, s16, params16)
    for field in rule.state_dtypes:
        assert _field(s16, field.field)["w"].dtype == jnp.float32
        np.testing.assert_array_equal(_field(s16, field.field)["w"], _field(s32, field.field)["w"])
    assert u16["w"].dtype == jnp.bfloat16  # two roundings (block output, then lr scaling): 2 ulp
    np.testing.assert_allclose(np.asarray(u16["w"], np.float32), u32["w"], rtol=2**-7)


# --- the training layer --------------------------------------------------------------------------

PARAMS = {"b": jnp.linspace(-1.0, 1.0, 3), "w": jnp.arange(6.0).reshape(2, 3) / 6}


def loss_fn(params):
    return jnp.sum(jnp.sin(3.0 * params["w"]) ** 2) + jnp.sum(jnp.cosh(params["b"]))


@jax.jit
def train_step(state):
    _, grads = state.value_and_grad(loss_fn)
    return state.apply_gradients(grads=grads)


def _moments(opt_state):
    return opt_state[0].mu, opt_state[0].nu


def test_flat_train_state_equals_tree_state_with_bf16_moments():
    tx = optlab.adam(0.05, mu_dtype=jnp.bfloat16)
    tree, flat = TrainState.create(apply_fn=None, params=PARAMS, tx=tx), FlatTrainState.create(
        apply_fn=None, params=PARAMS, tx=tx
    )
    mu, nu = _moments(flat.opt_state)
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree_util.tree_leaves(mu))
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(nu))
    for _ in range(4):
        tree, flat = train_step(tree), train_step(flat)
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), flat.params, tree.params
    )
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree_util.tree_leaves(_moments(flat.opt_state)[0]))
    assert float(jnp.abs(flat.params["w"] - PARAMS["w"]).max()) > 1e-2


def _optimized(state):
    """The arrays the optimizer state is shaped like: the flat buffers or the parameter tree."""
    return state.flat_params if isinstance(state, FlatTrainState) else state.params


@pytest.mark.parametrize("state_type", [TrainState, FlatTrainState], ids=["tree", "flat"])
def test_set_learning_rate_keeps_state_dtypes_and_does_not_recompile(state_type):
    tx = optlab.momentum(0.1, accumulator_dtype="bfloat16")
    state = state_type.create(apply_fn=None, params=PARAMS, tx=tx)
    step = jax.jit(lambda s: s.apply_gradients(grads=s.value_and_grad(loss_fn)[1]))
    state = step(state)
    state = state.replace(opt_state=optlab.set_learning_rate(state.opt_state, 0.01))
    before = _optimized(state)
    state = step(state)
    assert step._cache_size() == 1
    assert float(optlab.current_learning_rate(state.opt_state)) == pytest.approx(0.01)
    velocity = state.opt_state[0].velocity
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree_util.tree_leaves(velocity))
    # The new lr is the one used, on the velocity as stored (bf16): w <- w - 0.01 v.
    expected = jax.tree_util.tree_map(lambda w, v: w - 0.01 * v.astype(jnp.float32), before, velocity)
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), _optimized(state), expected
    )


@pytest.mark.parametrize("state_type", [TrainState, FlatTrainState], ids=["tree", "flat"])
def test_checkpoint_round_trip_keeps_state_dtypes_and_resumes_bit_exactly(tmp_path, state_type):
    def create(tx):
        return state_type.create(apply_fn=None, params=PARAMS, tx=tx)

    tx = optlab.adam(0.05, mu_dtype=jnp.bfloat16, nu_dtype=jnp.float32)
    state = train_step(train_step(create(tx)))
    with Checkpoints(tmp_path) as ckpt:
        ckpt.save(2, {"state": state})
        restored = ckpt.restore_latest({"state": create(tx)}).tree["state"]
        with pytest.raises(TargetMismatchError, match=r"\.mu.*bfloat16.*float32"):
            ckpt.restore_latest({"state": create(optlab.adam(0.05))})  # f32 moments: not the saved bf16
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree_util.tree_leaves(_moments(restored.opt_state)[0]))
    jax.tree_util.tree_map(np.testing.assert_array_equal, restored, state)
    jax.tree_util.tree_map(np.testing.assert_array_equal, train_step(restored), train_step(state))


def test_bf16_second_moment_stalls_as_documented():
    """README/docstring claim: with b2 = 0.999 a bf16 nu stops moving (|g| = 1: at 0.25, not ~0.95).

    bf16 parameters get a bf16 nu by default (as in optax and torch); nu_dtype=float32 fixes it.
    """

    def final_nu(param_dtype, nu_dtype):
        tx = optlab.adam_scaling(nu_dtype=nu_dtype)
        g = jnp.ones(1, param_dtype)
        state = jax.lax.fori_loop(0, 3000, lambda _, s: tx.update(g, s)[1], tx.init(g))
        return float(state.nu[0])

    exact = 1 - 0.999**3000
    assert final_nu(jnp.float32, None) == pytest.approx(exact, rel=1e-4)
    assert final_nu(jnp.float32, jnp.bfloat16) < 0.5
    assert final_nu(jnp.bfloat16, None) < 0.5
    assert final_nu(jnp.bfloat16, jnp.float32) == pytest.approx(exact, rel=1e-4)


def test_complex_params_train_in_train_state_and_flat_state_refuses_them_by_path():
    params = {"z": jnp.array([1.0 + 1.0j, -2.0j], jnp.complex64)}
    state = TrainState.create(apply_fn=None, params=params, tx=optlab.adam(0.1))
    for _ in range(3):  # pull z towards 0: descent direction conj(grad) of |z|^2
        _, grads = state.value_and_grad(lambda p: jnp.sum(jnp.abs(p["z"]) ** 2))
        state = state.apply_gradients(grads=jax.tree_util.tree_map(jnp.conj, grads))
    assert state.params["z"].dtype == jnp.complex64 and state.opt_state[0].nu["z"].dtype == jnp.float32
    assert bool(jnp.all(jnp.abs(state.params["z"]) < jnp.abs(params["z"])))
    with pytest.raises(ValueError, match=r"params\['z'\] has dtype complex64; flat buffers hold floating-point"):
        FlatTrainState.create(apply_fn=None, params=params, tx=optlab.adam(0.1))


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_complex_gradient_for_a_real_parameter_names_the_path(rule):
    tx = rule.build(0.1)
    params = {"a": jnp.ones(2), "b": jnp.ones(2)}
    grads = {"a": jnp.ones(2), "b": jnp.ones(2, jnp.complex64)}
    with pytest.raises(ValueError, match=r"^grads\['b'\] is complex64 but params\['b'\] is float32"):
        tx.update(grads, tx.init(params), params)


FIRST_MOMENT_BLOCKS = {
    "momentum_trace": optlab.momentum_trace(),
    "nesterov_trace": optlab.momentum_trace(nesterov=True),
    "adam_scaling": optlab.adam_scaling(),
}


@pytest.mark.parametrize("block", list(FIRST_MOMENT_BLOCKS.values()), ids=list(FIRST_MOMENT_BLOCKS))
def test_complex_gradient_for_a_real_first_moment_is_refused_without_params(block):
    state = block.init({"a": jnp.ones(2)})
    with pytest.raises(ValueError, match=r"^a complex gradient \(complex64\) for an optimizer state of dtype float32"):
        block.update({"a": jnp.ones(2, jnp.complex64)}, state)


def test_apply_updates_refuses_a_complex_update_for_a_real_parameter():
    """Second-moment rules cannot tell without params (their state is real either way): caught here."""
    tx = optlab.rmsprop(0.1)
    params = {"a": jnp.ones(2)}
    updates, _ = tx.update({"a": jnp.ones(2, jnp.complex64)}, tx.init(params))
    with pytest.raises(ValueError, match=r"^updates\['a'\] is complex64 but params\['a'\] is float32"):
        optlab.apply_updates(params, updates)
