"""pytest11 entry point of pytest-dpone."""

from __future__ import annotations
