"""certify's verdict: pure evaluation, red pytest exits, gates that cannot run, one screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpone_ops import certify
from dpone_ops.artifact_validation import LoadedArtifact
from dpone_ops.certify_config import CertifyConfig
from dpone_ops.models.base import Stamp
from dpone_ops.models.certify import CertificationRun, CertifyStep, PytestRun
from dpone_ops.models.status import ArtifactStatus
from dpone_ops.runbook import line_for

STAMP = Stamp(release="v1.0.0", profile="local_live", commit_sha="a" * 40,
              generated_at="2026-01-01T00:00:00Z")
CONFIG = CertifyConfig.model_validate({"release_type": "patch",
                                       "thresholds": {"maximum": {"failure_rate": 0}}})


def target(tmp_path: Path) -> certify.Target:
    return certify.Target(project=tmp_path, output_dir=tmp_path / "out", config=CONFIG,
                          release="v1.0.0", profile="local_live", commit_sha="a" * 40,
                          pytest_args=())


def pack_status(*, blockers: list[str]) -> LoadedArtifact:
    return LoadedArtifact(ArtifactStatus(
        name="release_evidence_pack", path="/x/release_evidence_pack.json", required=True,
        exists=True, passed=not blockers, sha256="0" * 64, size_bytes=10,
        kind="release_evidence_pack", schema_version="dpone.release_evidence_pack.v1",
        summary="s", blocker=min(blockers) if blockers else None, blockers=sorted(blockers)))


def pytest_run(exit_status: int) -> PytestRun:
    return PytestRun(argv=["python", "-m", "pytest"], cwd="/x", exit_status=exit_status,
                     duration_seconds=1.0)


def step(name: str, *, error: str | None = None) -> CertifyStep:
    return CertifyStep(name=name, argv=["dpone", "ops"], exit_code=2 if error else 0,
                       status="ERROR" if error else "PASS", report=f"/x/{name}.json",
                       summary=error or "ok", error=error)


def test_a_green_pack_with_a_green_pytest_run_passes(tmp_path: Path) -> None:
    run = certify.evaluate(target=target(tmp_path), pytest_run=pytest_run(0),
                           steps=[step("evidence_chain")], pack=pack_status(blockers=[]),
                           causes_by_artifact={}, stamp=STAMP)
    assert run.passed
    assert run.evidence_status == "PASS"
    assert run.causes == []
    assert "GO" in certify.render_text(run).splitlines()[0]


@pytest.mark.parametrize("exit_status", [1, 2, 3, 4, 5])
def test_a_red_pytest_exit_is_never_swallowed_even_under_a_green_pack(
    tmp_path: Path, exit_status: int,
) -> None:
    run = certify.evaluate(target=target(tmp_path), pytest_run=pytest_run(exit_status),
                           steps=[], pack=pack_status(blockers=[]), causes_by_artifact={},
                           stamp=STAMP)
    assert not run.passed
    assert run.blockers == ["pytest.exit_status"]
    assert run.causes[0].runbook == line_for("pytest.exit_status")
    with pytest.raises(ValueError, match="pytest exited non-zero"):
        CertificationRun.model_validate({**run.model_dump(mode="json"), "passed": True,
                                         "evidence_status": "PASS", "blockers": [],
                                         "causes": []})


def test_a_gate_that_could_not_run_is_its_own_blocker_and_root_causes_come_first(
    tmp_path: Path,
) -> None:
    run = certify.evaluate(
        target=target(tmp_path), pytest_run=pytest_run(1),
        steps=[step("performance_certification", error="dpone: error: no thresholds")],
        pack=pack_status(blockers=["release_evidence_pack.not_passed"]),
        causes_by_artifact={"service_markers": ["service.postgres.failed"]}, stamp=STAMP)
    assert [c.code for c in run.causes] == [
        "pytest.exit_status", "service.postgres.failed", "performance_certification.error",
        "release_evidence_pack.not_passed"]
    assert run.blockers == sorted(c.code for c in run.causes)
    assert {c.code: c.source for c in run.causes}["service.postgres.failed"] == "service_markers"


def test_run_gate_returns_the_one_line_error_of_a_gate_that_refuses_its_input(
    tmp_path: Path,
) -> None:
    code, error = certify.run_gate(["ops", "performance-certification", "--metrics-json",
                                    "{nope", "--output-dir", str(tmp_path)])
    assert code == 2
    assert error is not None
    assert error.startswith("dpone: error: performance-certification needs thresholds")
    assert certify.run_gate(["ops", "performance-certification", "--metrics-json",
                             '{"failure_rate": 1}', "--maximum-json", '{"failure_rate": 0}',
                             "--output-dir", str(tmp_path)]) == (1, None)


def test_the_verdict_fits_one_screen_however_many_blockers(tmp_path: Path) -> None:
    causes = {"service_markers": [f"service.s{i:02d}.failed" for i in range(40)]}
    run = certify.evaluate(target=target(tmp_path), pytest_run=pytest_run(1), steps=[],
                           pack=pack_status(blockers=["release_evidence_pack.not_passed"]),
                           causes_by_artifact=causes, stamp=STAMP)
    text = certify.render_text(run)
    assert len(text.splitlines()) <= 40
    assert "NO-GO" in text.splitlines()[0]
    assert f"... {len(run.causes) - certify.MAX_SHOWN} more in" in text
    markdown = certify.render_markdown(run)
    assert all(f"`{c.code}`" in markdown for c in run.causes)


def test_stale_evidence_of_an_earlier_run_is_removed_before_pytest(tmp_path: Path) -> None:
    where = target(tmp_path)
    stale = [where.evidence("service_markers"), where.report("release_evidence_pack"),
             where.output_dir / "evidence_journal.jsonl"]
    keep = where.output_dir / "notes.txt"
    for path in [*stale, keep]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    certify.clear_stale(where)
    assert [p.exists() for p in stale] == [False, False, False]
    assert keep.exists()


def test_an_interrupted_certify_exits_1_with_one_line_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from dpone_ops.cli import main

    def interrupted(*args: object, **kwargs: object) -> CertificationRun:
        raise KeyboardInterrupt

    monkeypatch.setattr(certify, "certify", interrupted)
    quickstart = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
    assert main(["ops", "certify", "--project", str(quickstart)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dpone: certify interrupted; the evidence in ")
    assert "Traceback" not in err
