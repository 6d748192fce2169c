"""Turn per-test case records into the evidence artifacts (SPEC §4.4, §4.2 release_check).

The pytest plugin, ``recover-evidence`` and ``merge-evidence`` all call these builders,
so a live session, a journal recovered after a hard kill and a merge of CI shards give
the same artifacts for the same records by construction. Building is pure: records and
run facts in, validated models out; :mod:`dpone_ops.evidence_io` does the files.

A case record is a plain JSON-safe dict (it is streamed to the journal once per test, so
the plugin never builds a model per test)::

    {"node_id", "status", "duration_ms", "worker", "skip_reason", "longrepr",
     "attempts": [{"status", "duration_ms"}], "rerun": int,
     "marks": {kind: [value, ...]},
     "facts": {"state": [...], "reconciliation": [...], "metrics": [...],
               "endpoints": {service: {"provider", "endpoint", "server_version"}}}}

The run record holds the session facts; see :class:`RunRecord`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import Field

from dpone_ops.case_set import NOT_RUN, CaseSet, Record
from dpone_ops.journal_format import JOURNAL_FILE as JOURNAL_FILE  # re-exported
from dpone_ops.models.base import Artifact, Stamp, StrictModel
from dpone_ops.models.evidence import (
    BackendCheck,
    ManifestEntry,
    PerformanceMetrics,
    ReleaseChecks,
    RunManifest,
    ServiceMarkers,
    ShardInfo,
    StateEvidence,
)
from dpone_ops.models.evidence import (
    CertificationReport as CertificationReportModel,
)
from dpone_ops.models.evidence import (
    ReconciliationEvidence as ReconciliationModel,
)

# Profile defaults for required services (SPEC §6). local_live adds every service its
# marked tests name; vendor_live requires the managed provider the spec names (BigQuery).
PROFILE_SERVICES: dict[str, tuple[str, ...]] = {
    "real_local": ("postgres", "mssql", "clickhouse", "kafka", "schema_registry", "minio"),
    "vendor_live": ("bigquery",),
    "local_live": (),
}
# File name of each artifact in an evidence dir, in writing order (the manifest last).
ARTIFACT_FILES: dict[str, str] = {
    "service_markers": "service_markers.json",
    "state_evidence": "state_evidence.json",
    "reconciliation_evidence": "reconciliation_evidence.json",
    "performance_metrics": "performance_metrics.json",
    "certification_report": "certification_report.json",
    "release_checks": "release_checks.json",
    "run_manifest": "run_manifest.json",
}
_CODE_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]+")


class ShardSpec(StrictModel):
    id: str
    index: int = Field(ge=0)
    count: int = Field(ge=1)


class Collection(StrictModel):
    """What the session collected; ``selected`` is what it meant to run."""

    collected: int = Field(ge=0)
    deselected: int = Field(ge=0)
    selected: int = Field(ge=0)
    collected_digest: str | None = None
    collected_count: int = Field(default=0, ge=0)


class RunRecord(StrictModel):
    """Session facts: the journal header, collection and footer merged."""

    release: str | None = None
    profile: str | None = None
    commit_sha: str | None = None
    required_services: list[str] = Field(default_factory=list)
    min_passed: int = Field(default=1, ge=0)
    max_skipped: int = Field(default=0, ge=0)
    required_state: list[BackendCheck] = Field(default_factory=list)
    shard: ShardSpec | None = None
    argv: list[str] = Field(default_factory=list)
    versions: dict[str, str | None] = Field(default_factory=dict)
    xdist_workers: int = Field(default=0, ge=0)
    started_at: str
    dirty: bool | None = None
    ci: dict[str, str] = Field(default_factory=dict)
    collection: Collection | None = None
    finished_at: str | None = None
    duration_seconds: float = Field(default=0.0, ge=0)
    exit_status: int | None = None
    interrupted: bool = True
    complete: bool = False


def code_part(text: str) -> str:
    """A user string made safe for a blocker code segment."""
    return _CODE_UNSAFE.sub("_", text).strip("_") or "unnamed"


def _tally(statuses: Iterable[str]) -> dict[str, int]:
    counts = Counter(statuses)
    return {
        "tests": sum(counts.values()),
        "passed": counts["passed"],
        "skipped": counts["skipped"],
        "failures": counts["failed"],
        "errors": counts["error"],
        "xfailed": counts["xfailed"],
        "xpassed": counts["xpassed"],
    }


def _marked(cases: Sequence[Record], kind: str) -> list[tuple[Record, dict[str, Any]]]:
    return [(c, v) for c in cases for v in c.get("marks", {}).get(kind, ())]


def _facts(cases: Sequence[Record], kind: str) -> list[tuple[Record, dict[str, Any]]]:
    return [(c, f) for c in cases for f in c.get("facts", {}).get(kind, ())]


def _shard_info(run: RunRecord) -> ShardInfo | None:
    if run.shard is None or run.collection is None or run.collection.collected_digest is None:
        return None
    return ShardInfo(
        id=run.shard.id,
        index=run.shard.index,
        count=run.shard.count,
        collected_digest=run.collection.collected_digest,
        collected_count=run.collection.collected_count,
    )


def _any_executed(cases: Iterable[Record]) -> bool:
    return any(c["status"] not in NOT_RUN for c in cases)


def build_service_markers(cases: Sequence[Record], run: RunRecord, stamp: Stamp) -> ServiceMarkers:
    """Steps: 1. tally service-marked cases per service; 2. required = configured + profile
    (+ every marked service for local_live); 3. gate each required service; 4. any failed or
    errored service test blocks; 5. an empty or all-skipped receipt blocks."""
    marked = [c for c in cases if c.get("marks", {}).get("service")]
    per_service: dict[str, list[Record]] = {}
    for case in marked:
        for value in case["marks"]["service"]:
            per_service.setdefault(value["name"], []).append(case)
    required = set(run.required_services) | set(PROFILE_SERVICES.get(run.profile or "", ()))
    if run.profile == "local_live":
        required |= set(per_service)
    endpoints: dict[str, dict[str, Any]] = {}
    for case in cases:
        for name, facts in sorted(case.get("facts", {}).get("endpoints", {}).items()):
            endpoints.setdefault(name, facts)
    blockers: list[str] = []
    services: dict[str, dict[str, Any]] = {}
    for name in sorted(required | set(per_service)):
        tally = _tally(c["status"] for c in per_service.get(name, ()))
        is_required = name in required
        not_passed = tally["skipped"] + tally["xfailed"] + tally["xpassed"]
        codes = []
        if tally["failures"] or tally["errors"]:
            codes.append(f"service.{code_part(name)}.failed")
        if is_required:
            if tally["tests"] == 0:
                codes.append(f"service.{code_part(name)}.missing")
            else:
                if not_passed > run.max_skipped:
                    codes.append(f"service.{code_part(name)}.skipped")
                if tally["passed"] < run.min_passed:
                    codes.append(f"service.{code_part(name)}.below_min_passed")
        blockers.extend(codes)
        facts = endpoints.get(name, {})
        services[name] = {
            **{k: tally[k] for k in ("tests", "passed", "skipped", "failures", "errors",
                                     "xfailed", "xpassed")},
            "required": is_required,
            "provider": facts.get("provider"),
            "endpoint": facts.get("endpoint"),
            "server_version": facts.get("server_version"),
            "passed_gate": not codes,
        }
    totals = _tally(c["status"] for c in marked)
    skipped_all = totals["skipped"] + totals["xfailed"] + totals["xpassed"]
    if totals["tests"] == 0:
        blockers.append("service_markers.no_tests")
    elif totals["passed"] == 0 and not (totals["failures"] or totals["errors"]):
        blockers.append("service_markers.all_skipped")
    else:
        # The original receipt's gate, applied over all service-marked tests as well.
        if totals["passed"] < run.min_passed:
            blockers.append("service_markers.below_min_passed")
        if skipped_all > run.max_skipped:
            blockers.append("service_markers.skipped")
    message = _receipt_message(totals, skipped_all, blockers, run)
    if not run.complete:
        message = f"UNVERIFIED: session incomplete; {message}"
    shard = run.shard.id if run.shard else None
    case_rows = [_case_row(c, shard) for c in marked]
    passed_count = totals["passed"]
    return ServiceMarkers.build(
        stamp,
        blockers=blockers,
        complete=run.complete,
        executed=_any_executed(marked),
        summary=f"{passed_count} of {totals['tests']} service-marked tests passed "
        f"across {len(per_service)} services; {message}",
        status="PASS" if not blockers and run.complete else "FAIL",
        gate={"min_passed": run.min_passed, "max_skipped": run.max_skipped},
        totals=totals,
        cases=case_rows,
        message=message,
        required_services=sorted(required),
        services=services,
        shard=_shard_info(run),
    )


def _receipt_message(
    totals: Mapping[str, int], skipped_all: int, blockers: Sequence[str], run: RunRecord
) -> str:
    """The original receipt's message strings, first matching rule wins."""
    if totals["tests"] == 0:
        return "SKIP≠PASS: no tests executed"
    if totals["failures"] or totals["errors"]:
        return "FAIL≠PASS: failures or errors reported"
    if totals["passed"] == 0:
        return "SKIP≠PASS: all tests skipped"
    if any(c.endswith(".below_min_passed") for c in blockers):
        return f"SKIP≠PASS: passed < {run.min_passed}"
    if any(c.endswith(".skipped") for c in blockers):
        return f"SKIP≠PASS: skipped > {run.max_skipped}"
    if blockers:
        return "SKIP≠PASS: required service not executed"
    return "junit gate ok"


