"""``live-state-reconciliation``: state moved only after loads, and deletes reconcile.

The inputs must be the plugin's ``state_evidence.json`` and ``reconciliation_evidence.json``;
a hand-written or legacy ``{"passed": true, ...}`` file in either slot is not evidence
(artifact_validation judges it ``<slot>.not_passed`` / ``<slot>.invalid``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dpone_ops.artifact_validation import LoadedArtifact, missing
from dpone_ops.models.base import Stamp
from dpone_ops.models.evidence import ReconciliationEvidence, StateEvidence
from dpone_ops.models.gates import LiveStateReconciliation, StateCheckResult
from dpone_ops.runbook import STATE_GENERAL, markdown_section
from dpone_ops.writing import md_blockers, md_bool, md_document, md_escape, md_table

NAME = "live_state_reconciliation"
DEFAULT_REQUIRED = ("state", "reconciliation")
# The state check each kind of backend must prove; a backend not listed proves `run_state`.
APPLICABLE_CHECKS: dict[str, tuple[str, ...]] = {
    "postgres": ("xmin_state",),
    "kafka": ("kafka_offsets",),
    "mssql": ("cdc_offsets",),
    "mysql": ("cdc_offsets",),
}
FALLBACK_CHECKS = ("run_state",)
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def _safe(part: str) -> str:
    """A blocker-code-safe spelling of a name taken from an input."""
    return _UNSAFE.sub("_", part) or "_"


@dataclass(frozen=True)
class StatePolicy:
    required: tuple[str, ...] = DEFAULT_REQUIRED
    extra_backends: tuple[str, ...] = ()
    checks: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: APPLICABLE_CHECKS)


def required_pairs(state: StateEvidence | None, policy: StatePolicy) -> list[tuple[str, str]]:
    """Every backend x check that must be proven (see :func:`evaluate`, step 2)."""
    backends = set(policy.extra_backends)
    pairs: set[tuple[str, str]] = set()
    if state is not None:
        backends.update(state.state_backends)
        pairs.update((r.backend, r.check) for r in state.required)
        pairs.update((c.backend, c.check) for c in state.cases)
    for backend in backends:
        checks = set(policy.checks.get(backend, ())) | {c for b, c in pairs if b == backend}
        pairs.update((backend, c) for c in (checks or set(FALLBACK_CHECKS)))
    return sorted(pairs)


def evaluate(
    artifacts: Mapping[str, LoadedArtifact], policy: StatePolicy, *, stamp: Stamp
) -> LiveStateReconciliation:
    """Judge state and delete-reconciliation evidence.

    1. Every required input is present, valid, bound to this release/commit/profile and
       passed; each problem is the artifact's own blocker (``state.missing``, ...).
    2. The required backend x check pairs are: the backends in the state evidence plus
       ``--require-backend``, each with its applicable check (xmin_state, kafka_offsets,
       cdc_offsets; else run_state), plus every pair the evidence declares or executed;
       state evidence with no pair at all is ``state.empty``.
    3. Each pair needs a passed test (``.missing``), no red test (``.not_passed``) and a
       recorded load that advanced the state (``.unobserved``).
    4. Every recorded observation: state advanced without a successful load
       (``.advanced_without_load``) or before it was committed (``.committed_before_load``),
       or stayed put after a successful load (``.stayed_put``).
    5. Physical deletes are proven only by a passed reconciliation artifact with a passed
       delete reconciliation over > 0 deletes (else ``delete_reconciliation.missing``); any
       mismatched rows are ``reconciliation.mismatched_rows``.
    """
    blockers: list[str] = []
    # 1. inputs
    loaded = dict(artifacts)
    for name in policy.required:
        loaded.setdefault(name, missing(name))
    statuses = [loaded[name].status for name in sorted(loaded)]
    for status in statuses:
        blockers.extend(status.blockers)
    state_in = loaded.get("state")
    state = state_in.model if state_in and isinstance(state_in.model, StateEvidence) else None
    # 2. required pairs; proving nothing is not a pass
    pairs = required_pairs(state, policy)
    if state is not None and not pairs:
        blockers.append("state.empty")
    # 3. + 4. per pair, then every observation
    results: list[StateCheckResult] = []
    for backend, check in pairs:
        cases = [c for c in state.cases if (c.backend, c.check) == (backend, check)] if state \
            else []
        observed = [o for o in state.observations if (o.backend, o.check) == (backend, check)] \
            if state else []
        passed_tests = sum(c.status == "passed" for c in cases)
        red_tests = len(cases) - passed_tests
        good = sum(o.advanced and o.load_succeeded and o.committed_after_load for o in observed)
        bad = [o for o in observed if _violation(o.advanced, o.load_succeeded,
                                                  o.committed_after_load)]
        code = f"state.{_safe(backend)}.{_safe(check)}"
        pair_blockers = []
        if passed_tests == 0:
            pair_blockers.append(f"{code}.missing")
        if red_tests:
            pair_blockers.append(f"{code}.not_passed")
        if good == 0:
            pair_blockers.append(f"{code}.unobserved")
        blockers.extend(pair_blockers)
        results.append(StateCheckResult(
            backend=backend, check=check, passed_tests=passed_tests, failed_tests=red_tests,
            observations=len(observed), advanced_after_load=good, violations=len(bad),
            passed=not pair_blockers and not bad,
        ))
    if state is not None:
        for obs in state.observations:
            reason = _violation(obs.advanced, obs.load_succeeded, obs.committed_after_load)
            if reason:
                blockers.append(f"state.{_safe(obs.backend)}.{_safe(obs.check)}.{reason}")
    # 5. deletes
    recon_in = loaded.get("reconciliation")
    recon = recon_in.model if recon_in and isinstance(recon_in.model, ReconciliationEvidence) \
        else None
    proven = bool(
        recon is not None and recon_in is not None and recon_in.passed
        and recon.delete_reconciliation.passed
        and recon.delete_reconciliation.physical_deletes_checked > 0
    )
    deletes = recon.delete_reconciliation.physical_deletes_checked if recon and proven else 0
    if not proven:
        blockers.append("delete_reconciliation.missing")
    if recon is not None and any(o.mismatched_rows for o in recon.observations):
        blockers.append("reconciliation.mismatched_rows")
    summary = (
        f"{sum(r.passed for r in results)} of {len(results)} state checks proven; "
        f"physical deletes {'proven (' + str(deletes) + ')' if proven else 'not proven'}"
    )
    return LiveStateReconciliation.build(
        stamp, blockers=blockers, summary=summary,
        state_backends=sorted({b for b, _ in pairs}),
        state_checks=sorted({c for _, c in pairs}),
        backend_checks=results, delete_reconciliation_checked=proven,
        physical_deletes_checked=deletes, required=sorted(set(policy.required)),
        artifacts=statuses, executed=bool(state and state.cases),
    )


def _violation(advanced: bool, load_succeeded: bool, committed_after_load: bool) -> str | None:
    if advanced and not load_succeeded:
        return "advanced_without_load"
    if advanced and not committed_after_load:
        return "committed_before_load"
    if load_succeeded and not advanced:
        return "stayed_put"
    return None


def render_markdown(report: LiveStateReconciliation, *, notes: Sequence[str] = ()) -> str:
    """The Markdown twin of the report, with the blockers and the runbook."""
    head = [
        f"- profile: {md_escape(report.profile or 'none')}",
        f"- passed: {md_bool(report.passed)}",
        f"- evidence status: {report.evidence_status}",
        f"- state backends: {md_escape(', '.join(report.state_backends) or 'none')}",
        f"- state checks: {md_escape(', '.join(report.state_checks) or 'none')}",
        f"- delete reconciliation checked: {md_bool(report.delete_reconciliation_checked)}"
        f" ({report.physical_deletes_checked} physical deletes)",
        f"- summary: {md_escape(report.summary)}",
        "- inputs must be the plugin's `state_evidence.json` and `reconciliation_evidence.json`;"
        " hand-written or legacy state files are not accepted as evidence",
        *(f"- {md_escape(n)}" for n in notes),
    ]
    checks = ["## State checks", "", *md_table(
        ["backend", "check", "passed tests", "red tests", "observations",
         "advanced after load", "violations", "passed"],
        [[r.backend, r.check, r.passed_tests, r.failed_tests, r.observations,
          r.advanced_after_load, r.violations, md_bool(r.passed)] for r in report.backend_checks],
    )]
    inputs = ["## Inputs", "", *md_table(
        ["artifact", "required", "exists", "passed", "kind", "sha256", "summary", "path"],
        [[a.name, md_bool(a.required), md_bool(a.exists), md_bool(a.passed), a.kind or "",
          a.sha256 or "", a.summary, a.path] for a in report.artifacts],
    )]
    return md_document("Live state reconciliation", [
        head, checks, inputs, md_blockers(report.blockers),
        markdown_section(list(report.blockers), general=STATE_GENERAL),
    ])
