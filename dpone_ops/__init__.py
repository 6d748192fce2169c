"""Judge pytest-dpone evidence into release verdicts. Never imports pytest."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
