"""``performance-certification``: measured metrics against min/max and a stored baseline.

Metrics come inline (``--metrics-json``) or from a file: the plugin's
``performance_metrics.json`` or a raw ``pytest --benchmark-json`` document (see
:func:`dpone_ops.metrics.derive_from_pytest_benchmark` for how its headline metrics are
derived). A thresholded metric without a value is ``<metric>.missing``, never a threshold
miss; no thresholds at all is a usage error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dpone_ops.artifact_validation import Binding, LoadedArtifact, judge, read_file
from dpone_ops.errors import InputError, UsageError
from dpone_ops.metrics import (
    BenchmarkFormatError,
    Direction,
    current_machine,
    derive_from_pytest_benchmark,
    direction_of,
    is_regression,
    looks_like_pytest_benchmark,
    machine_mismatches,
    regression_threshold,
)
from dpone_ops.models.base import Stamp
from dpone_ops.models.baseline import BenchmarkBaseline, MachineInfo
from dpone_ops.models.evidence import PerformanceMetrics
from dpone_ops.models.gates import (
    BaselineComparison,
    MetricResult,
    MetricsSource,
    PerformanceCertification,
)
from dpone_ops.models.status import ArtifactStatus
from dpone_ops.runbook import PERFORMANCE_GENERAL, markdown_section
from dpone_ops.strict_json import StrictJSONError, loads_strict
from dpone_ops.writing import md_blockers, md_bool, md_document, md_escape, md_table

NAME = "performance_certification"
METRIC_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
DEFAULT_ROW_COUNT = 10_000
MAX_ROW_COUNT = 1_000_000_000


def parse_metric_values(data: Mapping[str, Any], *, flag: str) -> dict[str, float]:
    """``{"metric": number}`` with safe names and finite, non-boolean numbers."""
    values: dict[str, float] = {}
    for name, value in data.items():
        if not METRIC_NAME_RE.match(name):
            raise UsageError(f"{flag}: metric name {name!r} must use only letters, digits, _ or -")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{flag}: {name} must be a number, got {value!r}")
        values[name] = float(value)
    return values


@dataclass(frozen=True)
class Measured:
    """The values to judge and where they came from."""

    metrics: dict[str, float]
    source: MetricsSource
    machine: MachineInfo | None
    artifact: LoadedArtifact | None = None  # the plugin's performance_metrics.json


@dataclass(frozen=True)
class BaselinePolicy:
    path: str
    loaded: LoadedArtifact
    max_regression: float
    allow_foreign: bool = False


@dataclass(frozen=True)
class PerformancePolicy:
    minimum: dict[str, float] = field(default_factory=dict)
    maximum: dict[str, float] = field(default_factory=dict)
    baseline: BaselinePolicy | None = None
    directions: dict[str, Direction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.minimum and not self.maximum and self.baseline is None:
            raise UsageError(
                "performance-certification needs thresholds: --minimum-json, --maximum-json "
                "or --baseline (a gate with no thresholds would pass anything)"
            )
        if self.baseline is not None and not 0 <= self.baseline.max_regression < 1:
            raise UsageError("--max-regression must be >= 0 and < 1, e.g. 0.10")


def _bound(
    metric: str, value: float | None, rule: Literal["min", "max"], threshold: float
) -> MetricResult:
    if value is None:
        return MetricResult(metric=metric, value=None, rule=rule, threshold=threshold,
                            passed=False, blocker=f"{metric}.missing")
    ok = value >= threshold if rule == "min" else value <= threshold
    reason = "below_min" if rule == "min" else "above_max"
    return MetricResult(metric=metric, value=value, rule=rule, threshold=threshold,
                        passed=ok, blocker=None if ok else f"{metric}.{reason}")


def _baseline_mismatches(
    baseline: BenchmarkBaseline, measured_on: MachineInfo | None, *, profile: str | None,
    row_count: int,
) -> tuple[list[str], list[str]]:
    """Human descriptions and blocker codes for every way the baseline is not comparable."""
    notes: list[str] = []
    codes: list[str] = []
    if measured_on is None:
        notes.append("machine: unknown where the metrics were measured")
        codes.append("baseline.machine_mismatch")
    else:
        found = machine_mismatches(baseline.machine, measured_on)
        notes.extend(f"machine {m}" for m in found)
        codes.extend(["baseline.machine_mismatch"] if found else [])
    if baseline.profile is not None and profile is not None and baseline.profile != profile:
        notes.append(f"profile: baseline {baseline.profile!r}, now {profile!r}")
        codes.append("baseline.profile_mismatch")
    if baseline.row_count is not None and baseline.row_count != row_count:
        notes.append(f"row_count: baseline {baseline.row_count}, now {row_count}")
        codes.append("baseline.row_count_mismatch")
    return notes, codes


def evaluate(
    measured: Measured, policy: PerformancePolicy, *, row_count: int, stamp: Stamp
) -> PerformanceCertification:
    """Judge the measured metrics.

    1. Every input artifact that is red (metrics file, baseline) contributes its blockers.
    2. Each ``--minimum-json`` / ``--maximum-json`` threshold gives one result; a metric
       without a value is ``<metric>.missing``.
    3. A baseline is compared only when it is green and comparable (same machine class,
       profile and row count); otherwise each difference is a ``baseline.*`` blocker,
       unless the caller explicitly allowed a foreign baseline (then it is reported).
    4. Every baseline metric is compared in its direction: ``<metric>.regression``; a
       metric with no known direction is ``<metric>.direction_unknown``.
    """
    blockers: list[str] = []
    statuses: list[ArtifactStatus] = []
    # 1. inputs
    if measured.artifact is not None:
        statuses.append(measured.artifact.status)
        blockers.extend(measured.artifact.status.blockers)
    # 2. bounds
    results: list[MetricResult] = []
    for metric in sorted(policy.minimum):
        results.append(_bound(metric, measured.metrics.get(metric), "min",
                              policy.minimum[metric]))
    for metric in sorted(policy.maximum):
        results.append(_bound(metric, measured.metrics.get(metric), "max",
                              policy.maximum[metric]))
    # 3. baseline comparability
    comparison: BaselineComparison | None = None
    if policy.baseline is not None:
        loaded = policy.baseline.loaded
        statuses.append(loaded.status)
        blockers.extend(loaded.status.blockers)
        model = loaded.model if isinstance(loaded.model, BenchmarkBaseline) else None
        notes: list[str] = []
        used = False
        if model is not None and loaded.passed:
            notes, codes = _baseline_mismatches(
                model, measured.machine, profile=stamp.profile, row_count=row_count
            )
            used = not codes or policy.baseline.allow_foreign
            if not used:
                blockers.extend(codes)
        comparison = BaselineComparison(
            path=policy.baseline.path, sha256=loaded.status.sha256,
            profile=model.profile if model else None,
            row_count=model.row_count if model else None,
            machine=model.machine if model else None, measured_on=measured.machine,
            max_regression=policy.baseline.max_regression, mismatches=notes, used=used,
        )
        # 4. regressions
        if model is not None and used:
            for metric in sorted(model.metrics):
                results.append(_regression(metric, measured.metrics.get(metric),
                                           model.metrics[metric], policy))
    blockers.extend(r.blocker for r in results if r.blocker)
    failed = sum(not r.passed for r in results)
    summary = (
        f"{len(results) - failed} of {len(results)} threshold checks passed "
        f"at {row_count} rows"
    )
    return PerformanceCertification.build(
        stamp, blockers=blockers, summary=summary, row_count=row_count,
        metrics=dict(sorted(measured.metrics.items())), results=results,
        source=measured.source, baseline=comparison, artifacts=statuses,
        executed=bool(measured.metrics),
    )


def _regression(
    metric: str, value: float | None, base: float, policy: PerformancePolicy
) -> MetricResult:
    assert policy.baseline is not None
    direction = direction_of(metric, policy.directions)
    if direction is None:
        return MetricResult(metric=metric, value=value, rule="regression", threshold=base,
                            passed=False, blocker=f"{metric}.direction_unknown", baseline=base)
    threshold = regression_threshold(base, direction, policy.baseline.max_regression)
    if value is None:
        return MetricResult(metric=metric, value=None, rule="regression", threshold=threshold,
                            passed=False, blocker=f"{metric}.missing", direction=direction,
                            baseline=base)
    regressed = is_regression(value, threshold, direction)
    return MetricResult(metric=metric, value=value, rule="regression", threshold=threshold,
                        passed=not regressed,
                        blocker=f"{metric}.regression" if regressed else None,
                        direction=direction, baseline=base)


def _number(value: float | None) -> str:
    return "missing" if value is None else f"{value:g}"


def render_markdown(report: PerformanceCertification) -> str:
    """The Markdown twin of the report, with the blockers and the runbook."""
    head = [
        f"- profile: {md_escape(report.profile or 'none')}",
        f"- row count: {report.row_count}",
        f"- passed: {md_bool(report.passed)}",
        f"- evidence status: {report.evidence_status}",
        f"- metrics from: {report.source.kind}"
        + (f" ({md_escape(report.source.path)})" if report.source.path else ""),
        f"- summary: {md_escape(report.summary)}",
    ]
    head.extend(f"- derived {md_escape(k)}: {md_escape(v)}"
                for k, v in sorted(report.source.derivation.items()))
    results = ["## Results", "", *md_table(
        ["metric", "value", "rule", "threshold", "baseline", "passed", "blocker"],
        [[r.metric, _number(r.value), r.rule, f"{r.threshold:g}", _number(r.baseline)
          if r.rule == "regression" else "", md_bool(r.passed), r.blocker or ""]
         for r in report.results],
    )]
    sections = [head, results]
    if report.baseline is not None:
        b = report.baseline
        lines = ["## Baseline", "", f"- file: {md_escape(b.path)}",
                 f"- used: {md_bool(b.used)}", f"- max regression: {b.max_regression:g}"]
        lines.extend(f"- not comparable: {md_escape(m)}" for m in b.mismatches)
        sections.append(lines)
    if report.artifacts:
        sections.append(["## Inputs", "", *md_table(
            ["artifact", "passed", "kind", "sha256", "summary"],
            [[a.name, md_bool(a.passed), a.kind or "", a.sha256 or "", a.summary]
             for a in report.artifacts])])
    sections.append(md_blockers(report.blockers))
    sections.append(markdown_section(list(report.blockers), general=PERFORMANCE_GENERAL))
    return md_document("Performance certification", sections)


def read_metrics_file(path: Path, *, binding: Binding) -> Measured:
    """Read ``--metrics-file``: the plugin's artifact, or raw pytest-benchmark JSON."""
    read = read_file(path)
    data: Any = None
    if read.payload is not None:
        try:
            data = loads_strict(read.payload.decode("utf-8"))
        except (UnicodeDecodeError, StrictJSONError):
            data = None  # judge() below names the problem as performance_metrics.invalid
    if isinstance(data, dict) and looks_like_pytest_benchmark(data):
        try:
            derived = derive_from_pytest_benchmark(data)
        except BenchmarkFormatError as exc:
            raise InputError(f"--metrics-file {path}: {exc}") from None
        status = ArtifactStatus(
            name="metrics_file", path=str(path), required=True, exists=True, passed=True,
            sha256=read.sha256, size_bytes=read.size_bytes, kind=None, schema_version=None,
            summary=f"pytest-benchmark JSON with {derived.benchmark_count} benchmark(s)",
            blocker=None, blockers=[],
        )
        return Measured(
            metrics=derived.metrics,
            source=MetricsSource(kind="pytest_benchmark", path=str(path), sha256=read.sha256,
                                 benchmark_count=derived.benchmark_count,
                                 derivation=derived.notes),
            machine=derived.machine,
            artifact=LoadedArtifact(status, data=data),
        )
    loaded = judge("performance_metrics", read, required=True, binding=binding,
                   expected_kind="performance_metrics")
    model = loaded.model if isinstance(loaded.model, PerformanceMetrics) else None
    return Measured(
        metrics=dict(model.metrics) if model else {},
        source=MetricsSource(kind="performance_metrics", path=str(path), sha256=read.sha256),
        machine=current_machine(),
        artifact=loaded,
    )
