"""``python -m processes``: the command line in ``processes.cli``."""

from processes.cli import main

raise SystemExit(main())
