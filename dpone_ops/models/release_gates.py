"""Release gates that judge measurements and the built package.

``benchmark_slo_gate.json`` compares metrics with a reviewed baseline and SLO objectives;
``package_check.json`` records building, checking, installing and smoke-running the
distribution that is about to be published.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from dpone_ops.models.base import (
    Artifact,
    BlockerCode,
    CommitSha,
    NonNegInt,
    PosInt,
    Sha256Hex,
    StrictModel,
    Timestamp,
)
from dpone_ops.models.gates import MetricsSource

# The values of dpone_ops.metrics.Direction (not imported: that module imports the models).
Direction = Literal["higher", "lower"]
ObjectiveOp = Literal["min", "max"]
NonNegFloat = Annotated[float, Field(ge=0)]
Ratio = Annotated[float, Field(ge=0, lt=1)]


class MetricComparison(StrictModel):
    """One metric against its baseline: the threshold is baseline * (1 -/+ ratio)."""

    metric: str
    direction: Direction | None
    baseline: float
    value: float | None
    threshold: float | None
    change_ratio: float | None
    passed: bool
    blocker: BlockerCode | None

    @model_validator(mode="after")
    def _verdict(self) -> MetricComparison:
        if self.passed == (self.blocker is not None):
            raise ValueError("a comparison has a blocker if and only if it did not pass")
        if self.passed and (self.value is None or self.direction is None):
            raise ValueError("a comparison without a value or a direction cannot pass")
        return self


class ObjectiveResult(StrictModel):
    """One SLO objective: ``value >= threshold`` for ``min``, ``value <= threshold`` for ``max``."""

    metric: str
    op: ObjectiveOp
    threshold: float
    value: float | None
    passed: bool
    blocker: BlockerCode | None

    @model_validator(mode="after")
    def _verdict(self) -> ObjectiveResult:
        if self.passed == (self.blocker is not None):
            raise ValueError("an objective has a blocker if and only if it did not pass")
        if self.passed and self.value is None:
            raise ValueError("a missing metric never passes an objective")
        return self


class BaselineUsed(StrictModel):
    """Which baseline the gate compared against, and why that baseline is what it is."""

    source: Literal["file", "inline"]
    path: str | None
    sha256: Sha256Hex | None
    entry_index: int | None
    recorded_at: Timestamp | None
    commit_sha: CommitSha | None
    reason: str | None


class BenchmarkSloGate(Artifact):
    """``benchmark_slo_gate.json``: baseline regressions and SLO objectives, every finding."""

    kind: Literal["benchmark_slo_gate"] = "benchmark_slo_gate"
    metrics: dict[str, float]
    metrics_source: MetricsSource
    allowed_regression_ratio: Ratio
    baseline: BaselineUsed | None
    baseline_passed: bool | None
    comparisons: list[MetricComparison]
    slo_passed: bool | None
    objectives: list[ObjectiveResult]
    # Baseline history entries that loosened a metric under the ratchet's own reason.
    unexplained_history_entries: list[PosInt]

    @model_validator(mode="after")
    def _gate_rules(self) -> BenchmarkSloGate:
        if self.baseline is None and not self.objectives and self.passed:
            raise ValueError("a gate with neither a baseline nor objectives cannot pass")
        if self.passed and any(not c.passed for c in self.comparisons):
            raise ValueError("a gate with a failed comparison cannot pass")
        if self.passed and any(not o.passed for o in self.objectives):
            raise ValueError("a gate with a failed objective cannot pass")
        return self


StepName = Literal[
    "build",
    "twine_check",
    "venv",
    "install",
    "smoke_dpone_help",
    "smoke_ops_help",
    "smoke_pytest_markers",
    "version",
    "index",
]
StepOutcome = Literal["passed", "failed", "not_run", "unreachable"]


class PackageStep(StrictModel):
    """One step of the package check, with the command that ran and the tail of its output."""

    name: StepName
    outcome: StepOutcome
    command: list[str]
    returncode: int | None
    duration_seconds: NonNegFloat
    detail: str
    output_tail: str


class DistFile(StrictModel):
    filename: str
    type: Literal["sdist", "wheel"]
    sha256: Sha256Hex
    size_bytes: NonNegInt


class PackageCheck(Artifact):
    """``package_check.json``: build, ``twine check``, fresh-venv install smoke, unpublished."""

    kind: Literal["package_check"] = "package_check"
    distribution: str | None
    expected_version: str
    wheel_version: str | None
    files: list[DistFile]
    steps: list[PackageStep]
    index_url: str
    published_versions: list[str] | None
    require_index: bool
    expected_markers: list[str]
    missing_markers: list[str]
    # Findings that do not block unless asked to (an unreachable index without
    # --require-index): recorded so that "not checked" is never mistaken for "checked".
    warnings: list[BlockerCode]

    @model_validator(mode="after")
    def _package_rules(self) -> PackageCheck:
        if self.passed and any(s.outcome in ("failed", "not_run") for s in self.steps):
            raise ValueError("a package check with a failed or skipped step cannot pass")
        if self.passed and self.wheel_version is None:
            raise ValueError("a package check without a built wheel cannot pass")
        if self.warnings != sorted(set(self.warnings)):
            raise ValueError("warnings must be sorted and unique")
        return self
