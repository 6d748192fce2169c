"""Artifacts the pytest plugin writes into the evidence dir (SPEC §4.4).

The plugin records; these models only check that a record is internally consistent
(totals agree with cases, a verdict agrees with its own facts). Judging a release
against a policy is the gates' job.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from dpone_ops.models.base import (
    Artifact,
    NonNegInt,
    PosInt,
    Sha256Hex,
    StrictModel,
    Timestamp,
)

CaseStatus = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
NonNegFloat = Annotated[float, Field(ge=0)]
# JSON-safe values a test recorded (the plugin checks JSON-safety before writing).
JSONValue = Any


class ShardInfo(StrictModel):
    """Which slice of the collected tests a run executed (SPEC §4.6)."""

    id: str
    index: NonNegInt
    count: PosInt
    collected_digest: Sha256Hex
    collected_count: NonNegInt

    @model_validator(mode="after")
    def _index_in_range(self) -> ShardInfo:
        if self.index >= self.count:
            raise ValueError("shard index must be < shard count")
        return self


class Totals(StrictModel):
    """Counts in the original receipt's vocabulary (``failures``/``errors``)."""

    tests: NonNegInt
    passed: NonNegInt
    skipped: NonNegInt
    failures: NonNegInt
    errors: NonNegInt
    xfailed: NonNegInt = 0
    xpassed: NonNegInt = 0


_TOTAL_OF_STATUS = {
    "passed": "passed",
    "failed": "failures",
    "error": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}


def _check_totals(totals: Totals, statuses: list[str]) -> None:
    counts = Counter(_TOTAL_OF_STATUS[s] for s in statuses)
    if totals.tests != len(statuses):
        raise ValueError(f"totals.tests ({totals.tests}) must equal the number of cases "
                         f"({len(statuses)})")
    for key in _TOTAL_OF_STATUS.values():
        if getattr(totals, key) != counts.get(key, 0):
            raise ValueError(f"totals.{key} ({getattr(totals, key)}) must equal the cases "
                             f"with that outcome ({counts.get(key, 0)})")


class Attempt(StrictModel):
    """One run of a test; reruns keep every attempt, the last one decides."""

    status: CaseStatus
    duration_ms: NonNegFloat | None = None
    longrepr: str | None = None


class Case(StrictModel):
    """One marked test as executed (or not) in this run."""

    node_id: str
    status: CaseStatus
    services: list[str] = Field(default_factory=list)
    duration_ms: NonNegFloat | None = None
    worker: str | None = None
    shard: str | None = None
    skip_reason: str | None = None
    retried: bool = False
    attempts: list[Attempt] = Field(default_factory=list)


class ServiceGate(StrictModel):
    min_passed: NonNegInt
    max_skipped: NonNegInt


class ServiceTally(StrictModel):
    """Per-service breakdown, with the provider that served it."""

    tests: NonNegInt
    passed: NonNegInt
    skipped: NonNegInt
    failures: NonNegInt
    errors: NonNegInt
    xfailed: NonNegInt = 0
    xpassed: NonNegInt = 0
    required: bool
    provider: str | None = None
    endpoint: str | None = None
    server_version: str | None = None
    passed_gate: bool


class ServiceMarkers(Artifact):
    """``service_markers.json``: the original receipt keys plus per-service detail."""

    kind: Literal["service_markers"] = "service_markers"
    status: Literal["PASS", "FAIL"]
    gate: ServiceGate
    totals: Totals
    cases: list[Case]
    message: str
    required_services: list[str]
    services: dict[str, ServiceTally]
    complete: bool
    shard: ShardInfo | None = None

    @model_validator(mode="after")
    def _receipt_rules(self) -> ServiceMarkers:
        if (self.status == "PASS") != self.passed:
            raise ValueError("status must be PASS if and only if passed is true")
        _check_totals(self.totals, [c.status for c in self.cases])
        if not set(self.required_services) <= set(self.services):
            raise ValueError("every required service needs an entry in services")
        return self


