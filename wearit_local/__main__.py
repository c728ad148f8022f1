"""``python -m wearit_local``: the local environment's commands (see ``wearit_local.cli``)."""

import sys

from wearit_local.cli import main

sys.exit(main())
