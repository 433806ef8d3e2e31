"""The examples in docstrings run (they are the API's specification)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "sigscope.safe",
    "sigscope.describe",
    "sigscope._fastinit",
    "sigscope.tracing.tracer",
    "sigscope.tracing.values",
    "sigscope.tracing.redact",
    "sigscope.tracing.capture",
    "sigscope.demo",
    "sigscope.registry.site_match",
    "sigscope.otel",
    "sigscope.views.trace_data",
    "sigscope.views.trace_view",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