def _case_row(case: Record, shard: str | None) -> dict[str, Any]:
    return {
        "node_id": case["node_id"],
        "status": case["status"],
        "services": sorted({v["name"] for v in case["marks"]["service"]}),
        "duration_ms": case.get("duration_ms"),
        "worker": case.get("worker"),
        "shard": shard,
        "skip_reason": case.get("skip_reason"),
        "retried": bool(case.get("rerun")),
        "attempts": case.get("attempts", []),
    }


def _status_blockers(prefix: str, statuses: Sequence[str]) -> list[str]:
    counts = Counter(statuses)
    codes = []
    if not statuses:
        codes.append(f"{prefix}.no_tests")
    if counts["failed"] or counts["error"]:
        codes.append(f"{prefix}.failed")
    if counts["skipped"] or counts["xfailed"] or counts["xpassed"]:
        codes.append(f"{prefix}.not_executed")
    return codes


def build_state_evidence(cases: Sequence[Record], run: RunRecord, stamp: Stamp) -> StateEvidence:
    """Steps: 1. every state test passed; 2. every required backend x check (marked or
    configured) has a passed test; 3. no observation advanced without a successful load;
    4. none stayed put after a successful committed load."""
    marked = _marked(cases, "state_backend")
    rows = [
        {"node_id": c["node_id"], "backend": v["backend"], "check": v["check"],
         "status": c["status"], "skip_reason": c.get("skip_reason")}
        for c, v in marked
    ]
    blockers = _status_blockers("state_evidence", [r["status"] for r in rows])
    required = {(v["backend"], v["check"]) for _, v in marked}
    required |= {(r.backend, r.check) for r in run.required_state}
    covered = {(r["backend"], r["check"]) for r in rows if r["status"] == "passed"}
    for backend, check in sorted(required - covered):
        blockers.append(f"state.{code_part(backend)}.{code_part(check)}.missing")
    observations = []
    for case, fact in _facts(cases, "state"):
        advanced = fact["before"] != fact["after"]
        where = f"state.{code_part(fact['backend'])}.{code_part(fact['check'])}"
        if advanced and not fact["load_succeeded"]:
            blockers.append(f"{where}.advanced_without_load")
        if not advanced and fact["load_succeeded"] and fact["committed_after_load"]:
            blockers.append(f"{where}.not_advanced_after_load")
        observations.append({"node_id": case["node_id"], **fact, "advanced": advanced})
    rows_executed = [c for c, _ in marked]
    return StateEvidence.build(
        stamp,
        blockers=blockers,
        complete=run.complete,
        executed=_any_executed(rows_executed),
        summary=f"{len(covered)} of {len(required)} required backend checks covered; "
        f"{len(observations)} state observations",
        state_backends=sorted({b for b, _ in covered}),
        checks=sorted({c for _, c in covered}),
        required=[{"backend": b, "check": c} for b, c in sorted(required)],
        covered=[{"backend": b, "check": c} for b, c in sorted(covered)],
        cases=rows,
        observations=observations,
        totals=_tally(r["status"] for r in rows),
    )


