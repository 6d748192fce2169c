"""pytest plugin that records marked test runs as release evidence. It never decides."""

from __future__ import annotations

from dpone_ops import __version__

__all__ = ["__version__"]
