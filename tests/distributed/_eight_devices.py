"""Worker: runs with 8 simulated CPU devices, writes every measurement as JSON to ``argv[1]``.

The tests in ``test_eight_devices.py`` start it once and assert on its numbers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import AxisType, Mesh, PartitionSpec as P

import optlab
from _common import data, loss_fn, params
from _registry import RULES
from optlab.distributed import Placement, Strategy, shard_state
from optlab.distributed._pad import padding_of
from optlab.train import Checkpoints, FlatTrainState, TrainState, fit

logging.getLogger("absl").setLevel(logging.ERROR)
jax.config.update("jax_numpy_rank_promotion", "raise")
# as tests/conftest.py: compiled programs cached on disk (identical programs of different fit calls
# compile once; reruns are faster)
jax.config.update("jax_compilation_cache_dir", os.path.join(os.path.dirname(__file__), "..", "..", ".jax_cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
FSDP = Strategy("fsdp", min_shard_bytes=0)  # tiny test leaves: shard everything that divides
X, Y = data()
VAL = (X[:16], Y[:16])


def mesh_of(shape, names, types=AxisType.Auto, devices=None):
    devices = jax.devices()[: int(np.prod(shape))] if devices is None else devices
    return Mesh(np.array(devices).reshape(shape), names, axis_types=(types,) * len(names))


def make(cls, tx=None, **extra):
    return cls.create(apply_fn=None, params=params(), tx=tx or optlab.adam(0.01), ema_decay=0.9, **extra)


def run(state, mesh, strategy, **kw):
    kw = {"epochs": 2, "batch_size": 16, "progress": False, "tensorboard": False, "plot": False, **kw}
    return fit(state, loss_fn, (X, Y), VAL, mesh=mesh, strategy=strategy, **kw)


def max_diff(a, b):
    return float(max(np.max(np.abs(np.asarray(u, np.float64) - np.asarray(v, np.float64)))
                     for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b))))


def specs(tree):
    return jax.tree.map(lambda a: str(a.sharding.spec), tree)


def mirrored_mismatches(state):
    """Leaves of parameter-shaped subtrees of opt_state/EMA whose sharding differs from the params'."""
    ref = state.flat_params if hasattr(state, "flat_params") else state.params
    treedef, ref_specs = jax.tree.structure(ref), jax.tree.leaves(jax.tree.map(lambda a: a.sharding, ref))
    found, bad = 0, []

    def visit(node):
        nonlocal found
        if node is not None and jax.tree.structure(node) == treedef and [np.shape(a) for a in jax.tree.leaves(node)] == [np.shape(a) for a in jax.tree.leaves(ref)]:
            found += 1
            bad.extend(str(a.sharding) for a, s in zip(jax.tree.leaves(node), ref_specs) if a.sharding != s)
            return True
        return False

    averages = ("flat_ema", "flat_swa") if hasattr(state, "flat_params") else ("ema_params", "swa_params")
    jax.tree.leaves((state.opt_state, *(getattr(state, name, None) for name in averages)), is_leaf=visit)
    scalars = [a.sharding.is_fully_replicated for a in jax.tree.leaves(state) if a.ndim == 0]
    return {"mirrored": found, "bad": bad, "scalars_replicated": all(scalars),
            "scalars": len(scalars)}


def row(base, r, **info):
    """How far a run ``r`` is from the one-device run ``base``, and how its state is sharded."""
    leaf = r.state.flat_params if hasattr(r.state, "flat_params") else r.state.params
    return {
        **info, "params_diff": max_diff(base.state.params, r.state.params),
        "ema_diff": max_diff(base.state.ema_params, r.state.ema_params),
        "val_loss_diff": max(abs(u - v) for u, v in zip(base.history["val_loss"], r.history["val_loss"])),
        "train_loss_diff": max(abs(u - v) for u, v in zip(base.history["train_loss"], r.history["train_loss"])),
        "epochs": r.history["epoch"], "param_specs": jax.tree.map(lambda a: str(getattr(a.sharding, "spec", "one device")), leaf),
        "devices": len(jax.tree.leaves(leaf)[0].sharding.device_set), **mirrored_mismatches(r.state),
    }


