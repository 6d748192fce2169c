"""What to do about each blocker code: one line per code, shared by every report.

The lines follow the public dpone "Release evidence" runbook. Lookup is by the most
specific rule first: a whole code, then its subject, then its reason (last segment).
"""

from __future__ import annotations

PERFORMANCE = (
    "Inspect the failed metric and threshold; check native fast paths, batch size, "
    "partitioning, staging backend and target capacity; never lower thresholds without a "
    "reviewed baseline update."
)
STATE = (
    "Re-run the state backend markers; confirm offsets and xmin state advanced only after "
    "load success."
)
RECONCILIATION = "Re-run physical-delete reconciliation against live services."
RERUN_GATE = (
    "Fix every *.missing / *.not_passed at its originating gate, then re-run the actual gate."
)

BY_CODE: dict[str, str] = {
    "performance_certification.not_passed": PERFORMANCE,
    "live_state_reconciliation.not_passed": f"{STATE} {RECONCILIATION}",
    "delete_reconciliation.missing": RECONCILIATION,
    "delete_reconciliation.not_passed": RECONCILIATION,
    "release_evidence_pack.not_passed": RERUN_GATE,
    "pre_release_checklist.not_passed": (
        "Make every required check for the release type pass from evidence (its tests, the "
        "docs strict build, the package check), then rebuild the checklist."
    ),
    "documentation.not_passed": (
        "Docs are red: run `mkdocs build --strict` and `dpone docs check-docs`, fix every "
        "finding, then re-run the checklist."
    ),
    "evidence_chain.broken": (
        "The chain does not verify: rebuild it with `dpone ops evidence-chain` from the real "
        "gate outputs; never edit evidence by hand."
    ),
    "pytest.exit_status": (
        "pytest exited non-zero: fix the failing, erroring or uncollectable tests shown in "
        "its output and re-run certify; a red test run never yields a green pack."
    ),
    "profile.not_release_candidate": (
        "Minor and major releases need the real_local profile: run the real_local plan "
        "(all six disposable services) and rebuild the pack with --profile real_local."
    ),
}

BY_SUBJECT: dict[str, str] = {
    "state": STATE,
    "xmin_state": STATE,
    "kafka_offsets": STATE,
    "cdc_offsets": STATE,
    "run_state": STATE,
    "reconciliation": RECONCILIATION,
    "delete_reconciliation": RECONCILIATION,
    "baseline": (
        "Compare against a baseline recorded on the same machine class, profile and row "
        "count; record a new one with a reviewed reason (benchmark-baseline update)."
    ),
    "docs": (
        "Docs are red: run mkdocs build --strict and dpone docs check-docs, fix each finding "
        "at the file and line it names, then re-run the checklist."
    ),
    "env": (
        "Export the missing credential variable in the job environment; only its name is "
        "ever reported."
    ),
}

BY_REASON: dict[str, str] = {
    "missing": (
        "Produce it by running its gate (see dpone ops live-certification-plan); a missing "
        "required artifact blocks publication."
    ),
    "not_passed": (
        "Red at its originating gate: fix the cause there and re-run that gate; never edit "
        "evidence by hand."
    ),
    "invalid": (
        "Not a valid artifact of the expected kind: regenerate it with its gate; hand-written "
        "or legacy files cannot satisfy a slot."
    ),
    "release_mismatch": "Evidence from another release: re-run the gate for this release.",
    "commit_mismatch": "Evidence from another commit: re-run the gate on this commit.",
    "profile_mismatch": "Evidence from another profile: re-run the gate with this profile.",
    "digest_mismatch": (
        "Changed after it was chained: regenerate it with its gate, rebuild the evidence "
        "chain; never edit evidence by hand."
    ),
    "not_in_chain": "Not covered by the evidence chain: rebuild the chain over every artifact.",
    "incomplete": "The run was interrupted or crashed: re-run the gate to completion.",
    "skipped": "A skipped test is not a pass: run it against a live service.",
    "below_min": PERFORMANCE,
    "above_max": PERFORMANCE,
    "regression": PERFORMANCE,
    "direction_unknown": (
        "The metric has no known direction: state it with --direction NAME=higher|lower."
    ),
    "self_declared": (
        "A file that only says passed is a claim, not evidence: point the check at an "
        "artifact its gate wrote."
    ),
    "mismatched_rows": RECONCILIATION,
    "advanced_without_load": STATE,
    "committed_before_load": STATE,
    "stayed_put": STATE,
    "unobserved": STATE,
    "error": (
        "The gate could not run (exit 2): fix the input its message names, then re-run "
        "certify."
    ),
    "assertion_contradicted": (
        "A --check assertion disagrees with the evidence for that check: the evidence "
        "decides; fix the cause it shows (or drop the stale assertion) and re-run."
    ),
    "no_tests": (
        "Nothing proved it: mark the proving tests (@pytest.mark.release_check, service, "
        "...) and re-run them with the plugin."
    ),
    "not_evidenced": (
        "An asserted check is not evidence: mark the proving tests with "
        "@pytest.mark.release_check and build the checklist from release_checks.json."
    ),
}

