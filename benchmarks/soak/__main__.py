"""``python -m benchmarks.soak``: see :mod:`benchmarks.soak.run`."""

from benchmarks.soak.run import main

raise SystemExit(main())
