"""``certification-pack``: the source->sink matrix, its coverage and how the run went.

Built from the plugin's ``certification_report.json`` plus, optionally, performance,
state and run-manifest artifacts. ``evidence_status`` is PASS only when every item (each
matrix cell and each given artifact) is PASS.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from dpone_ops.artifact_validation import LoadedArtifact, missing
from dpone_ops.models.base import Stamp
from dpone_ops.models.evidence import (
    CertificationReport,
    PerformanceMetrics,
    RunManifest,
    StateEvidence,
)
from dpone_ops.models.gates import (
    ConnectorCertificationPack,
    ItemStatus,
    LiveStateReconciliation,
    MatrixCoverageSummary,
    Observability,
    PackItem,
    PerformanceCertification,
)
from dpone_ops.models.status import ArtifactStatus
from dpone_ops.runbook import PACK_GENERAL, markdown_section
from dpone_ops.writing import (
    compact_canonical_bytes,
    md_blockers,
    md_bool,
    md_document,
    md_escape,
    md_table,
)

NAME = "connector_certification_pack"
MATRIX = "certification_report"
DEFAULT_REQUIRED = (MATRIX,)
# The slots this command reads; anything else is a usage error, not a silent ignore.
KNOWN_INPUTS = (
    MATRIX,
    "performance_metrics",
    "performance_certification",
    "state",
    "reconciliation",
    "live_state_reconciliation",
    "run_manifest",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


@dataclass(frozen=True)
class PackPolicy:
    required: tuple[str, ...] = DEFAULT_REQUIRED


def _item_status(status: ArtifactStatus) -> ItemStatus:
    if status.passed:
        return "PASS"
    return "UNVERIFIED" if not status.exists else "FAIL"


def pack_id(statuses: list[ArtifactStatus]) -> str:
    """A stable id for these exact inputs: a digest over each name and content digest."""
    bound = [[s.name, s.sha256] for s in sorted(statuses, key=lambda s: s.name)]
    digest = hashlib.sha256(b"dpone-certification-pack/v1\0" + compact_canonical_bytes(bound))
    return f"ccp-{digest.hexdigest()[:16]}"


def evaluate(
    artifacts: Mapping[str, LoadedArtifact], policy: PackPolicy, *, stamp: Stamp
) -> ConnectorCertificationPack:
    """Assemble and judge the pack.

    1. Every required input (``certification_report`` plus ``--require``) is present; every
       given input is valid, bound and passed; each is an item with its own status.
    2. Every matrix cell is an item; a cell that is not PASS is ``<case_id>.not_passed``;
       a matrix without cells is ``matrix.empty``. Coverage is recomputed from the cells.
    3. Observability comes from the run manifest, performance from the performance
       certification (else the raw metrics), state from the state gate (else evidence).
    """
    blockers: list[str] = []
    # 1. inputs as items
    loaded = dict(artifacts)
    for name in policy.required:
        loaded.setdefault(name, missing(name))
    statuses = [loaded[name].status for name in sorted(loaded)]
    items: list[PackItem] = []
    for status in statuses:
        blockers.extend(status.blockers)
        items.append(PackItem(id=f"artifact:{status.name}", type="artifact",
                              status=_item_status(status),
                              summary=status.summary, blocker=status.blocker))
    # 2. matrix
    report_in = loaded.get(MATRIX)
    report = report_in.model if report_in and isinstance(report_in.model, CertificationReport) \
        else None
    cells = report.cells if report else []
    for cell in sorted(cells, key=lambda c: c.case_id):
        code = None if cell.status == "PASS" else f"{_UNSAFE.sub('_', cell.case_id)}.not_passed"
        if code:
            blockers.append(code)
        items.append(PackItem(
            id=cell.case_id, type="matrix_cell", status=cell.status, source=cell.source,
            sink=cell.sink, strategy=cell.strategy, tests=cell.tests,
            summary=f"{cell.passed} passed, {cell.failures} failed, {cell.errors} errors, "
                    f"{cell.skipped} skipped",
            blocker=code,
        ))
    if report is not None and not cells:
        blockers.append("matrix.empty")
    coverage = MatrixCoverageSummary(
        case_count=len(cells), sources=sorted({c.source for c in cells}),
        sinks=sorted({c.sink for c in cells}), strategies=sorted({c.strategy for c in cells}),
    )
    # 3. summaries
    observability = _observability(loaded.get("run_manifest"))
    performance = _performance(loaded)
    state_summary = _state_summary(loaded)
    summary = (
        f"{sum(i.status == 'PASS' for i in items)} of {len(items)} items PASS; "
        f"{coverage.case_count} matrix cells over {len(coverage.sources)} sources, "
        f"{len(coverage.sinks)} sinks, {len(coverage.strategies)} strategies"
    )
    return ConnectorCertificationPack.build(
        stamp, blockers=blockers, summary=summary, pack_id=pack_id(statuses),
        coverage=coverage, items=items, observability=observability, performance=performance,
        state_summary=state_summary, required=sorted(set(policy.required)), artifacts=statuses,
        executed=bool(cells),
    )


def _observability(loaded: LoadedArtifact | None) -> Observability | None:
    manifest = loaded.model if loaded and isinstance(loaded.model, RunManifest) else None
    if manifest is None:
        return None
    v, t = manifest.versions, manifest.totals
    return Observability(
        python=v.python, pytest=v.pytest, plugin=v.plugin, xdist=v.xdist, benchmark=v.benchmark,
        started_at=manifest.started_at, finished_at=manifest.finished_at,
        duration_seconds=manifest.duration_seconds, exit_status=manifest.exit_status,
        interrupted=manifest.interrupted, xdist_workers=manifest.xdist_workers,
        tests=t.tests, passed=t.passed, failures=t.failures, errors=t.errors, skipped=t.skipped,
    )


def _performance(loaded: Mapping[str, LoadedArtifact]) -> dict[str, float] | None:
    cert = loaded.get("performance_certification")
    if cert and isinstance(cert.model, PerformanceCertification):
        return dict(cert.model.metrics)
    raw = loaded.get("performance_metrics")
    if raw and isinstance(raw.model, PerformanceMetrics):
        return dict(raw.model.metrics)
    return None


def _state_summary(loaded: Mapping[str, LoadedArtifact]) -> str | None:
    gate = loaded.get("live_state_reconciliation")
    if gate and isinstance(gate.model, LiveStateReconciliation):
        return f"{gate.model.evidence_status}: {gate.model.summary}"
    state = loaded.get("state")
    if state and isinstance(state.model, StateEvidence):
        pairs = ", ".join(f"{c.backend}/{c.check}" for c in state.model.covered) or "none"
        return f"{state.model.evidence_status}: covered {pairs}"
    return None


def render_markdown(report: ConnectorCertificationPack) -> str:
    """The Markdown twin of the pack, with the blockers and the runbook."""
    cov = report.coverage
    head = [
        f"- pack id: `{report.pack_id}`",
        f"- profile: {md_escape(report.profile or 'none')}",
        f"- passed: {md_bool(report.passed)}",
        f"- evidence status: {report.evidence_status}",
        f"- summary: {md_escape(report.summary)}",
        f"- coverage: {cov.case_count} cases; sources {md_escape(', '.join(cov.sources) or '-')}"
        f"; sinks {md_escape(', '.join(cov.sinks) or '-')}"
        f"; strategies {md_escape(', '.join(cov.strategies) or '-')}",
    ]
    items = ["## Items", "", *md_table(
        ["item", "type", "status", "source", "sink", "strategy", "summary", "blocker"],
        [[i.id, i.type, i.status, i.source or "", i.sink or "", i.strategy or "", i.summary,
          i.blocker or ""] for i in report.items],
    )]
    obs = ["## Observability", ""]
    o = report.observability
    if o is None:
        obs.append("- no run manifest given")
    else:
        obs.extend([
            f"- versions: python {md_escape(o.python)}, pytest {md_escape(o.pytest)}, "
            f"plugin {md_escape(o.plugin)}, xdist {md_escape(o.xdist or '-')}, "
            f"pytest-benchmark {md_escape(o.benchmark or '-')}",
            f"- run: {md_escape(o.started_at)} to {md_escape(o.finished_at)} "
            f"({o.duration_seconds:g} s, {o.xdist_workers} xdist workers)",
            f"- exit status: {'unknown (recovered)' if o.exit_status is None else o.exit_status}"
            f"; interrupted: {md_bool(o.interrupted)}",
            f"- tests: {o.tests} ({o.passed} passed, {o.failures} failed, {o.errors} errors, "
            f"{o.skipped} skipped)",
        ])
    perf = ["## Performance and state", ""]
    if report.performance is not None:
        perf.extend(f"- {md_escape(k)}: {v:g}" for k, v in sorted(report.performance.items()))
    else:
        perf.append("- no performance artifact given")
    perf.append(f"- state: {md_escape(report.state_summary or 'no state artifact given')}")
    return md_document("Connector certification pack", [
        head, items, obs, perf, md_blockers(report.blockers),
        markdown_section(list(report.blockers), general=PACK_GENERAL),
    ])