GENERAL: tuple[str, ...] = (
    "Missing required artifacts block publication.",
    "Red artifacts are fixed at their originating gate, then that gate is re-run.",
    "Never edit evidence by hand; re-run the actual gate.",
    "The pack is immutable after tagging; rebuild it only as a new audit version.",
    "Attach the JSON pack to the release notes or the CI summary.",
)


# A headline metric without a value is a measurement gap, not a threshold miss.
BY_CODE.update({
    f"{metric}.missing": (
        "The metric was not measured: record it (dpone_evidence.measure or metric, or "
        "pytest-benchmark extra_info) and re-run the tests; a missing metric never passes."
    )
    for metric in ("throughput_rows_per_second", "duration_seconds", "memory_peak_mb",
                   "failure_rate")
})

# Standing lines each gate's Markdown ends with (the public docs' runbook, per gate).
PERFORMANCE_GENERAL: tuple[str, ...] = (
    "Inspect the failed metric and threshold.",
    "Check native fast paths, batch size, partitioning, staging backend and target capacity.",
    "Never lower thresholds without a reviewed baseline update.",
)
STATE_GENERAL: tuple[str, ...] = (
    "Re-run the state backend markers.",
    "Confirm offsets advanced only after load success.",
    "Re-run physical-delete reconciliation.",
    "Only the plugin's evidence files count; hand-written or legacy state files are not "
    "evidence.",
)
CHECKLIST_GENERAL: tuple[str, ...] = (
    "Fix every *.missing / *.not_passed.",
    "Re-run the actual gate; never flip a check by hand.",
)
PACK_GENERAL: tuple[str, ...] = (
    *CHECKLIST_GENERAL,
    "Only the plugin's evidence files count; hand-written or legacy files are not evidence.",
)
PLAN_GENERAL: tuple[str, ...] = (
    "Run the steps in order; a required step that fails stops the release.",
    "Export missing credential variables; only their names are ever reported.",
)


def line_for(code: str) -> str:
    """The runbook line for one blocker code."""
    if code in BY_CODE:
        return BY_CODE[code]
    parts = code.split(".")
    for subject in parts[:-1]:
        if subject in BY_SUBJECT:
            return BY_SUBJECT[subject]
    if parts[0] == "service" and len(parts) >= 3:
        return (
            f"Run the {parts[1]} marked tests against a live {parts[1]} service; a skipped or "
            "missing test is not a pass."
        )
    return BY_REASON.get(parts[-1], RERUN_GATE)


def markdown_section(blockers: list[str], *, general: tuple[str, ...] = GENERAL) -> list[str]:
    """``## Runbook``: the line for each blocker, then the general rules."""
    from dpone_ops.writing import md_escape

    lines = ["## Runbook", ""]
    for code in blockers:
        lines.append(f"- `{code}`: {md_escape(line_for(code))}")
    lines.extend(f"- {md_escape(rule)}" for rule in general)
    return lines
