"""Names of the evidence journal, importable without pydantic or the models.

The pytest plugin opens the journal at session start; keeping these here lets it defer
importing the models (and pydantic) to session end, where the artifacts are built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JOURNAL_FILE = "evidence_journal.jsonl"
JOURNAL_FORMAT = "dpone.evidence_journal.v1"


def header_line(run: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "header", "format": JOURNAL_FORMAT, "run": dict(run)}
