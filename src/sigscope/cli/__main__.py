"""``python -m sigscope`` and ``python -m sigscope.cli``: the ``sigscope`` command."""

import sys

from sigscope.cli import main

sys.exit(main())
