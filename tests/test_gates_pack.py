"""certification-pack: matrix coverage, per-item status, observability."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dpone_ops.cli import main
from dpone_ops.models.gates import ConnectorCertificationPack
from dpone_ops.runbook import PACK_GENERAL
from dpone_ops.writing import md_escape
from tests.gates_factories import (
    EPOCH,
    STAMP,
    certification_report,
    performance_metrics,
    reconciliation_evidence,
    run_manifest,
    state_evidence,
    write,
)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def run(tmp_path: Path, artifacts: dict[str, Any], *extra: str
        ) -> tuple[int, ConnectorCertificationPack]:
    argv = ["ops", "certification-pack", "--profile", "real_local"]
    for name, content in artifacts.items():
        path = tmp_path / f"{name}.json"
        if content is not None:
            write(path, content)
        argv += ["--artifact", f"{name}={path}"]
    out = tmp_path / "out"
    code = main([*argv, *extra, "--output-dir", str(out), "--format", "json"])
    report = ConnectorCertificationPack.model_validate_json(
        (out / "connector_certification_pack.json").read_bytes())
    assert (out / "connector_certification_pack.md").is_file()
    return code, report


def test_a_green_matrix_with_its_run_passes_with_coverage_and_observability(
    tmp_path: Path,
) -> None:
    code, report = run(tmp_path, {
        "certification_report": certification_report(), "run_manifest": run_manifest(),
        "performance_metrics": performance_metrics(), "state": state_evidence(),
        "reconciliation": reconciliation_evidence()})
    assert code == 0, report.blockers
    assert report.evidence_status == "PASS"
    assert report.coverage.case_count == 3
    assert report.coverage.sources == ["kafka", "mssql", "postgres"]
    assert report.coverage.sinks == ["clickhouse", "minio"]
    assert report.coverage.strategies == ["append", "full_refresh", "incremental_merge"]
    assert [i.id for i in report.items if i.type == "matrix_cell"] == [
        "kafka_to_minio__append", "mssql_to_clickhouse__incremental_merge",
        "postgres_to_clickhouse__full_refresh"]
    assert all(i.status == "PASS" for i in report.items)
    assert report.observability is not None
    assert report.observability.exit_status == 0
    assert report.observability.pytest == "8.3.0"
    assert report.observability.duration_seconds == 90.0
    assert report.performance is not None
    assert report.performance["memory_peak_mb"] == 1024.0
    assert report.state_summary is not None
    assert report.state_summary.startswith("PASS")
    assert report.pack_id.startswith("ccp-")


def test_the_pack_id_is_bound_to_the_input_bytes(tmp_path: Path) -> None:
    _, first = run(tmp_path / "a", {"certification_report": certification_report()})
    _, same = run(tmp_path / "b", {"certification_report": certification_report()})
    _, other = run(tmp_path / "c", {"certification_report": certification_report(
        [("postgres", "minio", "backfill", "PASS")])})
    assert first.pack_id == same.pack_id != other.pack_id


FAILED_CELL = [("postgres", "clickhouse", "full_refresh", "PASS"),
               ("mssql", "clickhouse", "incremental_merge", "FAIL"),
               ("kafka", "minio", "append", "UNVERIFIED")]

# (case id, artifacts, extra argv, expected blockers)
BLOCKER_CASES: list[tuple[str, dict[str, Any], list[str], list[str]]] = [
    ("red and skipped cells", {"certification_report": certification_report(FAILED_CELL)}, [],
     ["certification_report.not_passed", "kafka_to_minio__append.not_passed",
      "mssql_to_clickhouse__incremental_merge.not_passed"]),
    ("empty matrix", {"certification_report": certification_report([])}, [],
     ["certification_report.not_passed", "matrix.empty"]),
    ("matrix absent", {"certification_report": None}, [], ["certification_report.missing"]),
    ("matrix not given", {"run_manifest": run_manifest()}, [],
     ["certification_report.missing"]),
    ("hand-written matrix", {"certification_report": {"passed": True, "items": []}}, [],
     ["certification_report.invalid"]),
    ("run that exited non-zero", {"certification_report": certification_report(),
                                  "run_manifest": run_manifest(exit_status=1)}, [],
     ["run_manifest.not_passed"]),
    ("incomplete performance run", {"certification_report": certification_report(),
                                    "performance_metrics": performance_metrics(complete=False)},
     [], ["performance_metrics.not_passed"]),
    ("matrix of another profile", {"certification_report": certification_report(
        stamp=STAMP.model_copy(update={"profile": "local_live"}))}, [],
     ["certification_report.profile_mismatch"]),
    ("required run manifest absent", {"certification_report": certification_report()},
     ["--require", "run_manifest"], ["run_manifest.missing"]),
]


@pytest.mark.parametrize(("case", "artifacts", "extra", "expected"), BLOCKER_CASES,
                         ids=[c[0] for c in BLOCKER_CASES])
def test_each_blocker_the_pack_can_emit(
    tmp_path: Path, case: str, artifacts: dict[str, Any], extra: list[str],
    expected: list[str],
) -> None:
    code, report = run(tmp_path, artifacts, *extra)
    assert code == 1, case
    assert report.blockers == expected
    assert report.evidence_status in ("FAIL", "UNVERIFIED")
    assert any(i.status != "PASS" for i in report.items)


@pytest.mark.parametrize("argv", [["--artifact", "junit=x.json"], ["--require", "junit"]],
                         ids=["unknown input", "unknown requirement"])
def test_an_input_the_pack_does_not_read_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(["ops", "certification-pack", *argv, "--output-dir", str(tmp_path)]) == 2
    assert "unknown input 'junit'" in capsys.readouterr().err


def test_the_markdown_renders_items_observability_blockers_and_the_runbook(
    tmp_path: Path,
) -> None:
    code, _ = run(tmp_path, {"certification_report": certification_report(FAILED_CELL),
                             "run_manifest": run_manifest()})
    assert code == 1
    text = (tmp_path / "out" / "connector_certification_pack.md").read_text()
    assert "- `mssql_to_clickhouse__incremental_merge.not_passed`" in text
    assert "exit status: 0" in text
    assert "pytest 8.3.0" in text
    for line in PACK_GENERAL:
        assert md_escape(line) in text
    assert "Fix every \\*.missing / \\*.not\\_passed" in text
    assert "Re-run the actual gate" in text
