"""Drop-in conformance with optax's own optimizer contract, over the registry (tests/_registry.py).

Modelled on optax's common optimizer tests (``optax/_src/alias_test.py``, class ``AliasTest``):
the same problems, dtypes and tolerances, with optlab's rules in place of optax's. Each registry
entry carries the kwargs it solves the problems with (``Rule.solve``) and its state-dtype
arguments (``Rule.state_dtypes``), so there are no ``if name == ...`` branches.

Where optlab deliberately differs from optax it says so here and in the README: a real state dtype
for a complex leaf's first moment is a ``ValueError`` naming the path (optax silently drops the
imaginary part), and second moments are real (optax stores them complex with a zero imaginary part).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _registry import RULE_IDS, RULES

import optlab

STEPS = 10_000  # as AliasTest.test_optimization
TOL = 3e-2  # AliasTest's rtol and atol


def abs_sq(x):
    return jnp.real(x * jnp.conj(x))


def parabola(dtype):
    """optax's ``_setup_parabola``: minimum at (1, -1, 1), times (1 + 1j) for complex dtypes."""
    initial = jnp.array([-1.0, 10.0, 1.0], dtype=dtype)
    final = jnp.array([1.0, -1.0, 1.0], dtype=dtype)
    if jnp.iscomplexobj(initial):
        final = final * (1 + 1j)
    return initial, final, lambda p: jnp.sum(abs_sq(p - final))


def rosenbrock(dtype):
    """optax's ``_setup_rosenbrock``: a = 1 (1 + 1j for complex dtypes), b = 100, from the origin."""
    a = 1.0 + 1.0j if jnp.issubdtype(dtype, jnp.complexfloating) else 1.0
    initial = jnp.array([0.0, 0.0], dtype=dtype)
    final = jnp.array([a, a**2], dtype=dtype)
    return initial, final, lambda p: abs_sq(a - p[0]) + 100.0 * abs_sq(p[1] - p[0] ** 2)


def descent_direction(objective, params):
    """Complex gradients are conjugated before the update (optax's convention, as in AliasTest)."""
    return jax.tree_util.tree_map(jnp.conj, jax.grad(objective)(params))


@pytest.fixture(params=RULES, ids=RULE_IDS)
def rule(request):
    return request.param


# --- convergence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.complex64], ids=["f32", "c64"])
@pytest.mark.parametrize("target", [parabola, rosenbrock], ids=["parabola", "rosenbrock"])
def test_solves_parabola_and_rosenbrock(rule, target, dtype):
    tx = rule.make(**rule.solve)
    initial, final, objective = target(dtype)

    def step(_, carry):
        params, state = carry
        updates, state = tx.update(descent_direction(objective, params), state, params)
        return optlab.apply_updates(params, updates), state

    run = jax.jit(lambda p, s: jax.lax.fori_loop(0, rule.solve_steps, step, (p, s)))
    params, _ = run(initial, tx.init(initial))
    assert params.dtype == dtype
    np.testing.assert_allclose(np.asarray(params), np.asarray(final), rtol=TOL, atol=TOL)


def test_complex_step_does_not_recompile(rule):
    tx = rule.make(**rule.solve)
    initial, _, objective = rosenbrock(jnp.complex64)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(descent_direction(objective, params), state, params)
        return optlab.apply_updates(params, updates), state

    params, state = step(initial, tx.init(initial))
    step(params, state)
    assert step._cache_size() == 1


def test_adamw_default_weight_decay_moves_the_rosenbrock_minimum():
    """Why the registry solves with weight_decay=1e-4 (optax's default): optlab's 1e-2 is torch's."""
    initial, final, objective = rosenbrock(jnp.float32)
    ends = {}
    for wd in (1e-2, 1e-4):
        tx = optlab.adamw(0.1, weight_decay=wd)

        def step(_, carry, tx=tx):
            params, state = carry
            updates, state = tx.update(jax.grad(objective)(params), state, params)
            return optlab.apply_updates(params, updates), state

        ends[wd], _ = jax.jit(lambda p, s, step=step: jax.lax.fori_loop(0, STEPS, step, (p, s)))(
            initial, tx.init(initial)
        )
    assert np.abs(np.asarray(ends[1e-2]) - np.asarray(final)).max() > TOL
    np.testing.assert_allclose(np.asarray(ends[1e-4]), np.asarray(final), rtol=TOL, atol=TOL)


