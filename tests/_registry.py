"""One registry of every optlab optimizer with its float64 NumPy reference.

Each entry carries its own kwargs and reference step, so the contract suite has no
``if name == ...`` branches (after optax ``contrib/_common_test.py``, improved). The references
work on real and complex leaves alike: second moments are real, from ``|g|^2 = g * conj(g)``;
first moments and momentum are complex for complex leaves (optax's convention).

``solve`` are the kwargs (learning rate included) under which the rule must solve optax's
``AliasTest`` problems (parabola, Rosenbrock) in float32 and complex64 in ``solve_steps`` steps; ``state_dtypes`` names the
rule's state-dtype arguments and the state field each one sets.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

import optlab


class StateDtype(NamedTuple):
    """A state-dtype argument of a rule: ``arg`` sets the dtype of the state field ``field``.

    ``real``: the field is a second moment (``|g|^2``), real even for complex leaves.
    """

    arg: str
    field: str
    real: bool


class Rule(NamedTuple):
    name: str
    make: Callable[..., Any]  # make(learning_rate) -> GradientTransformation
    kwargs: dict
    init: Callable[[np.ndarray], dict]  # reference state from the flat params
    step: Callable[[dict, np.ndarray, np.ndarray, float], tuple]  # (state, g, w, lr) -> (delta, state)
    solve: dict  # make(**solve) solves the parabola and Rosenbrock (optax AliasTest) ...
    solve_steps: int = 10_000  # ... within this many steps (AliasTest's 10,000)
    state_dtypes: tuple = ()  # StateDtype entries

    def build(self, learning_rate, **overrides):
        return self.make(learning_rate, **{**self.kwargs, **overrides})


def abs2(g):
    """``|g|^2 = g * conj(g)``, real."""
    return np.real(g * np.conj(g))


def _none(w):
    return {}


def _moments(first=(), second=(), second_value=0.0):
    """Reference state: first moments like ``w`` (complex for complex ``w``), second moments real."""

    def init(w):
        state = {n: np.zeros_like(w) for n in first}
        state |= {n: np.full(w.shape, second_value, dtype=np.real(w).dtype) for n in second}
        return state | {"t": 0}

    return init


def _sgd(s, g, w, lr):
    return -lr * g, s


def _momentum(rho, nesterov=False):
    def step(s, g, w, lr):
        v = rho * s["v"] + g
        out = g + rho * v if nesterov else v
        return -lr * out, {"v": v, "t": s["t"] + 1}

    return step


def _adagrad(eps):
    def step(s, g, w, lr):
        G = s["G"] + abs2(g)
        return -lr * g / (np.sqrt(G) + eps), {"G": G, "t": s["t"] + 1}

    return step


def _rmsprop(rho, eps):
    def step(s, g, w, lr):
        sq = rho * s["s"] + (1 - rho) * abs2(g)
        return -lr * g / (np.sqrt(sq) + eps), {"s": sq, "t": s["t"] + 1}

    return step


def _adam(b1, b2, eps, bias_correction=True, weight_decay=0.0):
    def step(s, g, w, lr):
        t = s["t"] + 1
        m = b1 * s["m"] + (1 - b1) * g
        v = b2 * s["v"] + (1 - b2) * abs2(g)
        if bias_correction:
            out = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        else:
            out = m / (np.sqrt(v) + eps)
        return -lr * (out + weight_decay * w), {"m": m, "v": v, "t": t}

    return step


MU, NU = StateDtype("mu_dtype", "mu", real=False), StateDtype("nu_dtype", "nu", real=True)
VELOCITY = StateDtype("accumulator_dtype", "velocity", real=False)

RULES = [
    # Plain gradient descent is not in AliasTest (its sgd has momentum 0.9): at any stable lr it
    # needs ~20,000 steps along the complex Rosenbrock valley.
    Rule("sgd", optlab.sgd, {}, _none, _sgd, solve={"learning_rate": 1e-3}, solve_steps=30_000),
    Rule(
        "momentum",
        optlab.momentum,
        {"rho": 0.8},
        _moments(first=("v",)),
        _momentum(0.8),
        solve={"learning_rate": 1e-3, "rho": 0.9},
        state_dtypes=(VELOCITY,),
    ),
    Rule(
        "nesterov",
        optlab.nesterov,
        {"rho": 0.8},
        _moments(first=("v",)),
        _momentum(0.8, nesterov=True),
        # At lr 1e-3 Nesterov stalls at (0.70+0.70j, 0.99j) on the complex Rosenbrock, exactly as
        # optax.sgd(1e-3, momentum=0.9, nesterov=True) does (not in AliasTest either).
        solve={"learning_rate": 5e-4, "rho": 0.9},
        state_dtypes=(VELOCITY,),
    ),
    Rule(
        "adagrad",
        optlab.adagrad,
        {"eps": 1e-7, "initial_accumulator_value": 0.1},
        _moments(second=("G",), second_value=0.1),
        _adagrad(1e-7),
        solve={"learning_rate": 1.0},
        state_dtypes=(StateDtype("nu_dtype", "sum_of_squares", real=True),),
    ),
    Rule(
        "rmsprop",
        optlab.rmsprop,
        {"rho": 0.9, "eps": 1e-6},
        _moments(second=("s",)),
        _rmsprop(0.9, 1e-6),
        solve={"learning_rate": 5e-3},
        state_dtypes=(StateDtype("nu_dtype", "mean_square", real=True),),
    ),
    Rule(
        "adam",
        optlab.adam,
        {"b1": 0.8, "b2": 0.95, "eps": 1e-6},
        _moments(first=("m",), second=("v",)),
        _adam(0.8, 0.95, 1e-6),
        solve={"learning_rate": 0.1},
        state_dtypes=(MU, NU),
    ),
    Rule(
        "adam_uncorrected",
        optlab.adam,
        {"b1": 0.8, "b2": 0.95, "eps": 1e-6, "bias_correction": False},
        _moments(first=("m",), second=("v",)),
        _adam(0.8, 0.95, 1e-6, bias_correction=False),
        solve={"learning_rate": 0.1, "bias_correction": False},
        state_dtypes=(MU, NU),
    ),
    Rule(
        "adamw",
        optlab.adamw,
        {"b1": 0.8, "b2": 0.95, "eps": 1e-6, "weight_decay": 0.1},
        _moments(first=("m",), second=("v",)),
        _adam(0.8, 0.95, 1e-6, weight_decay=0.1),
        # optax.adamw's weight_decay (1e-4): optlab's default 1e-2 (torch) moves the minimum.
        solve={"learning_rate": 0.1, "weight_decay": 1e-4},
        state_dtypes=(MU, NU),
    ),
]

RULE_IDS = [rule.name for rule in RULES]
