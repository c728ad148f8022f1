"""``python -m wearit_storage`` is the ``wearit-storage`` command."""

import sys

from wearit_storage.cli import main

sys.exit(main())
