"""Build the optional C accelerator of the tracer (``sigscope.tracing._speedups``).

Everything else is in ``pyproject.toml``.  ``optional=True``: without a
compiler (or Python headers) the install still succeeds and the tracer runs
its pure-Python code (see ``sigscope.tracing.accel``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sigscope.tracing._speedups",
            ["src/sigscope/tracing/_speedups.c"],
            depends=[
                f"src/sigscope/tracing/{header}.h"
                for header in ("_marks", "_unheard", "_kwargs", "_finish", "_ring", "_versions")
            ],
            optional=True,
        )
    ]
)
