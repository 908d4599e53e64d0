"""``python -m rolltoken``: the command line (see :mod:`rolltoken.cli`)."""

import sys

from .cli import main

sys.exit(main())
