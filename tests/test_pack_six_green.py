"""The release pack over the six real gate outputs: green, and red the moment one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpone_ops.cli import main
from dpone_ops.models.base import Stamp
from dpone_ops.models.pack import ReleaseEvidencePack
from dpone_ops.release_evidence_pack import DEFAULT_REQUIRED
from tests import factories, gates_factories

RELEASE, PROFILE, COMMIT = "v0.7.1", "real_local", factories.COMMIT
BINDING = ["--release", RELEASE, "--profile", PROFILE, "--commit-sha", COMMIT]
CHECKS = ("cli_commands", "run_cli", "run_python_api", "hierarchical_lineage",
          "source_sink_matrix", "contracts_guardrails", "documentation", "package")


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", gates_factories.EPOCH)
    monkeypatch.delenv("DPONE_EVIDENCE_KEY", raising=False)


def _gate(*argv: str) -> None:
    assert main([*argv, *BINDING, "--format", "json"]) == 0, argv


@pytest.fixture
def six(tmp_path: Path) -> dict[str, Path]:
    """Each default artifact produced by its real gate from model-built plugin evidence."""
    stamp = Stamp(release=RELEASE, profile=PROFILE, commit_sha=COMMIT,
                  generated_at="2026-01-01T00:00:00Z")
    ev = tmp_path / "evidence"
    markers = factories.write(ev / "service_markers.json", factories.service_markers(stamp))
    state = gates_factories.write(ev / "state_evidence.json",
                                  gates_factories.state_evidence(stamp=stamp))
    recon = gates_factories.write(ev / "reconciliation_evidence.json",
                                  gates_factories.reconciliation_evidence(stamp=stamp))
    matrix = gates_factories.write(ev / "certification_report.json",
                                   gates_factories.certification_report(stamp=stamp))
    out = tmp_path / "gates"
    _gate("ops", "performance-certification", "--row-count", "25000",
          "--metrics-json", '{"throughput_rows_per_second":1000,"duration_seconds":60,'
          '"memory_peak_mb":1024,"failure_rate":0}',
          "--minimum-json", '{"throughput_rows_per_second":500,"failure_rate":0}',
          "--maximum-json", '{"duration_seconds":120,"memory_peak_mb":2048}',
          "--output-dir", str(out / "performance-certification"))
    _gate("ops", "live-state-reconciliation", "--artifact", f"state={state}",
          "--artifact", f"reconciliation={recon}", "--require", "state",
          "--require", "reconciliation", "--output-dir", str(out / "live-state-reconciliation"))
    _gate("ops", "certification-pack", "--artifact", f"certification_report={matrix}",
          "--output-dir", str(out / "certification-pack"))
    checks = [arg for name in CHECKS for arg in ("--check", f"{name}=true")]
    _gate("ops", "pre-release-checklist", "--release-type", "minor", *checks,
          "--output-dir", str(out / "pre-release"))
    files = {
        "service_markers": markers,
        "certification_pack": out / "certification-pack" / "connector_certification_pack.json",
        "performance_certification":
            out / "performance-certification" / "performance_certification.json",
        "live_state_reconciliation":
            out / "live-state-reconciliation" / "live_state_reconciliation.json",
        "pre_release_checklist": out / "pre-release" / "pre_release_checklist.json",
    }
    _gate("ops", "evidence-chain",
          *[a for name, path in files.items() for a in ("--artifact", f"{name}={path}")],
          "--output-dir", str(out / "evidence-chain"))
    files["evidence_chain"] = out / "evidence-chain" / "evidence_chain_index.json"
    return files


def _pack(tmp_path: Path, files: dict[str, Path]) -> tuple[int, ReleaseEvidencePack]:
    out = tmp_path / "pack"
    argv = ["ops", "release-evidence-pack", *BINDING, "--release-type", "minor",
            *[a for name, path in files.items() for a in ("--artifact", f"{name}={path}")],
            "--output-dir", str(out)]
    code = main(argv)
    return code, ReleaseEvidencePack.model_validate_json(
        (out / "release_evidence_pack.json").read_bytes())


def test_all_six_valid_artifacts_make_a_green_pack(tmp_path: Path, six: dict[str, Path]) -> None:
    code, pack = _pack(tmp_path, six)
    assert (code, pack.passed, pack.blockers) == (0, True, [])
    assert [a.name for a in pack.artifacts] == list(DEFAULT_REQUIRED)
    assert all(a.passed and a.sha256 for a in pack.artifacts)
    assert pack.evidence_chain is not None
    assert pack.evidence_chain.verified


@pytest.mark.parametrize("dropped", DEFAULT_REQUIRED)
def test_removing_any_one_of_the_six_is_a_named_missing_blocker(
    tmp_path: Path, six: dict[str, Path], dropped: str
) -> None:
    code, pack = _pack(tmp_path, {k: v for k, v in six.items() if k != dropped})
    assert code == 1
    assert f"{dropped}.missing" in pack.blockers
    assert not pack.passed


def test_an_artifact_list_file_gives_the_same_pack_as_the_flags(
    tmp_path: Path, six: dict[str, Path]
) -> None:
    listing = tmp_path / "lists" / "artifacts.txt"
    listing.parent.mkdir()
    lines = ["# the six defaults", ""]
    for name, path in six.items():
        # One absolute path, the rest relative to the list file's folder.
        shown = path if name == "service_markers" else f"../{path.relative_to(tmp_path)}"
        lines.append(f"{name}={shown}")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, by_flags = _pack(tmp_path, six)
    out = tmp_path / "listed"
    code = main(["ops", "release-evidence-pack", *BINDING, "--release-type", "minor",
                 "--artifact-list", str(listing), "--output-dir", str(out)])
    by_list = ReleaseEvidencePack.model_validate_json(
        (out / "release_evidence_pack.json").read_bytes())
    assert (code, by_list.blockers) == (0, [])
    assert [(a.name, a.sha256) for a in by_list.artifacts] == [
        (a.name, a.sha256) for a in by_flags.artifacts]


@pytest.mark.parametrize(
    ("content", "extra"),
    [("service_markers\n", []), ("=x.json\n", []),
     ("service_markers=a.json\n", ["--artifact", "service_markers=b.json"])],
)
def test_a_bad_artifact_list_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, extra: list[str]
) -> None:
    listing = tmp_path / "artifacts.txt"
    listing.write_text(content, encoding="utf-8")
    out = tmp_path / "pack"
    assert main(["ops", "release-evidence-pack", *BINDING, "--artifact-list", str(listing),
                 *extra, "--output-dir", str(out)]) == 2
    assert capsys.readouterr().err.startswith("dpone: error:")
    assert not out.exists()


def test_a_missing_artifact_list_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["ops", "release-evidence-pack", *BINDING, "--artifact-list",
                 str(tmp_path / "nope.txt"), "--output-dir", str(tmp_path / "pack")]) == 2
