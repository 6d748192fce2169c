"""``release-evidence-pack``: the final go/no-go."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    del commands  # filled in by the release pack change
