"""Shared by the distributed workers (run in subprocesses with simulated CPU devices) and tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def data(n: int = 64, d: int = 8, seed: int = 0):
    """A small regression problem: ``y = x @ w* + noise``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ rng.normal(size=(d,)) + 0.1 * rng.normal(size=(n,))).astype(np.float32)
    return x, y


def params(d: int = 8, hidden: int = 16, seed: int = 1):
    """A two-layer MLP's weights: ``w1`` (d, hidden) splits over 8 devices, ``b1`` (5,)... does not."""
    rng = np.random.default_rng(seed)
    return {
        "w1": jnp.asarray(rng.normal(size=(d, hidden)) * 0.3, jnp.float32),
        "b1": jnp.zeros((hidden,), jnp.float32),
        "w2": jnp.asarray(rng.normal(size=(hidden, 1)) * 0.3, jnp.float32),
        "odd": jnp.asarray(rng.normal(size=(5, 3)) * 0.1, jnp.float32),  # no dimension divisible by 8
    }


def loss_fn(p, x, y, rng):
    """Mean squared error of the MLP (``rng`` adds input noise during training: it must be used)."""
    if rng is not None:
        x = x + 0.01 * jax.random.normal(rng, x.shape, x.dtype)
    h = jnp.tanh(x @ p["w1"] + p["b1"][None, :]) @ p["w2"]
    out = h[:, 0] + jnp.sum(p["odd"]) * 0.0 + jnp.mean(p["odd"] ** 2)
    return jnp.mean((out - y) ** 2), out


def env(devices: int) -> dict:
    """The child environment: ``devices`` simulated CPU devices, the repository importable."""
    child = dict(os.environ)
    child["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    child["JAX_PLATFORMS"] = "cpu"
    child["PYTHONPATH"] = os.pathsep.join([ROOT, os.path.join(ROOT, "tests"), child.get("PYTHONPATH", "")])
    return child


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_worker(script: str, *args: str, devices: int, timeout: float) -> subprocess.CompletedProcess:
    """Run ``tests/distributed/<script>`` in a fresh interpreter with ``devices`` CPU devices."""
    return subprocess.run(
        [sys.executable, os.path.join(HERE, script), *args], env=env(devices), cwd=ROOT,
        capture_output=True, text=True, timeout=timeout,
    )