def equivalence(out):
    """dp and fsdp on 8 devices (auto and explicit axes, (8,) and (4, 2)) against one device;
    (8,) auto fsdp is in :func:`checkpoints`."""
    base = {cls: run(make(cls), None, "dp") for cls in (TrainState, FlatTrainState)}
    auto8, explicit8 = ((8,), ("data",), AxisType.Auto), ((8,), ("data",), AxisType.Explicit)
    explicit42 = ((4, 2), ("data", "model"), AxisType.Explicit)
    cases = [(auto8, "dp", TrainState), (explicit8, FSDP, TrainState), (explicit8, "dp", FlatTrainState),
             (explicit42, FSDP, FlatTrainState)]
    out["equivalence"] = [
        row(base[cls], run(make(cls), mesh_of(*m), strategy), mesh=str(m[0]), axis_types=str(m[2]),
            strategy=getattr(strategy, "name", strategy), state=cls.__name__)
        for m, strategy, cls in cases
    ]


def every_rule(out):
    """Shardings after init (shard_state), after two jitted updates and after a checkpoint restore
    (optimizer state, EMA and SWA averages).

    All rules' states travel in one dict: one compilation, one checkpoint.
    """
    mesh = mesh_of((8,), ("data",))
    names = [(rule, cls) for rule in RULES for cls in (TrainState, FlatTrainState)]
    key = lambda rule, cls: f"{rule.name}/{cls.__name__}"
    fresh = lambda: {key(r, c): shard_state(make(c, r.build(0.01), swa_start=0), mesh, FSDP) for r, c in names}
    states = fresh()
    placements = {k: Placement.for_state(s, mesh, FSDP) for k, s in states.items()}

    def update(s, x, y):
        grads = s.value_and_grad(lambda p: loss_fn(p, x, y, None)[0])[1]
        return s.apply_gradients(grads=grads)

    step = jax.jit(lambda ss, x, y: {k: placements[k].constrain(update(s, x, y)) for k, s in ss.items()})
    after_init = {k: mirrored_mismatches(s) for k, s in states.items()}
    states = step(states, X[:16], Y[:16])
    states = step(states, X[16:32], Y[16:32])
    after_update = {k: mirrored_mismatches(s) for k, s in states.items()}
    tmp = tempfile.mkdtemp()
    with Checkpoints(tmp) as ckpt:
        ckpt.save(1, states)
        restored = ckpt.restore_latest(fresh()).tree
    shutil.rmtree(tmp)
    out["rules"] = [{"rule": k, "init": after_init[k], "update": after_update[k], "restore": mirrored_mismatches(restored[k]),
                     "restore_diff": max_diff(states[k], restored[k])} for k in states]
    out["rules_step_compiles"] = step._cache_size()


def fallback(out):
    """The default rule's choices, the report of what it cannot split, a path rule overriding it."""
    mesh = mesh_of((8,), ("data",))
    p = {"tall": jnp.ones((16, 3)), "wide": jnp.ones((3, 24)), "odd": jnp.ones((5, 7)), "small": jnp.ones((8,)), "scalar": jnp.ones(())}
    state = TrainState.create(apply_fn=None, params=p, tx=optlab.sgd(0.1))
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logging.getLogger("optlab.distributed").addHandler(handler)
    placement = Placement.for_state(state, mesh, FSDP)
    default = specs(placement.place(state).params)
    threshold = specs(shard_state(state, mesh, Strategy("fsdp", min_shard_bytes=100)).params)
    ruled = specs(shard_state(state, mesh, "fsdp", rules=[(r"tall$", P(None)), (r"params/wide", P(None, "data"))]).params)
    out["fallback"] = {"default": default, "threshold_100_bytes": threshold, "ruled": ruled,
                       "unsharded": list(placement.unsharded), "warnings": records}