# --- dtypes --------------------------------------------------------------------------------------


def _tree_of(dtypes, values=(1.0, 2.0)):
    """One leaf per dtype: several dtypes in one tree, so one compilation checks them all."""
    return {jnp.dtype(d).name: jnp.array(values, dtype=d) for d in dtypes}


def test_updates_keep_the_gradient_dtype(rule):
    """AliasTest.test_preserve_dtype, for bf16 and f32 leaves (in one tree)."""
    tx = rule.build(0.1)
    params = _tree_of([jnp.bfloat16, jnp.float32])
    grads = jax.grad(lambda p: sum(jnp.sum(x.astype(jnp.float32) ** 2) for x in p.values()))(params)
    updates, _ = jax.jit(tx.update)(grads, jax.jit(tx.init)(params), params)
    for name, leaf in updates.items():
        assert leaf.dtype == grads[name].dtype == params[name].dtype
        assert bool(jnp.all(leaf != 0))


@pytest.mark.parametrize(
    "dtypes",
    [(jnp.float16, jnp.bfloat16, jnp.float32, jnp.complex64), (jnp.float64, jnp.complex128)],
    ids=["f16-bf16-f32-c64", "f64-c128"],
)
def test_state_shape_and_dtype_stable_under_lax_cond(rule, dtypes):
    """AliasTest.test_state_shape_dtype_shard_stability: both branches of lax.cond must agree.

    The parabola of AliasTest on one leaf per dtype (f16, bf16, f32, f64, complex64, complex128;
    the 64-bit ones under x64), so a mixed-dtype state is checked too.
    """
    with jax.enable_x64(jnp.float64 in dtypes):
        tx = rule.build(0.1)
        problems = {jnp.dtype(d).name: parabola(d) for d in dtypes}
        initial = {name: problem[0] for name, problem in problems.items()}

        def objective(params):
            return sum(problems[name][2](p).astype(jnp.float32) for name, p in params.items())

        def step(params, state):
            grads = descent_direction(objective, params)
            pick = jax.random.randint(jax.random.key(0), (), 0, 2) == 0  # not constant-folded
            updates, new_state = jax.lax.cond(
                pick, lambda: tx.update(grads, state, params), lambda: (params, state)
            )
            state = jax.lax.cond(pick, lambda: state, lambda: new_state)
            return optlab.apply_updates(params, updates), state

        # lax.cond checks at trace time that both branches give the same types, so tracing the
        # step (as jit does, without compiling it) is the whole check.
        params, state = jax.eval_shape(lambda: (initial, tx.init(initial)))
        expected = (params, state)
        for _ in range(2):
            params, state = jax.eval_shape(step, params, state)
            assert (params, state) == expected


# --- wrappers and calling conventions ------------------------------------------------------------


def test_multisteps_gives_zero_updates_between_steps(rule):
    """AliasTest.test_gradient_accumulation: a mini-step of optax.MultiSteps changes nothing."""
    tx = optax.MultiSteps(rule.build(0.1), every_k_schedule=4)
    params = _tree_of([jnp.bfloat16, jnp.float32])
    grads = jax.tree_util.tree_map(lambda p: 2 * p, params)
    update = jax.jit(tx.update)
    state = tx.init(params)
    for k in range(4):  # the 4th gradient completes the step: only then do the parameters move
        updates, state = update(grads, state, params)
        for name, leaf in updates.items():
            assert leaf.dtype == params[name].dtype
            if k < 3:
                np.testing.assert_array_equal(leaf, jnp.zeros_like(leaf))
            else:
                assert bool(jnp.all(leaf != 0))


