"""``benchmark-slo-gate``: measured metrics against a reviewed baseline and SLO objectives."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dpone_ops import baseline as ratchet
from dpone_ops.errors import UsageError
from dpone_ops.metrics import (
    DEFAULT_MAX_REGRESSION,
    Direction,
    direction_of,
    is_regression,
    regression_threshold,
)
from dpone_ops.models.base import Stamp
from dpone_ops.models.baseline import BaselineRecord
from dpone_ops.models.gates import MetricsSource
from dpone_ops.models.release_gates import (
    BaselineUsed,
    BenchmarkSloGate,
    MetricComparison,
    ObjectiveOp,
    ObjectiveResult,
)
from dpone_ops.performance_certification import METRIC_NAME_RE
from dpone_ops.runbook import PERFORMANCE_GENERAL, markdown_section
from dpone_ops.writing import md_blockers, md_bool, md_document, md_escape, md_table

REPORT_NAME = "benchmark_slo_gate"
RUNBOOK: tuple[str, ...] = (
    *PERFORMANCE_GENERAL,
    "A baseline changes only through `dpone ops benchmark-baseline update`; loosening it "
    "needs --reason, and the reason shows in this report.",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")

# How each objective reads in the Markdown: ``min`` passes at or above, ``max`` at or below.
_OPS: dict[str, str] = {"min": ">=", "max": "<="}


@dataclass(frozen=True)
class BaselineInput:
    """The baseline values and the record of which entry they are and why."""

    metrics: Mapping[str, float]
    used: BaselineUsed
    history: Sequence[BaselineRecord] = ()


@dataclass(frozen=True)
class GatePolicy:
    baseline: BaselineInput | None = None
    objectives: Mapping[str, Mapping[ObjectiveOp, float]] = field(default_factory=dict)
    allowed_regression_ratio: float = DEFAULT_MAX_REGRESSION
    directions: Mapping[str, Direction] = field(default_factory=dict)


def code_subject(metric: str) -> str:
    """A metric name made safe for a blocker code's subject."""
    return _UNSAFE.sub("_", metric) or "_"


def parse_ratio(value: str) -> float:
    """``--allowed-regression-ratio``: a finite number in [0, 1)."""
    try:
        ratio = float(value)
    except ValueError:
        raise UsageError(f"--allowed-regression-ratio must be a number, got {value!r}") from None
    if not math.isfinite(ratio) or not 0.0 <= ratio < 1.0:
        raise UsageError(f"--allowed-regression-ratio must be in [0, 1), got {value!r}")
    return ratio


def parse_objectives(data: Mapping[str, Any] | None) -> dict[str, dict[ObjectiveOp, float]]:
    """``{"metric": {"max": x}}`` / ``{"min": y}`` (both allowed), finite numbers only."""
    flag = "--objectives-json"
    result: dict[str, dict[ObjectiveOp, float]] = {}
    for metric, spec in (data or {}).items():
        if not METRIC_NAME_RE.match(metric):
            raise UsageError(f"{flag}: metric name {metric!r} must use only letters, digits, "
                             "_ or -")
        if not isinstance(spec, dict) or not spec:
            raise UsageError(f"{flag}: {metric!r} must map to {{\"min\": x}} and/or {{\"max\": y}}")
        ops: dict[ObjectiveOp, float] = {}
        for op, threshold in spec.items():
            if op not in _OPS:
                raise UsageError(f"{flag}: {metric!r} has {op!r}; only \"min\" and \"max\" exist")
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                raise UsageError(f"{flag}: {metric}.{op} must be a number, got {threshold!r}")
            ops["min" if op == "min" else "max"] = float(threshold)
        if "min" in ops and "max" in ops and ops["min"] > ops["max"]:
            raise UsageError(f"{flag}: {metric!r} has min {ops['min']:g} above max {ops['max']:g}")
        result[metric] = ops
    return result


def _compare(metric: str, base: float, value: float | None, policy: GatePolicy,
             ) -> MetricComparison:
    direction = direction_of(metric, policy.directions)
    subject = code_subject(metric)
    threshold = (regression_threshold(base, direction, policy.allowed_regression_ratio)
                 if direction is not None else None)
    change = (value - base) / abs(base) if value is not None and base != 0 else None
    blocker: str | None = None
    if value is None:
        blocker = f"{subject}.missing"
    elif direction is None or threshold is None:
        blocker = f"{subject}.direction_unknown"
    elif is_regression(value, threshold, direction):
        blocker = f"{subject}.regression"
    return MetricComparison(metric=metric, direction=direction, baseline=base, value=value,
                              threshold=threshold, change_ratio=change,
                              passed=blocker is None, blocker=blocker)


