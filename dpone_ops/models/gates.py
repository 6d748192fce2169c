"""Reports of the five gates of SPEC §5: plan, performance, state, matrix pack, checklist."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from dpone_ops.models.base import Artifact, BlockerCode, NonNegInt, PosInt, StrictModel
from dpone_ops.models.baseline import MachineInfo
from dpone_ops.models.evidence import ReleaseCheckTally
from dpone_ops.models.status import ArtifactStatus

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
ItemStatus = Literal["PASS", "FAIL", "UNVERIFIED"]


# --- live-certification-plan -------------------------------------------------------------


class PlanStep(StrictModel):
    """One command of the plan, in the order it runs."""

    name: str
    command: str
    env: dict[str, str]
    expected_artifacts: list[str]
    required: bool
    note: str | None = None


class LiveCertificationPlan(Artifact):
    """``live_certification_plan.json``: what to run for a profile, and what it must yield."""

    kind: Literal["live_certification_plan"] = "live_certification_plan"
    row_count: PosInt
    services: list[str]
    evidence_dir: str
    output_root: str
    compose_file: str | None
    steps: list[PlanStep]
    required_env: list[str]
    credentials_present: list[str]
    credentials_missing: list[str]

    @model_validator(mode="after")
    def _plan_rules(self) -> LiveCertificationPlan:
        names = [s.name for s in self.steps]
        if len(names) != len(set(names)):
            raise ValueError("step names must be unique")
        if set(self.credentials_present) & set(self.credentials_missing):
            raise ValueError("a credential cannot be both present and missing")
        if self.passed and self.credentials_missing:
            raise ValueError("a plan with missing credentials cannot pass")
        if self.passed and not self.services:
            raise ValueError("a plan that exercises no service cannot pass")
        return self


# --- performance-certification -----------------------------------------------------------


class MetricResult(StrictModel):
    """One metric judged against one rule (contract-reference §3, plus ``regression``)."""

    metric: str
    value: FiniteFloat | None
    rule: Literal["min", "max", "regression"]
    threshold: FiniteFloat
    passed: bool
    blocker: BlockerCode | None
    direction: Literal["higher", "lower"] | None = None
    baseline: FiniteFloat | None = None

    @model_validator(mode="after")
    def _result_rules(self) -> MetricResult:
        if self.passed == (self.blocker is not None):
            raise ValueError("a result has a blocker if and only if it did not pass")
        if self.value is None and self.passed:
            raise ValueError("a missing value cannot pass")
        return self


class MetricsSource(StrictModel):
    """Where the measured values came from."""

    kind: Literal["inline", "performance_metrics", "pytest_benchmark"]
    path: str | None
    sha256: str | None
    benchmark_count: NonNegInt | None = None
    derivation: dict[str, str] = Field(default_factory=dict)


class BaselineComparison(StrictModel):
    """The baseline a run was compared with, and whether it was comparable."""

    path: str
    sha256: str | None
    profile: str | None
    row_count: PosInt | None
    machine: MachineInfo | None
    measured_on: MachineInfo | None
    max_regression: FiniteFloat
    mismatches: list[str]
    used: bool


class PerformanceCertification(Artifact):
    """``performance_certification.json``: every metric against its thresholds."""

    kind: Literal["performance_certification"] = "performance_certification"
    row_count: PosInt
    metrics: dict[str, FiniteFloat]
    results: list[MetricResult]
    source: MetricsSource
    baseline: BaselineComparison | None
    artifacts: list[ArtifactStatus]

    @model_validator(mode="after")
    def _performance_rules(self) -> PerformanceCertification:
        if self.passed and not self.results:
            raise ValueError("a certification that judged no threshold cannot pass")
        if self.passed and not all(r.passed for r in self.results):
            raise ValueError("cannot pass while a result failed")
        if self.baseline is not None and self.passed and not self.baseline.used:
            raise ValueError("cannot pass with a baseline that was not used")
        return self


# --- live-state-reconciliation -----------------------------------------------------------


class StateCheckResult(StrictModel):
    """One required backend x check, as the state evidence proves it."""

    backend: str
    check: str
    passed_tests: NonNegInt
    failed_tests: NonNegInt
    observations: NonNegInt
    advanced_after_load: NonNegInt
    violations: NonNegInt
    passed: bool


class LiveStateReconciliation(Artifact):
    """``live_state_reconciliation.json`` with the field names of contract-reference §4."""

    kind: Literal["live_state_reconciliation"] = "live_state_reconciliation"
    state_backends: list[str]
    state_checks: list[str]
    backend_checks: list[StateCheckResult]
    delete_reconciliation_checked: bool
    physical_deletes_checked: NonNegInt
    required: list[str]
    artifacts: list[ArtifactStatus]

    @model_validator(mode="after")
    def _state_rules(self) -> LiveStateReconciliation:
        if self.passed and not self.delete_reconciliation_checked:
            raise ValueError("cannot pass without a proven physical-delete reconciliation")
        if self.passed and not self.backend_checks:
            raise ValueError("cannot pass without a single state check")
        if self.passed and not all(a.passed for a in self.artifacts):
            raise ValueError("cannot pass while an input artifact is red")
        return self


# --- certification-pack ------------------------------------------------------------------


class MatrixCoverageSummary(StrictModel):
    case_count: NonNegInt
    sources: list[str]
    sinks: list[str]
    strategies: list[str]


class PackItem(StrictModel):
    """A matrix cell or an input artifact, with its own status."""

    id: str
    type: Literal["matrix_cell", "artifact"]
    status: ItemStatus
    source: str | None = None
    sink: str | None = None
    strategy: str | None = None
    tests: NonNegInt | None = None
    summary: str
    blocker: BlockerCode | None


class Observability(StrictModel):
    """How the run that produced the evidence went (from ``run_manifest.json``)."""

    python: str
    pytest: str
    plugin: str
    xdist: str | None
    benchmark: str | None
    started_at: str
    finished_at: str
    duration_seconds: FiniteFloat
    exit_status: int | None  # None: a hard-killed session recovered from its journal
    interrupted: bool
    xdist_workers: NonNegInt
    tests: NonNegInt
    passed: NonNegInt
    failures: NonNegInt
    errors: NonNegInt
    skipped: NonNegInt


class ConnectorCertificationPack(Artifact):
    """``connector_certification_pack.json``: matrix coverage and every item's status."""

    kind: Literal["connector_certification_pack"] = "connector_certification_pack"
    pack_id: str
    coverage: MatrixCoverageSummary
    items: list[PackItem]
    observability: Observability | None
    performance: dict[str, FiniteFloat] | None
    state_summary: str | None
    required: list[str]
    artifacts: list[ArtifactStatus]

    @model_validator(mode="after")
    def _pack_rules(self) -> ConnectorCertificationPack:
        if self.passed and not any(i.type == "matrix_cell" for i in self.items):
            raise ValueError("a pack with no matrix cell cannot pass")
        if self.passed and not all(i.status == "PASS" for i in self.items):
            raise ValueError("evidence_status is PASS only when every item is PASS")
        return self


