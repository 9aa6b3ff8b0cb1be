"""One registry of every optlab optimizer with its float64 NumPy reference.

Each entry carries its own kwargs and reference step, so the contract suite has no
``if name == ...`` branches (after optax ``contrib/_common_test.py``, improved).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

import optlab


class Rule(NamedTuple):
    name: str
    make: Callable[..., Any]  # make(learning_rate) -> GradientTransformation
    kwargs: dict
    init: Callable[[np.ndarray], dict]  # reference state from the flat params
    step: Callable[[dict, np.ndarray, np.ndarray, float], tuple]  # (state, g, w, lr) -> (delta, state)

    def build(self, learning_rate):
        return self.make(learning_rate, **self.kwargs)


def _none(w):
    return {}


def _zeros(*names, value=0.0):
    return lambda w: {n: np.full_like(w, value) for n in names} | {"t": 0}


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
        G = s["G"] + g**2
        return -lr * g / (np.sqrt(G) + eps), {"G": G, "t": s["t"] + 1}

    return step


def _rmsprop(rho, eps):
    def step(s, g, w, lr):
        sq = rho * s["s"] + (1 - rho) * g**2
        return -lr * g / (np.sqrt(sq) + eps), {"s": sq, "t": s["t"] + 1}

    return step


def _adam(b1, b2, eps, bias_correction=True, weight_decay=0.0):
    def step(s, g, w, lr):
        t = s["t"] + 1
        m = b1 * s["m"] + (1 - b1) * g
        v = b2 * s["v"] + (1 - b2) * g**2
        if bias_correction:
            out = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        else:
            out = m / (np.sqrt(v) + eps)
        return -lr * (out + weight_decay * w), {"m": m, "v": v, "t": t}

    return step


RULES = [
    Rule("sgd", optlab.sgd, {}, _none, _sgd),
    Rule("momentum", optlab.momentum, {"rho": 0.8}, _zeros("v"), _momentum(0.8)),
    Rule("nesterov", optlab.nesterov, {"rho": 0.8}, _zeros("v"), _momentum(0.8, nesterov=True)),
    Rule(
        "adagrad",
        optlab.adagrad,
        {"eps": 1e-7, "initial_accumulator_value": 0.1},
        _zeros("G", value=0.1),
        _adagrad(1e-7),
    ),
    Rule("rmsprop", optlab.rmsprop, {"rho": 0.9, "eps": 1e-6}, _zeros("s"), _rmsprop(0.9, 1e-6)),
    Rule("adam", optlab.adam, {"b1": 0.8, "b2": 0.95, "eps": 1e-6}, _zeros("m", "v"), _adam(0.8, 0.95, 1e-6)),
    Rule(
        "adam_uncorrected",
        optlab.adam,
        {"b1": 0.8, "b2": 0.95, "eps": 1e-6, "bias_correction": False},
        _zeros("m", "v"),
        _adam(0.8, 0.95, 1e-6, bias_correction=False),
    ),
    Rule(
        "adamw",
        optlab.adamw,
        {"b1": 0.8, "b2": 0.95, "eps": 1e-6, "weight_decay": 0.1},
        _zeros("m", "v"),
        _adam(0.8, 0.95, 1e-6, weight_decay=0.1),
    ),
]

RULE_IDS = [rule.name for rule in RULES]