def test_inject_hyperparams_gives_the_same_updates_and_state(rule):
    """AliasTest.test_optimizers_can_be_wrapped_in_inject_hyperparams."""
    tx = rule.build(0.1)
    injected = optax.inject_hyperparams(rule.make)(0.1, **rule.kwargs)
    params = [-jnp.ones((2, 3)), jnp.ones((2, 5, 2))]
    grads = [jnp.ones((2, 3)), -jnp.ones((2, 5, 2))]
    state, state_inj = jax.jit(tx.init)(params), jax.jit(injected.init)(params)
    for _ in range(3):
        updates, state = jax.jit(tx.update)(grads, state, params)
        updates_inj, state_inj = jax.jit(injected.update)(grads, state_inj, params)
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5), updates_inj, updates)
        jax.tree_util.tree_map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5), state_inj.inner_state, state
        )
    assert float(state_inj.hyperparams["learning_rate"]) == pytest.approx(0.1)


def test_update_accepts_extra_keyword_arguments(rule):
    """AliasTest.test_optimizers_accept_extra_args: unknown kwargs to update are ignored."""
    tx = rule.build(0.1)
    params, _, objective = rosenbrock(jnp.float32)
    grads = jax.grad(objective)(params)
    state = tx.init(params)
    extra = {"unexpected_extra_args_your_optimizer_doesnt_expect": 1}
    updates, new_state = tx.update(grads, state, params, **extra)
    plain, plain_state = tx.update(grads, state, params)
    jax.tree_util.tree_map(np.testing.assert_array_equal, (updates, new_state), (plain, plain_state))
    jax.eval_shape(lambda: tx.update(grads, state, params, **extra))  # and when traced, as under jit


# --- explicit state dtypes (AliasTest.test_explicit_dtype, for every state-dtype argument) -------

STATE_DTYPE_CASES = [
    (rule, field) for rule in RULES for field in rule.state_dtypes
]
STATE_DTYPE_IDS = [f"{rule.name}-{field.arg}" for rule, field in STATE_DTYPE_CASES]
DTYPES = ["bfloat16", "float32", "complex64", None]


def _field(state, name):
    (node,) = [s for s in jax.tree_util.tree_leaves(state, is_leaf=lambda s: hasattr(s, name)) if hasattr(s, name)]
    return getattr(node, name)


def _expected_state_dtype(field, params_dtype, state_dtype):
    """The stored dtype, or None where optlab raises ValueError (documented differences from optax)."""
    params_complex = jnp.issubdtype(params_dtype, jnp.complexfloating)
    if state_dtype is None:
        return jnp.finfo(params_dtype).dtype if field.real else params_dtype
    state_dtype = jnp.dtype(state_dtype)
    state_complex = jnp.issubdtype(state_dtype, jnp.complexfloating)
    if field.real and state_complex:
        return None  # a second moment |g|^2 is real: refused when the optimizer is built
    if not field.real and params_complex and not state_complex:
        return None  # would drop the imaginary part of a complex first moment: refused at init
    return state_dtype


@pytest.mark.parametrize("state_dtype", DTYPES, ids=[str(d) for d in DTYPES])
@pytest.mark.parametrize("params_dtype", DTYPES, ids=[str(d) for d in DTYPES])
@pytest.mark.parametrize(("rule", "field"), STATE_DTYPE_CASES, ids=STATE_DTYPE_IDS)
def test_explicit_state_dtype_is_honoured(rule, field, params_dtype, state_dtype):
    params_dtype = jax.dtypes.canonicalize_dtype(params_dtype)
    expected = _expected_state_dtype(field, params_dtype, state_dtype)
    params = {"w": jnp.array([0.5, -2.0], dtype=params_dtype)}
    if expected is None:
        with pytest.raises(ValueError, match=field.arg):
            rule.build(0.1, **{field.arg: state_dtype}).init(params)
        return
    tx = rule.build(0.1, **{field.arg: state_dtype})
    state = tx.init(params)
    assert _field(state, field.field)["w"].dtype == expected
    grads = {"w": jnp.array([1.0, -3.0], dtype=params_dtype)}
    updates, state = jax.eval_shape(tx.update, grads, state, params)  # traced, not compiled
    assert _field(state, field.field)["w"].dtype == expected  # kept through the update
    assert updates["w"].dtype == params_dtype