def build_reconciliation(
    cases: Sequence[Record], run: RunRecord, stamp: Stamp
) -> ReconciliationModel:
    """Steps: 1. every reconciliation test passed; 2. a passed test proved ≥1 physical
    delete with sink deletes equal to source deletes; 3. no observation has mismatched rows,
    unequal delete counts or unequal row counts."""
    marked = _marked(cases, "reconciliation")
    rows = [
        {"node_id": c["node_id"], "kind": v["kind"], "status": c["status"],
         "skip_reason": c.get("skip_reason")}
        for c, v in marked
    ]
    blockers = _status_blockers("reconciliation_evidence", [r["status"] for r in rows])
    observations = []
    deletes_checked = 0
    for case, fact in _facts(cases, "reconciliation"):
        observations.append({"node_id": case["node_id"], **fact})
        kind = fact["kind"]
        if fact.get("mismatched_rows"):
            blockers.append(f"reconciliation.{kind}.mismatched_rows")
        src, sink = fact.get("source_rows"), fact.get("sink_rows")
        if src is not None and sink is not None and src != sink:
            blockers.append(f"reconciliation.{kind}.row_count_mismatch")
        if kind == "physical_delete":
            at_source, at_sink = fact.get("deleted_at_source"), fact.get("deleted_at_sink")
            if at_source != at_sink:
                blockers.append("delete_reconciliation.mismatch")
            elif case["status"] == "passed" and at_source and not fact.get("mismatched_rows"):
                deletes_checked += at_source
    if deletes_checked == 0:
        blockers.append("delete_reconciliation.missing")
    delete_ok = deletes_checked > 0 and "delete_reconciliation.mismatch" not in blockers
    return ReconciliationModel.build(
        stamp,
        blockers=blockers,
        complete=run.complete,
        executed=_any_executed(c for c, _ in marked),
        summary=f"{len(rows)} reconciliation checks; {deletes_checked} physical deletes proven",
        delete_reconciliation={"passed": delete_ok, "physical_deletes_checked": deletes_checked},
        cases=rows,
        observations=observations,
        totals=_tally(r["status"] for r in rows),
    )


