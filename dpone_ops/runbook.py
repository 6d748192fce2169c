"""What to do about each blocker: the runbook of the public "Release evidence" page.

Every gate's Markdown and the one-screen verdict of ``certify`` take their lines from
here, so a blocker code reads the same advice wherever it shows up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dpone_ops.metrics import DIRECTIONS
from dpone_ops.writing import md_code

INSPECT_METRIC = "Inspect the failed metric and its threshold in the results table."
CHECK_CAPACITY = (
    "Check native fast paths, batch size, partitioning, staging backend and target capacity."
)
NEVER_LOWER = "Never lower thresholds without a reviewed baseline update."
COMPARABLE_BASELINE = (
    "Compare against a baseline recorded on the same machine class, profile and row count; "
    "record a new one with `dpone ops benchmark-baseline update` and a reason."
)
STATE_MARKERS = "Re-run the state backend markers (`@pytest.mark.state_backend`) for the backend."
OFFSETS_AFTER_LOAD = "Confirm offsets advanced only after load success."
PHYSICAL_DELETE = (
    "Re-run physical-delete reconciliation "
    "(`@pytest.mark.reconciliation(kind=\"physical_delete\")`) with deletes > 0."
)
FIX_ITEMS = "Fix every `*.missing` / `*.not_passed` item."
RERUN_GATE = "Re-run the actual gate; never edit an artifact or flip a flag by hand."
REAL_ARTIFACTS = (
    "Feed the artifacts the plugin wrote (`pytest --dpone-evidence-dir`); hand-written or "
    "legacy files are not evidence."
)
REBUILD_BOUND = "Rebuild the evidence for this release, commit and profile."
EXPORT_CREDENTIALS = (
    "Export the missing credential variables in the job environment (only names are reported)."
)
STATE_DIRECTION = "State the metric's direction with `--direction NAME=higher|lower`."

PERFORMANCE = (INSPECT_METRIC, CHECK_CAPACITY, NEVER_LOWER)
STATE = (STATE_MARKERS, OFFSETS_AFTER_LOAD, PHYSICAL_DELETE, REAL_ARTIFACTS)
CHECKLIST = (FIX_ITEMS, RERUN_GATE)
PACK = (FIX_ITEMS, RERUN_GATE, REAL_ARTIFACTS)
PLAN = (EXPORT_CREDENTIALS, RERUN_GATE)

# By reason (the last dot-part of a code); subjects that need other advice come first.
_BY_REASON: dict[str, str] = {
    "below_min": f"{INSPECT_METRIC} {CHECK_CAPACITY}",
    "above_max": f"{INSPECT_METRIC} {CHECK_CAPACITY}",
    "regression": f"{INSPECT_METRIC} {CHECK_CAPACITY} {NEVER_LOWER}",
    "direction_unknown": STATE_DIRECTION,
    "advanced_without_load": OFFSETS_AFTER_LOAD,
    "committed_before_load": OFFSETS_AFTER_LOAD,
    "stayed_put": OFFSETS_AFTER_LOAD,
    "unobserved": f"{STATE_MARKERS} Record before/after with `dpone_evidence.record_state`.",
    "mismatched_rows": PHYSICAL_DELETE,
    "invalid": f"{REAL_ARTIFACTS} Regenerate it with the tool that owns it.",
    "self_declared": REAL_ARTIFACTS,
    "release_mismatch": REBUILD_BOUND,
    "commit_mismatch": REBUILD_BOUND,
    "profile_mismatch": REBUILD_BOUND,
    "machine_mismatch": COMPARABLE_BASELINE,
    "row_count_mismatch": COMPARABLE_BASELINE,
    "incomplete": "The run was interrupted; re-run it to completion.",
    "missing": f"{FIX_ITEMS} Provide it, then re-run the gate that produces it.",
    "not_passed": f"{FIX_ITEMS} {RERUN_GATE}",
}


def line_for(code: str) -> str:
    """The advice for one blocker code."""
    subject, _, reason = code.rpartition(".")
    if subject.startswith("delete_reconciliation") or subject == "reconciliation":
        return PHYSICAL_DELETE
    if subject.startswith("env."):
        return EXPORT_CREDENTIALS
    if subject.startswith("state.") and reason in ("missing", "not_passed"):
        return STATE_MARKERS
    if subject in DIRECTIONS and reason == "missing":
        return (f"{INSPECT_METRIC} Measure it (`dpone_evidence.measure` or `metric`) and "
                "re-run the tests; a metric without a value never passes.")
    if subject.startswith("baseline."):
        return COMPARABLE_BASELINE
    return _BY_REASON.get(reason, RERUN_GATE)


def md_runbook(standing: Sequence[str], blockers: Iterable[str]) -> list[str]:
    """A ``## Runbook`` section: the gate's standing lines, then one line per blocker."""
    lines = ["## Runbook", ""]
    lines.extend(f"- {line}" for line in standing)
    # The lines are our own constants; only the codes come from inputs.
    per_code = [f"- {md_code(code)}: {line_for(code)}" for code in blockers]
    if per_code:
        lines.extend(["", "What to do for each blocker:", "", *per_code])
    return lines
