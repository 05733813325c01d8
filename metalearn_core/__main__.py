"""``python -m metalearn_core``: the command-line interface."""

import sys

from metalearn_core.cli import main

sys.exit(main())
