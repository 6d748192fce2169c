"""Issue 6 acceptance: ``dpone ops certify`` on the quickstart, green and red; kafka skips fast.

The two certify runs are real: pytest runs the quickstart as a subprocess, the green one
against a throwaway PostgreSQL the plugin's local provider starts from the installed
binaries (no env var, no Docker), the red one against a closed port.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dpone_ops.cli import main
from dpone_ops.models import KINDS
from dpone_ops.models.certify import CertificationRun
from dpone_ops.models.evidence import ServiceMarkers
from dpone_ops.models.gates import PreReleaseChecklist
from dpone_ops.models.pack import ReleaseEvidencePack
from dpone_ops.provenance import git_head
from tests._plugin_support import run

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "quickstart"
PATCH_CHECKS = ["cli_commands", "documentation", "package", "run_cli", "source_sink_matrix"]


@pytest.fixture
def no_service_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No endpoint configured and no Docker engine: what a fresh machine has."""
    for name in list(os.environ):
        if name.startswith(("DPONE_IT_", "DPONE_SERVICE_")) or (
                name.startswith("DPONE_") and name.endswith(("_URL", "_SERVERS"))):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


def parse_every_artifact(root: Path) -> dict[str, Any]:
    """Each JSON file certify left under ``root``, parsed with the model of its kind."""
    parsed: dict[str, Any] = {}
    for path in sorted(root.rglob("*.json")):
        kind = json.loads(path.read_bytes())["kind"]
        parsed[str(path.relative_to(root))] = KINDS[kind].model_validate_json(path.read_bytes())
    return parsed


def test_certify_runs_the_quickstart_to_a_green_pack_on_a_local_postgres(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_service_env: None,
) -> None:
    out_dir = tmp_path / "out"
    code = main(["ops", "certify", "--project", str(QUICKSTART), "--output-dir", str(out_dir)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "passed" in out  # pytest's own output streamed through
    assert "dpone certify: GO" in out
    parsed = parse_every_artifact(out_dir)
    assert {
        "service_markers.json", "state_evidence.json", "reconciliation_evidence.json",
        "performance_metrics.json", "certification_report.json", "run_manifest.json",
        "release_checks.json", "certification_run.json",
        "performance-certification/performance_certification.json",
        "live-state-reconciliation/live_state_reconciliation.json",
        "certification-pack/connector_certification_pack.json",
        "pre-release/pre_release_checklist.json", "evidence-chain/evidence_chain_index.json",
        "release-evidence-pack/release_evidence_pack.json",
    } <= set(parsed)
    pack = parsed["release-evidence-pack/release_evidence_pack.json"]
    assert isinstance(pack, ReleaseEvidencePack)
    assert pack.passed
    assert pack.evidence_chain is not None
    assert pack.evidence_chain.verified
    assert {a.name for a in pack.artifacts} == {
        "service_markers", "certification_pack", "performance_certification",
        "live_state_reconciliation", "pre_release_checklist", "evidence_chain", "run_manifest"}
    markers = parsed["service_markers.json"]
    assert isinstance(markers, ServiceMarkers)
    assert markers.services["postgres"].provider == "local"
    assert markers.services["postgres"].passed == markers.services["postgres"].tests >= 8
    checklist = parsed["pre-release/pre_release_checklist.json"]
    assert isinstance(checklist, PreReleaseChecklist)
    assert sorted(c.name for c in checklist.checks if c.passed) == PATCH_CHECKS
    assert {c.source for c in checklist.checks} == {"evidence"}
    run_record = parsed["certification_run.json"]
    assert isinstance(run_record, CertificationRun)
    assert run_record.passed
    assert run_record.pytest.exit_status == 0
    assert {s.status for s in run_record.steps} == {"PASS"}
    # Everything is bound to the project's commit (this repository's HEAD).
    head = git_head(str(REPO))
    assert {m.commit_sha for m in parsed.values()
            if hasattr(m, "commit_sha")} == {head}


def test_certify_with_postgres_on_a_closed_port_ends_red_with_service_blockers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_service_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DPONE_IT_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("DPONE_IT_PG_PORT", "1")
    monkeypatch.setenv("DPONE_SERVICE_READY_TIMEOUT", "1")
    out_dir = tmp_path / "out"
    code = main(["ops", "certify", "--project", str(QUICKSTART), "--output-dir", str(out_dir),
                 "--format", "json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback (most recent call last)" not in captured.err
    assert "ServiceNotReady" in captured.err  # pytest's output went to stderr
    run_record = CertificationRun.model_validate_json(captured.out)
    assert run_record == CertificationRun.model_validate_json(
        (out_dir / "certification_run.json").read_bytes())
    assert not run_record.passed
    service = [c for c in run_record.blockers if c.startswith("service.postgres.")]
    assert "service.postgres.failed" in service
    assert {"pytest.exit_status", "release_evidence_pack.not_passed",
            "service_markers.not_passed", "run_manifest.not_passed"} <= set(run_record.blockers)
    assert run_record.causes[0].code == "pytest.exit_status"
    assert all(c.runbook for c in run_record.causes)
    pack = ReleaseEvidencePack.model_validate_json(
        (out_dir / "release-evidence-pack/release_evidence_pack.json").read_bytes())
    assert not pack.passed
    markers = ServiceMarkers.model_validate_json((out_dir / "service_markers.json").read_bytes())
    assert markers.services["postgres"].errors == markers.services["postgres"].tests >= 8


KAFKA_SUITE = """
import pytest

@pytest.mark.service("kafka")
def test_reads_a_topic(dpone_service):
    raise AssertionError("must not run without a broker")
"""


@pytest.mark.parametrize(
    ("requirement", "xdist"),
    [(["--dpone-profile=real_local"], []), (["--dpone-require-service=kafka"], []),
     (["--dpone-profile=real_local"], ["-n", "2"])],
    ids=["profile", "require", "profile-xdist"],
)
def test_without_docker_a_kafka_test_skips_in_under_a_second_and_blocks_the_gate(
    pytester: pytest.Pytester, no_service_env: None, xdist: list[str],
    requirement: list[str],
) -> None:
    pytester.makepyfile(test_kafka=KAFKA_SUITE)
    result = run(pytester, *requirement, *xdist)
    result.assert_outcomes(skipped=1)
    markers = ServiceMarkers.model_validate_json(
        (pytester.path / "evidence" / "service_markers.json").read_bytes())
    (case,) = markers.cases
    assert case.status == "skipped"
    assert case.skip_reason is not None
    assert "DPONE_KAFKA_BOOTSTRAP_SERVERS" in case.skip_reason
    assert case.duration_ms is not None
    assert case.duration_ms < 1000
    assert not markers.passed
    assert markers.evidence_status != "PASS"
    assert any(b.startswith("service.kafka.") for b in markers.blockers)
    assert markers.services["kafka"].skipped == 1
    assert markers.services["kafka"].passed == 0
