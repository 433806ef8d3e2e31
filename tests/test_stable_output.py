"""Two runs of ``sigscope inspect`` on the demo give byte-identical JSON, DOT and GraphML."""

from __future__ import annotations

import os
import re
import subprocess
import sys

FORMATS = ("json", "dot", "graphml")


def test_exports_are_byte_identical_across_runs_and_hold_no_memory_address():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    runs = {
        (fmt, n): subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sigscope.cli",
                "inspect",
                "--settings",
                "sigscope.demo.settings",
                "--format",
                fmt,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for fmt in FORMATS
        for n in (1, 2)
    }
    out = {}
    for key, process in runs.items():
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr.decode()
        out[key] = stdout
    for fmt in FORMATS:
        assert out[(fmt, 1)] == out[(fmt, 2)], fmt
        assert len(out[(fmt, 1)]) > 1000
        assert not re.search(rb"0x[0-9a-f]{6,}", out[(fmt, 1)]), fmt
