"""Root conftest: the pytester plugin for the plugin's own tests."""

from __future__ import annotations

from dpone_ops.models import all_kinds

pytest_plugins = ["pytester"]

# The model modules load lazily (on first use of KINDS). Load them all here, before any
# in-process pytester run: pytester drops the modules a run imported when it ends, and a
# model module imported twice would give two classes of one name that reject each other.
all_kinds()