# Headline metric -> how the worst case is chosen across samples.
WORST: dict[str, Callable[[Iterable[float]], float]] = {
    "throughput_rows_per_second": min,
    "duration_seconds": max,
    "memory_peak_mb": max,
    "failure_rate": max,
}


def build_performance(cases: Sequence[Record], run: RunRecord, stamp: Stamp) -> PerformanceMetrics:
    """Steps: 1. collect every measure/metric/benchmark sample; 2. add the failure rate of
    the performance tests; 3. headline metrics are the worst case across samples. It is a
    record: only an empty or incomplete one is red (performance-certification judges)."""
    samples = [
        {"node_id": c["node_id"], "status": c["status"], **s} for c, s in _facts(cases, "metrics")
    ]
    perf_cases = [
        c for c in cases
        if c.get("marks", {}).get("performance") or c.get("facts", {}).get("metrics")
    ]
    executed = [c for c in perf_cases if c["status"] not in NOT_RUN]
    by_name: dict[str, list[float]] = {}
    for sample in samples:
        by_name.setdefault(sample["name"], []).append(sample["value"])
    if executed:
        failed = sum(c["status"] in ("failed", "error") for c in executed)
        by_name.setdefault("failure_rate", []).append(failed / len(executed))
    metrics = {
        name: pick(by_name[name]) for name, pick in WORST.items() if by_name.get(name)
    }
    blockers = [] if samples else ["performance_metrics.no_samples"]
    return PerformanceMetrics.build(
        stamp,
        blockers=blockers,
        complete=run.complete,
        executed=bool(executed),
        summary=f"{len(samples)} samples from {len(perf_cases)} tests; "
        + (", ".join(f"{k}={v:g}" for k, v in sorted(metrics.items())) or "no headline metrics"),
        metrics=metrics,
        samples=samples,
    )


