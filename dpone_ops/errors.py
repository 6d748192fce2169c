"""The one exception family that the CLI turns into exit code 2."""

from __future__ import annotations


class DponeError(Exception):
    """Unusable input or a usage mistake: exit 2 with one line, never a traceback."""

    exit_code = 2


class UsageError(DponeError):
    """A flag or argument the command cannot accept."""


class InputError(DponeError):
    """An input file or inline value that cannot be used at all."""