class StateObservation(StrictModel):
    """``record_state``: a state value before and after one load."""

    node_id: str
    backend: str
    check: str
    before: JSONValue
    after: JSONValue
    load_succeeded: bool
    committed_after_load: bool
    advanced: bool

    @model_validator(mode="after")
    def _advanced_is_derived(self) -> StateObservation:
        if self.advanced != (self.before != self.after):
            raise ValueError("advanced must equal (before != after)")
        return self


class StateCase(StrictModel):
    node_id: str
    backend: str
    check: str
    status: CaseStatus
    skip_reason: str | None = None


class BackendCheck(StrictModel):
    backend: str
    check: str


class StateEvidence(Artifact):
    """``state_evidence.json``: state-backend tests and what they observed."""

    kind: Literal["state_evidence"] = "state_evidence"
    state_backends: list[str]
    checks: list[str]
    required: list[BackendCheck]
    covered: list[BackendCheck]
    cases: list[StateCase]
    observations: list[StateObservation]
    totals: Totals
    complete: bool

    @model_validator(mode="after")
    def _state_rules(self) -> StateEvidence:
        _check_totals(self.totals, [c.status for c in self.cases])
        return self


ReconciliationKind = Literal["physical_delete", "row_count", "checksum"]


class ReconciliationObservation(StrictModel):
    """``record_reconciliation``: source vs sink after one run."""

    node_id: str
    kind: ReconciliationKind
    source_rows: NonNegInt | None = None
    sink_rows: NonNegInt | None = None
    deleted_at_source: NonNegInt | None = None
    deleted_at_sink: NonNegInt | None = None
    mismatched_rows: NonNegInt = 0


class ReconciliationCase(StrictModel):
    node_id: str
    kind: ReconciliationKind
    status: CaseStatus
    skip_reason: str | None = None


class DeleteReconciliation(StrictModel):
    passed: bool
    physical_deletes_checked: NonNegInt


class ReconciliationEvidence(Artifact):
    """``reconciliation_evidence.json``: reconciliation tests and their counts."""

    kind: Literal["reconciliation_evidence"] = "reconciliation_evidence"
    delete_reconciliation: DeleteReconciliation
    cases: list[ReconciliationCase]
    observations: list[ReconciliationObservation]
    totals: Totals
    complete: bool

    @model_validator(mode="after")
    def _reconciliation_rules(self) -> ReconciliationEvidence:
        _check_totals(self.totals, [c.status for c in self.cases])
        if self.passed and not self.delete_reconciliation.passed:
            raise ValueError("cannot pass without a passed physical-delete reconciliation")
        if self.delete_reconciliation.passed and (
            self.delete_reconciliation.physical_deletes_checked == 0
        ):
            raise ValueError("delete reconciliation cannot pass with 0 physical deletes checked")
        return self


HEADLINE_METRICS = (
    "throughput_rows_per_second",
    "duration_seconds",
    "memory_peak_mb",
    "failure_rate",
)


class BenchmarkStats(StrictModel):
    min: float
    max: float
    mean: float
    median: float
    stddev: float
    rounds: NonNegInt
    ops: float | None = None


class MetricSample(StrictModel):
    """One measurement: ``measure()``, ``metric()`` or a pytest-benchmark result."""

    node_id: str
    source: Literal["measure", "metric", "benchmark"]
    name: str
    value: float
    unit: str
    status: CaseStatus | None = None
    stats: BenchmarkStats | None = None
    extra_info: dict[str, JSONValue] = Field(default_factory=dict)


class PerformanceMetrics(Artifact):
    """``performance_metrics.json``: a record; ``performance-certification`` judges it."""

    kind: Literal["performance_metrics"] = "performance_metrics"
    metrics: dict[str, float]
    samples: list[MetricSample]
    complete: bool


