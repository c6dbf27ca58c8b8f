"""``python -m spendwatch.cli``: the same as the ``spendwatch`` console script."""

from spendwatch.cli import main

raise SystemExit(main())