def build_certification(
    cases: Sequence[Record], run: RunRecord, stamp: Stamp
) -> CertificationReportModel:
    """Steps: 1. one cell per (source, sink, strategy); 2. a cell is PASS with a passed
    test and nothing else, FAIL with a failure or error, else UNVERIFIED; 3. the report
    passes with ≥1 cell, every cell PASS."""
    cells: dict[tuple[str, str, str], list[Record]] = {}
    for case, value in _marked(cases, "certification"):
        cells.setdefault((value["source"], value["sink"], value["strategy"]), []).append(case)
    blockers = [] if cells else ["certification_report.no_cells"]
    rows = []
    for (source, sink, strategy), members in sorted(cells.items()):
        tally = _tally(c["status"] for c in members)
        skipped = tally["skipped"] + tally["xfailed"] + tally["xpassed"]
        case_id = f"{source}_to_{sink}__{strategy}"
        if tally["failures"] or tally["errors"]:
            status = "FAIL"
        elif tally["passed"] and not skipped:
            status = "PASS"
        else:
            status = "UNVERIFIED"
        if status != "PASS":
            blockers.append(f"certification.{code_part(case_id)}.{status.lower()}")
        rows.append({
            "case_id": case_id, "source": source, "sink": sink, "strategy": strategy,
            "status": status, "node_ids": sorted({c["node_id"] for c in members}),
            "tests": tally["tests"], "passed": tally["passed"], "failures": tally["failures"],
            "errors": tally["errors"], "skipped": skipped,
        })
    return CertificationReportModel.build(
        stamp,
        blockers=blockers,
        complete=run.complete,
        executed=_any_executed(c for members in cells.values() for c in members),
        summary=f"{sum(r['status'] == 'PASS' for r in rows)} of {len(rows)} matrix cells passed",
        cells=rows,
        coverage={
            "case_count": len(rows),
            "sources": sorted({r["source"] for r in rows}),
            "sinks": sorted({r["sink"] for r in rows}),
            "strategies": sorted({r["strategy"] for r in rows}),
        },
    )


def build_release_checks(cases: Sequence[Record], run: RunRecord, stamp: Stamp) -> ReleaseChecks:
    """Steps: 1. tally the cases of each check named by ``release_check``; 2. a check is PASS
    with ≥1 passed test and none failed, errored or skipped (xfail/xpass count as skipped),
    FAIL with a failure or error, else UNVERIFIED; 3. the artifact passes with ≥1 check,
    every check PASS. Which checks a release needs is the checklist's call, not this one's."""
    per_check: dict[str, list[Record]] = {}
    for case, value in _marked(cases, "release_check"):
        # MarkBinder made each case's values unique, so a case joins a check once.
        per_check.setdefault(value["name"], []).append(case)
    marked = [c for c in cases if c.get("marks", {}).get("release_check")]
    blockers = [] if per_check else ["release_checks.no_tests"]
    checks: dict[str, dict[str, Any]] = {}
    for name, members in sorted(per_check.items()):
        tally = _tally(c["status"] for c in members)
        not_run = tally["skipped"] + tally["xfailed"] + tally["xpassed"]
        if tally["failures"] or tally["errors"]:
            status = "FAIL"
        elif tally["passed"] and not not_run:
            status = "PASS"
        else:
            status = "UNVERIFIED"
        if status == "FAIL":
            blockers.append(f"release_check.{code_part(name)}.failed")
        elif status == "UNVERIFIED":
            blockers.append(f"release_check.{code_part(name)}.not_passed")
        checks[name] = {
            "tests": tally["tests"], "passed": tally["passed"], "failed": tally["failures"],
            "errors": tally["errors"], "skipped": tally["skipped"], "xfailed": tally["xfailed"],
            "xpassed": tally["xpassed"], "status": status,
            "node_ids": [c["node_id"] for c in members],
        }
    shard = run.shard.id if run.shard else None
    rows = [
        {"node_id": c["node_id"], "status": c["status"],
         "checks": sorted({v["name"] for v in c["marks"]["release_check"]}),
         "duration_ms": c.get("duration_ms"), "worker": c.get("worker"), "shard": shard,
         "skip_reason": c.get("skip_reason"), "retried": bool(c.get("rerun"))}
        for c in marked
    ]
    green = sum(t["status"] == "PASS" for t in checks.values())
    return ReleaseChecks.build(
        stamp,
        blockers=blockers,
        complete=run.complete,
        executed=_any_executed(marked),
        summary=f"{green} of {len(checks)} release checks proven by their tests"
        + (f" ({', '.join(sorted(checks))})" if checks else ""),
        checks=checks,
        cases=rows,
        totals=_tally(c["status"] for c in marked),
    )