class CertificationCell(StrictModel):
    """One source→sink matrix cell: ``<source>_to_<sink>__<strategy>``."""

    case_id: str
    source: str
    sink: str
    strategy: str
    status: Literal["PASS", "FAIL", "UNVERIFIED"]
    node_ids: list[str]
    tests: NonNegInt
    passed: NonNegInt
    failures: NonNegInt
    errors: NonNegInt
    skipped: NonNegInt

    @model_validator(mode="after")
    def _cell_rules(self) -> CertificationCell:
        if self.case_id != f"{self.source}_to_{self.sink}__{self.strategy}":
            raise ValueError("case_id must be <source>_to_<sink>__<strategy>")
        if (self.status == "PASS") != (
            self.passed > 0 and self.failures == 0 and self.errors == 0 and self.skipped == 0
        ):
            raise ValueError("a cell is PASS iff it has a passed test and nothing else")
        return self


class MatrixCoverage(StrictModel):
    case_count: NonNegInt
    sources: list[str]
    sinks: list[str]
    strategies: list[str]


class CertificationReport(Artifact):
    """``certification_report.json``: the source→sink matrix as executed."""

    kind: Literal["certification_report"] = "certification_report"
    cells: list[CertificationCell]
    coverage: MatrixCoverage
    complete: bool

    @model_validator(mode="after")
    def _report_rules(self) -> CertificationReport:
        if self.coverage.case_count != len(self.cells):
            raise ValueError("coverage.case_count must equal the number of cells")
        if self.passed and not self.cells:
            raise ValueError("a certification report with no cells cannot pass")
        return self


class ReleaseCheckTally(StrictModel):
    """The tests that prove one pre-release check, and how they ended."""

    tests: NonNegInt
    passed: NonNegInt
    failed: NonNegInt
    errors: NonNegInt
    skipped: NonNegInt
    xfailed: NonNegInt = 0
    xpassed: NonNegInt = 0
    status: Literal["PASS", "FAIL", "UNVERIFIED"]
    node_ids: list[str]

    @model_validator(mode="after")
    def _tally_rules(self) -> ReleaseCheckTally:
        outcomes = (self.passed, self.failed, self.errors, self.skipped, self.xfailed,
                    self.xpassed)
        if self.tests != sum(outcomes):
            raise ValueError("tests must equal passed + failed + errors + skipped + xfailed "
                             "+ xpassed")
        if len(self.node_ids) != self.tests:
            raise ValueError("node_ids must name each test of the check once")
        not_run = self.skipped + self.xfailed + self.xpassed
        expected = ("FAIL" if self.failed or self.errors
                    else "PASS" if self.passed and not not_run else "UNVERIFIED")
        if self.status != expected:
            raise ValueError("a check is PASS iff >= 1 test passed and none failed, errored or "
                             "was skipped (xfail/xpass count as skipped); FAIL iff one failed "
                             "or errored; else UNVERIFIED")
        return self


class ReleaseCheckCase(StrictModel):
    """One ``release_check``-marked test and the checks it proves."""

    node_id: str
    checks: list[str]
    status: CaseStatus
    duration_ms: NonNegFloat | None = None
    worker: str | None = None
    shard: str | None = None
    skip_reason: str | None = None
    retried: bool = False


class ReleaseChecks(Artifact):
    """``release_checks.json``: per pre-release check, the tests that prove it."""

    kind: Literal["release_checks"] = "release_checks"
    checks: dict[str, ReleaseCheckTally]
    cases: list[ReleaseCheckCase]
    totals: Totals
    complete: bool

    @model_validator(mode="after")
    def _release_check_rules(self) -> ReleaseChecks:
        _check_totals(self.totals, [c.status for c in self.cases])
        named: dict[str, list[str]] = {}
        for case in self.cases:
            for check in case.checks:
                named.setdefault(check, []).append(case.node_id)
        for name, tally in self.checks.items():
            if sorted(tally.node_ids) != sorted(named.get(name, [])):
                raise ValueError(f"checks.{name}.node_ids must be the cases naming {name}")
        if set(named) != set(self.checks):
            raise ValueError("every check a case names needs an entry in checks, and only those")
        if self.passed and not self.checks:
            raise ValueError("release checks with no tested check cannot pass")
        if self.passed and any(t.status != "PASS" for t in self.checks.values()):
            raise ValueError("cannot pass while a check is not PASS")
        return self


