"""``python -m rolltoken.demo [--host H] [--port P] [--allow-remote]``: the same as
``python -m rolltoken demo``."""

import sys

from ..cli import main

sys.exit(main(["demo", *sys.argv[1:]]))
