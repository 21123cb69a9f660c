"""``python -m tconv``: the same as the ``tconv`` command."""

import sys

from tconv.cli.main import main

sys.exit(main())
