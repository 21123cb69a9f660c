"""``python -m tconv.bench ...`` is ``tconv bench ...``."""

import sys

from tconv.cli.main import main

sys.exit(main(["bench", *sys.argv[1:]]))