def checkpoints(out):
    """Written on 8 devices (fsdp, auto axes), resumed onto (4, 2), 4, 2 and 1 device: the same run.

    The first half (2 epochs) is also checked against one device; for the FlatTrainState run the
    train step's compilations are counted (``jax_log_compiles``).
    """
    root = tempfile.mkdtemp()
    eight = mesh_of((8,), ("data",))
    base2 = {cls: run(make(cls), None, "dp") for cls in (TrainState,)}
    base2[FlatTrainState] = base2[TrainState]  # the same function of the same numbers (within 1 ulp)
    reference = run(make(TrainState), None, "dp", epochs=4)
    targets = {TrainState: {"(4,2)": mesh_of((4, 2), ("data", "model")), "4": mesh_of((4,), ("data",)),
                            "2": mesh_of((2,), ("data",)), "1 (mesh=None)": None},
               FlatTrainState: {"(4,2)": mesh_of((4, 2), ("data", "model")), "1": mesh_of((1,), ("data",))}}
    first_rows, rows = [], []
    for cls, meshes in targets.items():
        first = os.path.join(root, f"{cls.__name__}-first")
        with compile_log() as records:
            r = run(make(cls), eight, FSDP, epochs=2, run_dir=first)
        padded = {}
        if cls is FlatTrainState:
            used, size = padding_of(r.state)["float32"]
            padded = {"padded_size": size, "used": used,
                      "padding_max_abs": float(np.abs(np.asarray(r.state.flat_params["float32"])[used:]).max())}
        first_rows.append(row(base2[cls], r, mesh="(8,)", axis_types="AxisType.Auto", strategy="fsdp", state=cls.__name__,
                              train_step_compiles=sum("train_step" in m for m in records), **padded))
        for name, mesh in meshes.items():
            again = os.path.join(root, f"{cls.__name__}-{name}")
            shutil.copytree(first, again)
            r = run(make(cls), mesh, FSDP if mesh is not None else "dp", epochs=4, run_dir=again, resume=True)
            rows.append(row(reference, r, state=cls.__name__, target=name))
    shutil.rmtree(root)
    out["first_half"] = first_rows
    out["checkpoints"] = rows


def padding(out):
    """FlatTrainState under fsdp: padded buffers, padding zero after steps with clipping and decay,
    the same parameters as without padding on one device."""
    mesh = mesh_of((8,), ("data",))
    tx = optax.chain(optax.clip_by_global_norm(0.05), optlab.adamw(0.01, weight_decay=0.1))
    plain = make(FlatTrainState, tx)
    padded = shard_state(plain, mesh, FSDP)

    def update(s, x, y):
        return s.apply_gradients(grads=s.value_and_grad(lambda p: loss_fn(p, x, y, None)[0])[1])

    step = jax.jit(update)
    for i in range(3):
        plain, padded = step(plain, X[16 * i : 16 * i + 16], Y[16 * i : 16 * i + 16]), step(padded, X[16 * i : 16 * i + 16], Y[16 * i : 16 * i + 16])
    used, size = padding_of(padded)["float32"]
    buffers = [padded.flat_params["float32"], padded.flat_ema["float32"], padded.opt_state[1][0].mu["float32"], padded.opt_state[1][0].nu["float32"]]
    out["padding"] = {"used": used, "size": size, "spec": str(padded.flat_params["float32"].sharding.spec),
                      "padding_max_abs": float(max(np.abs(np.asarray(b)[used:]).max() for b in buffers)),
                      "params_diff": max_diff(plain.params, padded.params), "ema_diff": max_diff(plain.ema_params, padded.ema_params)}


def errors(out):
    """Messages of the mistakes fit refuses before training."""
    messages = {}
    for name, kw in {"batch_size": {"batch_size": 12, "mesh": mesh_of((8,), ("data",))},
                     "strategy": {"strategy": "tp", "mesh": mesh_of((8,), ("data",))},
                     "mesh": {"mesh": "8 devices"},
                     "rule": {"mesh": mesh_of((8,), ("data",)), "strategy": Strategy("fsdp", rules=((r"w1", P("model")),))}}.items():
        try:
            run(make(TrainState), **{"mesh": None, "strategy": "dp", **kw})
        except ValueError as error:
            messages[name] = str(error)
    out["errors"] = messages


def caller_state(out):
    """fit on a mesh trains its own copy: the caller's state stays readable, two calls agree bitwise."""
    state = make(TrainState)
    before = jax.tree.map(np.asarray, state.params)
    mesh = mesh_of((8,), ("data",))
    first, second = run(state, mesh, FSDP), run(state, mesh, FSDP)
    out["caller_state"] = {"unchanged": max_diff(before, state.params), "two_calls": max_diff(first.state, second.state)}


@contextlib.contextmanager
def compile_log():
    """The messages of ``jax_log_compiles`` ("Compiling <name> ...") while the block runs."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage()) if "Compiling" in record.getMessage() else None
    logger = logging.getLogger("jax")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        with jax.log_compiles(True):
            yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = True


if __name__ == "__main__":
    assert jax.device_count() == 8, jax.devices()
    result = {}
    for part in sys.argv[2:] or ["fallback", "errors", "every_rule", "padding", "equivalence", "caller_state", "checkpoints"]:
        globals()[part](result)
    with open(sys.argv[1], "w") as f:
        json.dump(result, f, indent=1)
