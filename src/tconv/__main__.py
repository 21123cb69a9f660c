"""``python -m tconv``: the same as the ``tconv`` command."""

import sys

from .cli import main

sys.exit(main())
