"""The ensembles' docstring examples run (doctest)."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["optlab.ensembles._independent", "optlab.ensembles._predict", "optlab.ensembles._snapshot"])
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