# --- pre-release-checklist ---------------------------------------------------------------


class ChecklistItem(StrictModel):
    """One check; ``source`` says whether a person asserted it or evidence proved it.

    ``value`` is what ``--check`` asserted (kept beside evidence, which wins); ``tests`` is
    the check's tally in ``release_checks.json`` when that file answered it.
    """

    name: str
    required: bool
    passed: bool
    blocker: BlockerCode | None
    source: Literal["asserted", "evidence"] | None
    value: str | None = None
    artifact: ArtifactStatus | None = None
    tests: ReleaseCheckTally | None = None

    @model_validator(mode="after")
    def _item_rules(self) -> ChecklistItem:
        if self.passed == (self.blocker is not None):
            raise ValueError("a check has a blocker if and only if it did not pass")
        if (self.source == "evidence") != (self.artifact is not None):
            raise ValueError("an evidenced check carries its artifact status, others none")
        if self.source is None and self.passed:
            raise ValueError("a check nobody answered cannot pass")
        if self.tests is not None and self.source != "evidence":
            raise ValueError("a check with a test tally is evidenced")
        if self.passed and self.tests is not None and self.tests.status != "PASS":
            raise ValueError("a check whose tests are not PASS cannot pass")
        return self


class PreReleaseChecklist(Artifact):
    """``pre_release_checklist.json``: the checks a release type requires, and the answers."""

    kind: Literal["pre_release_checklist"] = "pre_release_checklist"
    release_type: Literal["patch-docs", "patch", "minor", "major"]
    required_checks: list[str]
    checks: list[ChecklistItem]
    # --require-evidence: a required check only asserted is `<check>.not_evidenced`.
    require_evidence: bool = False

    @model_validator(mode="after")
    def _checklist_rules(self) -> PreReleaseChecklist:
        names = [c.name for c in self.checks]
        if len(names) != len(set(names)):
            raise ValueError("check names must be unique")
        if not set(self.required_checks) <= set(names):
            raise ValueError("every required check needs an entry in checks")
        if self.passed and not all(c.passed for c in self.checks):
            raise ValueError("cannot pass while a check is red")
        if self.passed and not self.required_checks:
            raise ValueError("a checklist that requires nothing cannot pass")
        if self.passed and self.require_evidence and any(
            c.required and c.source != "evidence" for c in self.checks
        ):
            raise ValueError("with require_evidence, every required check must be evidenced")
        return self