# Artifact kind -> builder; the run manifest is built last, over the others' files.
BUILDERS: dict[str, Callable[[Sequence[Record], RunRecord, Stamp], Artifact]] = {
    "service_markers": build_service_markers,
    "state_evidence": build_state_evidence,
    "reconciliation_evidence": build_reconciliation,
    "performance_metrics": build_performance,
    "certification_report": build_certification,
    "release_checks": build_release_checks,
}


def sort_cases(cases: Iterable[Record]) -> list[Record]:
    return sorted(cases, key=lambda c: c["node_id"])


def build_artifacts(cases: CaseSet, run: RunRecord, stamp: Stamp) -> dict[str, Artifact]:
    """The record artifacts (all but the manifest), keyed by kind, over the evidence-bearing
    cases sorted by node id.

    A plain test (no evidence marker, nothing recorded) counts only in the run manifest's
    totals, so the six builders are given ``cases.bearing``, not every case of a session.
    """
    bearing = sort_cases(cases.bearing)
    return {kind: build(bearing, run, stamp) for kind, build in BUILDERS.items()}


def run_totals(cases: CaseSet, run: RunRecord) -> dict[str, int]:
    """Totals over all tests, as pytest's JUnit XML counts them (xfailed kept apart)."""
    counts = cases.counts
    return {
        "tests": len(cases),
        "passed": counts.get("passed", 0),
        "failures": counts.get("failed", 0),
        "errors": counts.get("error", 0),
        "skipped": counts.get("skipped", 0),
        "xfailed": counts.get("xfailed", 0),
        "xpassed": counts.get("xpassed", 0),
        "deselected": run.collection.deselected if run.collection else 0,
        "rerun": cases.rerun,
    }


def build_run_manifest(
    cases: CaseSet, run: RunRecord, stamp: Stamp, artifacts: Sequence[ManifestEntry]
) -> RunManifest:
    """Steps: 1. totals over every test; 2. the run passes only when it exited 0, was not
    interrupted and is complete."""
    totals = run_totals(cases, run)
    blockers = []
    if run.exit_status is None:
        blockers.append("run_manifest.exit_status_unknown")
    elif run.exit_status != 0:
        blockers.append("run_manifest.exit_nonzero")
    if run.interrupted:
        blockers.append("run_manifest.interrupted")
    if totals["tests"] == 0:
        blockers.append("run_manifest.no_tests")
    collection = run.collection
    exit_text = "unknown" if run.exit_status is None else str(run.exit_status)
    return RunManifest.build(
        stamp,
        blockers=blockers,
        complete=run.complete,
        executed=cases.executed,
        summary=f"{totals['tests']} tests: {totals['passed']} passed, {totals['failures']} "
        f"failed, {totals['errors']} errors, {totals['skipped']} skipped, {totals['xfailed']} "
        f"xfailed; exit status {exit_text}",
        totals=totals,
        versions={
            "python": run.versions.get("python") or "unknown",
            "pytest": run.versions.get("pytest") or "unknown",
            "plugin": run.versions.get("plugin") or "unknown",
            "xdist": run.versions.get("xdist"),
            "benchmark": run.versions.get("benchmark"),
        },
        argv=run.argv,
        xdist_workers=run.xdist_workers,
        started_at=run.started_at,
        finished_at=run.finished_at or run.started_at,
        duration_seconds=round(run.duration_seconds, 6),
        exit_status=run.exit_status,
        interrupted=run.interrupted,
        collected=collection.collected if collection else 0,
        deselected=collection.deselected if collection else 0,
        shard=_shard_info(run),
        dirty=run.dirty,
        ci=run.ci,
        artifacts=list(artifacts),
    )


