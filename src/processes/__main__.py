"""``python -m processes``: the command line in ``processes.cli``, its only import."""

from processes.cli import main

raise SystemExit(main())
