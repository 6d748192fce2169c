"""Valid artifacts built through the models, for tests that need real inputs."""

from __future__ import annotations

from pathlib import Path

from dpone_ops.models.base import Stamp
from dpone_ops.models.evidence import Case, ServiceGate, ServiceMarkers, ServiceTally, Totals
from dpone_ops.writing import write_json

COMMIT = "a" * 40
OTHER_COMMIT = "b" * 40
EPOCH_STAMP = "2026-01-01T00:00:00Z"


def stamp(
    release: str | None = "v1.2.3", profile: str | None = "real_local", commit: str | None = COMMIT
) -> Stamp:
    return Stamp(release=release, profile=profile, commit_sha=commit, generated_at=EPOCH_STAMP)


def service_markers(st: Stamp | None = None, *, green: bool = True) -> ServiceMarkers:
    st = st or stamp()
    status = "passed" if green else "failed"
    cases = [Case(node_id="tests/test_pg.py::test_copy", status=status, services=["postgres"])]
    tally = ServiceTally(
        tests=1, passed=int(green), skipped=0, failures=int(not green), errors=0,
        required=True, provider="env", passed_gate=green,
    )
    return ServiceMarkers.build(
        st,
        blockers=[] if green else ["service.postgres.failed"],
        summary="postgres: 1 passed" if green else "postgres: 1 failed",
        status="PASS" if green else "FAIL",
        gate=ServiceGate(min_passed=1, max_skipped=0),
        totals=Totals(tests=1, passed=int(green), skipped=0, failures=int(not green), errors=0),
        cases=cases,
        message="junit gate ok" if green else "FAIL≠PASS: failures or errors reported",
        required_services=["postgres"],
        services={"postgres": tally},
        complete=True,
    )


def write(path: Path, model: object) -> Path:
    write_json(path, model)
    return path
