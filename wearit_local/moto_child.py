"""``python -m wearit_local.moto_child -H HOST -p PORT``: ``python -m moto.server`` with
:mod:`wearit_local.moto_patches` applied first; the child process of ``MotoServerProcess``."""

import sys

from wearit_local.moto_patches import apply


def main() -> None:
    apply()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
