"""live-certification-plan: steps, services, commands and credentials per profile."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from dpone_ops.cli import build_parser, main
from dpone_ops.live_certification import DISPOSABLE_SERVICES, VENDOR_CREDENTIALS
from dpone_ops.models.gates import LiveCertificationPlan
from dpone_ops.runbook import PLAN_GENERAL
from dpone_ops.writing import md_escape
from tests.gates_factories import EPOCH

SECRET = "s3cr3t-value-never-printed"
VENDOR_VARS = sorted({v for names in VENDOR_CREDENTIALS.values() for v in names})


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    for name in VENDOR_VARS:
        monkeypatch.delenv(name, raising=False)


def run(tmp_path: Path, *argv: str) -> tuple[int, LiveCertificationPlan]:
    code = main(["ops", "live-certification-plan", *argv, "--output-dir", str(tmp_path)])
    plan = LiveCertificationPlan.model_validate_json(
        (tmp_path / "live_certification_plan.json").read_bytes())
    assert (tmp_path / "live_certification_plan.md").is_file()
    return code, plan


def test_the_public_docs_invocation_lays_out_the_real_local_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ops", "live-certification-plan", "--profile", "real_local", "--row-count",
                 "25000", "--output-dir", str(tmp_path), "--format", "json"])
    assert code == 0
    plan = LiveCertificationPlan.model_validate_json(
        (tmp_path / "live_certification_plan.json").read_bytes())
    assert json.loads(capsys.readouterr().out) == plan.to_json_dict()
    assert plan.passed
    assert plan.row_count == 25000
    assert plan.services == list(DISPOSABLE_SERVICES)
    assert [s.name for s in plan.steps] == [
        "start_services", "run_marked_tests", "performance_certification",
        "benchmark_slo_gate", "live_state_reconciliation", "certification_pack",
        "pre_release_checklist",
        "evidence_chain", "release_evidence_pack", "stop_services"]
    steps = {s.name: s for s in plan.steps}
    assert steps["start_services"].required
    assert not steps["stop_services"].required
    assert "docker/docker-compose.integration.yml up -d" in steps["start_services"].command
    assert "schema-registry" in steps["start_services"].command
    tests = steps["run_marked_tests"]
    assert "--dpone-evidence-dir test_artifacts/live_certification" in tests.command
    assert tests.env["DPONE_ROW_COUNT"] == "25000"
    assert "test_artifacts/live_certification/service_markers.json" in tests.expected_artifacts
    assert steps["performance_certification"].expected_artifacts == [
        "test_artifacts/live_certification/performance-certification/"
        "performance_certification.json",
        "test_artifacts/live_certification/performance-certification/"
        "performance_certification.md"]
    assert plan.required_env == ["DPONE_RELEASE"]
    assert plan.credentials_missing == []
    assert plan.credentials_present == []


@pytest.mark.parametrize(
    ("profile", "services", "compose"),
    [
        ("local_live", ["postgres"], False),
        ("real_local", list(DISPOSABLE_SERVICES), True),
        ("vendor_live", ["bigquery", "kafka"], None),
    ],
)
def test_each_profile_names_its_services(
    tmp_path: Path, profile: str, services: list[str], compose: bool | None
) -> None:
    _, plan = run(tmp_path, "--profile", profile)
    assert plan.services == services
    start = [s for s in plan.steps if s.name == "start_services"]
    if compose is None:
        assert not start
        assert plan.compose_file is None
    else:
        assert start[0].required is compose


def test_extra_services_are_added_to_the_profiles(tmp_path: Path) -> None:
    _, plan = run(tmp_path, "--profile", "local_live", "--service", "kafka")
    assert plan.services == ["postgres", "kafka"]
    assert "--dpone-require-service kafka" in plan.steps[1].command


def test_vendor_live_reports_credential_names_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", SECRET)
    monkeypatch.setenv("DPONE_VENDOR_TOKEN", SECRET)
    code, plan = run(tmp_path, "--profile", "vendor_live", "--credential-env",
                     "DPONE_VENDOR_TOKEN", "--format", "markdown")
    assert code == 1
    assert plan.credentials_present == ["DPONE_VENDOR_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS"]
    missing = sorted(set(VENDOR_VARS) - {"GOOGLE_APPLICATION_CREDENTIALS"})
    assert plan.credentials_missing == missing
    assert plan.blockers == [f"env.{name}.missing" for name in missing]
    for path in tmp_path.iterdir():
        assert SECRET not in path.read_text()
    assert SECRET not in capsys.readouterr().out


def test_vendor_live_with_every_credential_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in VENDOR_VARS:
        monkeypatch.setenv(name, SECRET)
    code, plan = run(tmp_path, "--profile", "vendor_live", "--release", "v0.7.1")
    assert code == 0
    assert plan.credentials_missing == []
    assert plan.required_env == VENDOR_VARS


def test_the_plans_gate_commands_are_accepted_by_this_cli(tmp_path: Path) -> None:
    _, plan = run(tmp_path, "--profile", "real_local", "--release", "v0.7.1")
    parser = build_parser()
    ours = {"performance_certification", "live_state_reconciliation", "certification_pack"}
    for step in plan.steps:
        if step.name in ours:
            argv = shlex.split(step.command)
            assert argv[:2] == ["dpone", "ops"]
            args = parser.parse_args(argv[1:])
            assert args.handler.__name__.startswith("run_")


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "staging"],
        [],
        ["--profile", "local_live", "--service", "oracle"],
        ["--profile", "real_local", "--row-count", "0"],
        ["--profile", "real_local", "--row-count", "2000000000"],
        ["--profile", "real_local", "--evidence-dir", "a`b"],
        ["--profile", "vendor_live", "--credential-env", "BAD NAME"],
    ],
    ids=["unknown profile", "no profile", "unknown service", "zero rows", "too many rows",
         "unsafe dir", "unsafe credential name"],
)
def test_unusable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(["ops", "live-certification-plan", *argv, "--output-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("dpone: error:")
    assert err.count("\n") == 1
    assert not (tmp_path / "live_certification_plan.json").exists()


def test_the_markdown_renders_steps_blockers_and_the_runbook(tmp_path: Path) -> None:
    code, _ = run(tmp_path, "--profile", "vendor_live")
    assert code == 1
    text = (tmp_path / "live_certification_plan.md").read_text()
    assert "- `env.GOOGLE_APPLICATION_CREDENTIALS.missing`" in text
    assert "dpone ops live-state-reconciliation" in text
    for line in PLAN_GENERAL:
        assert md_escape(line) in text


def test_the_same_inputs_give_byte_identical_plans(tmp_path: Path) -> None:
    run(tmp_path / "a", "--profile", "real_local", "--release", "v0.7.1")
    run(tmp_path / "b", "--profile", "real_local", "--release", "v0.7.1")
    for name in ("live_certification_plan.json", "live_certification_plan.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
