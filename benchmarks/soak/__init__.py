"""``make soak``: mixed traffic against ``python -m wearit_local up`` for a long while.

Not a test and not part of ``make bench``: a run of ``--minutes`` (default 30) on loopback,
every loop capped in count and time, ending with checks that fail the run loudly:

- ``local_env``: the ``local up`` child (its printed exports), the ``wearit-storage worker``
  and ``eraser`` children, and stopping them;
- ``photos``: the uploads' inputs and the renditions the SDK makes of them, computed before
  the traffic starts (the reference every stored rendition is checked against);
- ``ledger``: what the traffic was told (acknowledged uploads, erasures), requests and
  failures by type;
- ``traffic``: the application's side, the SDK configured from the exports;
- ``memory``: resident set sizes from ``/proc``, and whether they stayed flat;
- ``checks``: the end checks, on any view of the two buckets (unit-tested on a fake one);
- ``report``: ``benchmarks/results/soak.json`` and ``soak.md``;
- ``run``: the command line and the order of it all.
"""
