"""Every tracing test runs twice: on the C accelerator's path and on the pure-Python one."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _both_paths(tracing_path: str) -> str:
    return tracing_path