class RunTotals(StrictModel):
    """Counts over every test of the session, as pytest's JUnit XML counts them."""

    tests: NonNegInt
    passed: NonNegInt
    failures: NonNegInt
    errors: NonNegInt
    skipped: NonNegInt
    xfailed: NonNegInt
    xpassed: NonNegInt
    deselected: NonNegInt
    rerun: NonNegInt


class ManifestEntry(StrictModel):
    name: str
    file: str
    sha256: Sha256Hex
    size_bytes: NonNegInt


class Versions(StrictModel):
    python: str
    pytest: str
    plugin: str
    xdist: str | None = None
    benchmark: str | None = None


class RunManifest(Artifact):
    """``run_manifest.json``: how the session ran and what it wrote."""

    kind: Literal["run_manifest"] = "run_manifest"
    totals: RunTotals
    versions: Versions
    argv: list[str]
    xdist_workers: NonNegInt
    started_at: Timestamp
    finished_at: Timestamp
    duration_seconds: NonNegFloat
    # None when the session was hard-killed and the artifacts were recovered from its journal.
    exit_status: int | None
    interrupted: bool
    collected: NonNegInt
    deselected: NonNegInt
    shard: ShardInfo | None
    dirty: bool | None
    ci: dict[str, str]
    artifacts: list[ManifestEntry]
    complete: bool

    @model_validator(mode="after")
    def _manifest_rules(self) -> RunManifest:
        if self.passed and (self.exit_status != 0 or self.interrupted or not self.complete):
            raise ValueError("a run that exited non-zero or was interrupted cannot pass")
        return self


class ShardSource(StrictModel):
    """One shard evidence dir as ``merge-evidence`` found it."""

    # Built on first use: the plugin imports this module to write a session's evidence,
    # and only merge-evidence and recover-evidence ever validate this model.
    model_config = ConfigDict(defer_build=True)

    dir: str
    id: str | None
    index: int | None
    count: int | None
    commit_sha: str | None
    collected_digest: str | None
    cases: NonNegInt
    ended: bool
    complete: bool
    exit_status: int | None


class AssembledArtifact(StrictModel):
    # Built on first use: the plugin imports this module to write a session's evidence,
    # and only merge-evidence and recover-evidence ever validate this model.
    model_config = ConfigDict(defer_build=True)

    name: str
    file: str
    evidence_status: Literal["PASS", "FAIL", "UNVERIFIED"]


class EvidenceMerge(Artifact):
    """``merge_evidence.json``: how shard evidence dirs became one (SPEC §4.6)."""

    # Built on first use: the plugin imports this module to write a session's evidence,
    # and only merge-evidence and recover-evidence ever validate this model.
    model_config = ConfigDict(defer_build=True)

    kind: Literal["evidence_merge"] = "evidence_merge"
    expect_shards: PosInt
    shards: list[ShardSource]
    conflicts: list[str]
    artifacts: list[AssembledArtifact]
    output_dir: str


class EvidenceRecovery(Artifact):
    """``recover_evidence.json``: artifacts rebuilt from a journal (SPEC §4.5)."""

    # Built on first use: the plugin imports this module to write a session's evidence,
    # and only merge-evidence and recover-evidence ever validate this model.
    model_config = ConfigDict(defer_build=True)

    kind: Literal["evidence_recovery"] = "evidence_recovery"
    journal: str
    cases: NonNegInt
    session_ended: bool
    torn_tail: bool
    artifacts: list[AssembledArtifact]
    output_dir: str
