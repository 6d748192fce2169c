"""The eight pre-release check names (SPEC §5), shared by the plugin and the checklist.

A module of its own with no imports, so the pytest plugin can validate
``@pytest.mark.release_check`` names without loading pydantic on every run.
"""

from __future__ import annotations

import re

CHECK_NAMES: tuple[str, ...] = (
    "cli_commands",
    "run_cli",
    "run_python_api",
    "hierarchical_lineage",
    "source_sink_matrix",
    "contracts_guardrails",
    "documentation",
    "package",
)
# A check name becomes a blocker-code segment (`<check>.not_passed`), so it must be one.
CHECK_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
