"""Docstrings: every example runs (doctest) and every public rule states its math and its paper."""

import doctest
import importlib

import pytest

import optlab

MODULES = [
    "optlab._apply",
    "optlab._rule_names",
    "optlab.rules._sgd",
    "optlab.rules._momentum",
    "optlab.rules._adagrad",
    "optlab.rules._rmsprop",
    "optlab.rules._adam",
    "optlab.rules._weight_decay",
    "optlab.rules._learning_rate",
    "optlab.rules._hyperparams",
    "optlab.schedules._basic",
    "optlab.schedules._compose",
    "optlab.lab._landscapes",
    "optlab.lab._race",
    "optlab.train._data",
    "optlab.models._cnn",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


CITATIONS = {
    optlab.sgd: "Robbins & Monro",
    optlab.momentum: "Sutskever",
    optlab.nesterov: "Sutskever",
    optlab.momentum_trace: "Sutskever",
    optlab.adagrad: "Duchi",
    optlab.adagrad_accumulator: "Duchi",
    optlab.rmsprop: "Tieleman & Hinton",
    optlab.rms_scaling: "Tieleman & Hinton",
    optlab.adam: "Kingma & Ba",
    optlab.adam_scaling: "Kingma & Ba",
    optlab.adamw: "Loshchilov & Hutter",
    optlab.add_decayed_weights: "Loshchilov & Hutter",
    optlab.schedules.cosine: "Loshchilov & Hutter",
    optlab.schedules.cosine_restarts: "Loshchilov & Hutter",
    optlab.schedules.warmup: "Goyal",
}


@pytest.mark.parametrize("function", list(CITATIONS), ids=lambda f: f.__name__)
def test_public_rule_docstring_has_math_example_and_paper(function):
    doc = function.__doc__
    assert "math::" in doc or ":math:" in doc
    assert ">>>" in doc
    assert CITATIONS[function] in doc


def test_public_api_is_explicit():
    for name in optlab.__all__:
        assert hasattr(optlab, name), name
    for name in optlab.schedules.__all__:
        assert callable(getattr(optlab.schedules, name)), name
