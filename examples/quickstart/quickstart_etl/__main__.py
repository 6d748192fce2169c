"""``python -m quickstart_etl`` is the ``quickstart-etl`` command."""

from __future__ import annotations

import sys

from quickstart_etl.cli import main

sys.exit(main())
