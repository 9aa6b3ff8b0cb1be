"""The docstring examples of optlab.practice run, and every public name is exported."""

import doctest
import importlib

import pytest

import optlab.practice

MODULES = ["optlab.practice._initial_loss", "optlab.practice._diagnose", "optlab.practice._overfit"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_api_is_explicit():
    for name in optlab.practice.__all__:
        assert hasattr(optlab.practice, name), name