def evaluate(
    metrics: Mapping[str, float],
    policy: GatePolicy,
    *,
    stamp: Stamp,
    metrics_source: MetricsSource,
    input_blockers: Sequence[str] = (),
) -> BenchmarkSloGate:
    """Judge the metrics.

    1. A gate with neither a baseline nor objectives judges nothing:
       ``benchmark_slo_gate.no_policy``.
    2. Blockers from reading the metrics (missing, invalid, not passed) stand; no metrics at
       all is ``metrics.empty``.
    3. Each baseline metric: missing ⇒ ``<metric>.missing`` (whatever its direction), no
       known direction ⇒ ``<metric>.direction_unknown``, worse than baseline * (1 -/+ ratio)
       ⇒ ``<metric>.regression``; any of these ⇒ ``benchmark_baseline.not_passed``.
       A history entry that loosened a metric under the ratchet's own reason (the ratchet
       refuses that, so the file was edited by hand) ⇒
       ``benchmark_baseline.unexplained_loosening``.
    4. Each objective: missing ⇒ ``<metric>.missing``, ``value < min`` ⇒
       ``slo.<metric>.min``, ``value > max`` ⇒ ``slo.<metric>.max``; any ⇒ ``slo.not_passed``.
    """
    blockers: list[str] = []
    # 1.
    if policy.baseline is None and not policy.objectives:
        blockers.append("benchmark_slo_gate.no_policy")
    # 2.
    blockers.extend(input_blockers)
    if not metrics:
        blockers.append("metrics.empty")
    # 3.
    comparisons: list[MetricComparison] = []
    if policy.baseline is not None:
        for metric in sorted(policy.baseline.metrics):
            comparisons.append(_compare(metric, policy.baseline.metrics[metric],
                                        metrics.get(metric), policy))
        if not policy.baseline.metrics:
            blockers.append("benchmark_baseline.empty")
    unexplained = (ratchet.unexplained_loosenings(policy.baseline.history, policy.directions)
                   if policy.baseline is not None else [])
    if unexplained:
        blockers.append("benchmark_baseline.unexplained_loosening")
    baseline_passed = (None if policy.baseline is None
                       else bool(policy.baseline.metrics) and not unexplained
                       and all(c.passed for c in comparisons))
    if baseline_passed is False:
        blockers.append("benchmark_baseline.not_passed")
    blockers.extend(c.blocker for c in comparisons if c.blocker)
    # 4.
    objectives: list[ObjectiveResult] = []
    for metric in sorted(policy.objectives):
        value = metrics.get(metric)
        for op in ("min", "max"):
            if op not in policy.objectives[metric]:
                continue
            threshold = policy.objectives[metric][op]
            blocker: str | None = None
            if value is None:
                blocker = f"{code_subject(metric)}.missing"
            elif (value < threshold) if op == "min" else (value > threshold):
                blocker = f"slo.{code_subject(metric)}.{op}"
            objectives.append(ObjectiveResult(metric=metric, op=op, threshold=threshold,
                                              value=value, passed=blocker is None,
                                              blocker=blocker))
    slo_passed = None if not policy.objectives else all(o.passed for o in objectives)
    if slo_passed is False:
        blockers.append("slo.not_passed")
    blockers.extend(o.blocker for o in objectives if o.blocker)

    codes = sorted(set(blockers))
    summary = (
        f"{len(comparisons)} baseline comparison(s) and {len(objectives)} objective(s) passed"
        if not codes else
        f"{len(codes)} blocker(s): " + ", ".join(codes[:5]) + (" …" if len(codes) > 5 else "")
    )
    return BenchmarkSloGate.build(
        stamp,
        blockers=blockers,
        summary=summary,
        executed=bool(metrics),
        metrics=dict(metrics),
        metrics_source=metrics_source,
        allowed_regression_ratio=policy.allowed_regression_ratio,
        baseline=policy.baseline.used if policy.baseline else None,
        baseline_passed=baseline_passed,
        comparisons=comparisons,
        slo_passed=slo_passed,
        objectives=objectives,
        unexplained_history_entries=unexplained,
    )


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _source(source: MetricsSource) -> str:
    where = f" {md_escape(source.path)}" if source.path else ""
    digest = f" (sha256 {source.sha256})" if source.sha256 else ""
    return f"{source.kind}{where}{digest}"


def render_markdown(report: BenchmarkSloGate) -> str:
    """The gate as Markdown: verdict, baseline entry used, comparisons, objectives, runbook."""
    head = [
        f"- release: {md_escape(report.release or '—')}",
        f"- passed: {md_bool(report.passed)} ({report.evidence_status})",
        f"- metrics: {_source(report.metrics_source)}",
        f"- allowed regression ratio: {report.allowed_regression_ratio:g}",
        f"- summary: {md_escape(report.summary)}",
    ]
    used = report.baseline
    if used is None:
        baseline = ["## Baseline", "", "- none given (objectives only)"]
    else:
        baseline = [
            "## Baseline",
            "",
            f"- source: {used.source} {md_escape(used.path or '')}",
            f"- entry: {'—' if used.entry_index is None else used.entry_index} "
            f"recorded {md_escape(used.recorded_at or '—')} "
            f"at commit {md_escape(used.commit_sha or '—')}",
            f"- reason: {md_escape(used.reason or '—')}",
            *([f"- history entries that loosened without a reason: "
               f"{', '.join(map(str, report.unexplained_history_entries))}"]
              if report.unexplained_history_entries else []),
            "",
            *md_table(
                ["metric", "direction", "baseline", "value", "threshold", "change", "passed"],
                [[c.metric, c.direction or "unknown", _num(c.baseline), _num(c.value),
                  _num(c.threshold),
                  "—" if c.change_ratio is None else f"{c.change_ratio:+.1%}",
                  md_bool(c.passed)] for c in report.comparisons],
            ),
        ]
    objectives = ["## SLO objectives", ""]
    if report.objectives:
        objectives += md_table(
            ["metric", "rule", "value", "passed"],
            [[o.metric, f"{_OPS[o.op]} {o.threshold:g}", _num(o.value), md_bool(o.passed)]
             for o in report.objectives],
        )
    else:
        objectives.append("- none given")
    return md_document("Benchmark SLO gate", [
        head, baseline, objectives, md_blockers(report.blockers),
        markdown_section(report.blockers, general=RUNBOOK),
    ])
