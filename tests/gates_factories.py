"""Build the plugin's evidence artifacts with their models, for the gates' tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dpone_ops.models.base import Artifact, Stamp
from dpone_ops.models.baseline import BenchmarkBaseline
from dpone_ops.models.evidence import (
    CertificationReport,
    PerformanceMetrics,
    ReconciliationEvidence,
    RunManifest,
    StateEvidence,
)
from dpone_ops.writing import write_json

EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
STAMP = Stamp(release="v0.7.1", profile="real_local", generated_at="2026-01-01T00:00:00Z")
COMMIT = "a" * 40
GREEN_STATE = (("postgres", "xmin_state"), ("kafka", "kafka_offsets"), ("mssql", "cdc_offsets"))
_TOTAL_OF = {"passed": "passed", "failed": "failures", "error": "errors", "skipped": "skipped",
             "xfailed": "xfailed", "xpassed": "xpassed"}


def totals(statuses: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(("passed", "failures", "errors", "skipped", "xfailed", "xpassed"), 0)
    for status in statuses:
        counts[_TOTAL_OF[status]] += 1
    return {"tests": len(statuses), **counts}


def write(path: Path, artifact: Artifact | dict[str, Any]) -> Path:
    write_json(path, artifact.to_json_dict() if isinstance(artifact, Artifact) else artifact)
    return path


def observation(backend: str, check: str, *, advanced: bool = True, load_succeeded: bool = True,
                committed_after_load: bool = True) -> dict[str, Any]:
    return {"node_id": f"tests/test_state.py::test_{backend}_{check}", "backend": backend,
            "check": check, "before": 1, "after": 2 if advanced else 1,
            "load_succeeded": load_succeeded, "committed_after_load": committed_after_load,
            "advanced": advanced}


def state_evidence(
    pairs: Sequence[tuple[str, str]] = GREEN_STATE,
    *,
    statuses: dict[tuple[str, str], str] | None = None,
    observations: list[dict[str, Any]] | None = None,
    backends: Sequence[str] | None = None,
    stamp: Stamp = STAMP,
    complete: bool = True,
) -> StateEvidence:
    """State evidence where every pair has a test (passed unless ``statuses`` says otherwise)."""
    statuses = statuses or {}
    cases = [{"node_id": f"tests/test_state.py::test_{b}_{c}", "backend": b, "check": c,
              "status": statuses.get((b, c), "passed")} for b, c in pairs]
    obs = [observation(b, c) for b, c in pairs] if observations is None else observations
    red = any(c["status"] != "passed" for c in cases) or any(
        o["advanced"] != o["load_succeeded"] or not o["committed_after_load"] for o in obs)
    return StateEvidence.build(
        stamp, blockers=["state.failed"] if red else [], summary="state evidence",
        complete=complete,
        state_backends=sorted({b for b, _ in pairs} if backends is None else backends),
        checks=sorted({c for _, c in pairs}),
        required=[{"backend": b, "check": c} for b, c in pairs],
        covered=[{"backend": c["backend"], "check": c["check"]} for c in cases
                 if c["status"] == "passed"],
        cases=cases, observations=obs, totals=totals([c["status"] for c in cases]),
    )


def reconciliation_evidence(
    *, deletes: int = 500, delete_passed: bool = True, statuses: Sequence[str] = ("passed",),
    mismatched: int = 0, stamp: Stamp = STAMP,
) -> ReconciliationEvidence:
    red = not delete_passed or any(s != "passed" for s in statuses) or mismatched > 0
    cases = [{"node_id": f"tests/test_recon.py::test_{i}", "kind": "physical_delete",
              "status": s} for i, s in enumerate(statuses)]
    obs = [{"node_id": "tests/test_recon.py::test_0", "kind": "physical_delete",
            "source_rows": 1000, "sink_rows": 1000, "deleted_at_source": deletes,
            "deleted_at_sink": deletes, "mismatched_rows": mismatched}]
    return ReconciliationEvidence.build(
        stamp, blockers=["reconciliation.failed"] if red else [], summary="reconciliation",
        delete_reconciliation={"passed": delete_passed, "physical_deletes_checked": deletes},
        cases=cases, observations=obs, totals=totals(list(statuses)),
    )


CELL_COUNTS = {"PASS": ("passed", 1), "FAIL": ("failures", 1), "UNVERIFIED": ("skipped", 1)}


def certification_report(
    cells: Sequence[tuple[str, str, str, str]] = (
        ("postgres", "clickhouse", "full_refresh", "PASS"),
        ("mssql", "clickhouse", "incremental_merge", "PASS"),
        ("kafka", "minio", "append", "PASS"),
    ),
    *, stamp: Stamp = STAMP,
) -> CertificationReport:
    built = []
    for source, sink, strategy, status in cells:
        counts = {"passed": 0, "failures": 0, "errors": 0, "skipped": 0}
        key, value = CELL_COUNTS[status]
        counts[key] = value
        case_id = f"{source}_to_{sink}__{strategy}"
        built.append({"case_id": case_id, "source": source, "sink": sink, "strategy": strategy,
                      "status": status, "node_ids": [f"tests/test_matrix.py::test_{case_id}"],
                      "tests": 1, **counts})
    red = not built or any(c["status"] != "PASS" for c in built)
    return CertificationReport.build(
        stamp, blockers=["certification_report.failed"] if red else [], summary="matrix",
        cells=built, complete=True,
        coverage={"case_count": len(built), "sources": sorted({c["source"] for c in built}),
                  "sinks": sorted({c["sink"] for c in built}),
                  "strategies": sorted({c["strategy"] for c in built})},
    )


def performance_metrics(metrics: dict[str, float] | None = None, *, complete: bool = True,
                        stamp: Stamp = STAMP) -> PerformanceMetrics:
    values = {"throughput_rows_per_second": 1000.0, "duration_seconds": 60.0,
              "memory_peak_mb": 1024.0, "failure_rate": 0.0} if metrics is None else metrics
    return PerformanceMetrics.build(stamp, blockers=[], summary="metrics", complete=complete,
                                    metrics=values, samples=[])


def run_manifest(*, exit_status: int = 0, stamp: Stamp = STAMP) -> RunManifest:
    return RunManifest.build(
        stamp, blockers=[] if exit_status == 0 else ["run.exit_status"], summary="run",
        totals={"tests": 12, "passed": 12, "failures": 0, "errors": 0, "skipped": 0,
                "xfailed": 0, "xpassed": 0, "deselected": 0, "rerun": 0},
        versions={"python": "3.11.9", "pytest": "8.3.0", "plugin": "0.1.0", "xdist": "3.6.0"},
        argv=["pytest", "--dpone-evidence-dir", "ev"], xdist_workers=2,
        started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:01:30Z",
        duration_seconds=90.0, exit_status=exit_status, interrupted=False, collected=12,
        deselected=0, shard=None, dirty=False, ci={}, artifacts=[],
    )


def baseline(metrics: dict[str, float] | None = None, *, machine: dict[str, Any] | None = None,
             row_count: int | None = 25000, profile: str | None = "real_local"
             ) -> BenchmarkBaseline:
    from dpone_ops.metrics import current_machine

    values = {"throughput_rows_per_second": 1000.0, "duration_seconds": 60.0,
              "memory_peak_mb": 1024.0, "failure_rate": 0.0} if metrics is None else metrics
    where = current_machine().model_dump() if machine is None else machine
    return BenchmarkBaseline.build(
        Stamp(release="v0.7.0", profile=profile, generated_at="2025-12-01T00:00:00Z"),
        blockers=[], summary="baseline", metrics=values, machine=where, row_count=row_count,
        history=[{"metrics": values, "commit_sha": "b" * 40,
                  "recorded_at": "2025-12-01T00:00:00Z", "reason": "v0.7.0 release run"}],
    )
