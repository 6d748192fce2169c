"""live-state-reconciliation: state moved only after loads; physical deletes reconcile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dpone_ops.cli import main
from dpone_ops.models.gates import LiveStateReconciliation
from dpone_ops.runbook import STATE_GENERAL
from dpone_ops.writing import md_escape
from tests.gates_factories import (
    EPOCH,
    GREEN_STATE,
    STAMP,
    observation,
    reconciliation_evidence,
    state_evidence,
    write,
)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def inputs(tmp_path: Path, state: Any = None, recon: Any = None) -> tuple[Path, Path]:
    s = write(tmp_path / "state_evidence.json", state_evidence() if state is None else state)
    r = write(tmp_path / "reconciliation_evidence.json",
              reconciliation_evidence() if recon is None else recon)
    return s, r


def public_argv(out: Path, state: Path, recon: Path, *extra: str) -> list[str]:
    """The public docs' invocation, verbatim but for the paths."""
    return ["ops", "live-state-reconciliation", "--profile", "real_local", "--artifact",
            f"state={state}", "--artifact", f"reconciliation={recon}", "--require", "state",
            "--require", "reconciliation", *extra, "--output-dir", str(out), "--format", "json"]


def run(argv: list[str], out: Path) -> tuple[int, LiveStateReconciliation]:
    code = main(argv)
    report = LiveStateReconciliation.model_validate_json(
        (out / "live_state_reconciliation.json").read_bytes())
    assert (out / "live_state_reconciliation.md").is_file()
    return code, report


def test_the_public_docs_invocation_passes_on_the_plugins_evidence(tmp_path: Path) -> None:
    state, recon = inputs(tmp_path)
    code, report = run(public_argv(tmp_path / "out", state, recon), tmp_path / "out")
    assert code == 0, report.blockers
    assert report.state_backends == ["kafka", "mssql", "postgres"]
    assert report.state_checks == ["cdc_offsets", "kafka_offsets", "xmin_state"]
    assert report.delete_reconciliation_checked
    assert report.physical_deletes_checked == 500
    assert [a.name for a in report.artifacts] == ["reconciliation", "state"]
    assert all(a.passed and a.sha256 for a in report.artifacts)


LEGACY_STATE = {"passed": True, "state_backends": ["postgres", "mssql"],
                "checks": ["xmin_state", "kafka_offsets"], "profile": "real_local"}
LEGACY_RECON = {"passed": True,
                "delete_reconciliation": {"passed": True, "physical_deletes_checked": 500}}
PG = ("postgres", "xmin_state")

# (case id, state content, reconciliation content, extra argv, expected blockers)
BLOCKER_CASES: list[tuple[str, Any, Any, list[str], list[str]]] = [
    ("legacy state file", LEGACY_STATE, None, [],
     ["state.invalid"]),
    ("legacy reconciliation file", None, LEGACY_RECON, [],
     ["delete_reconciliation.missing", "reconciliation.invalid"]),
    ("failed state test", state_evidence(statuses={PG: "failed"}), None, [],
     ["state.not_passed", "state.postgres.xmin_state.missing",
      "state.postgres.xmin_state.not_passed"]),
    ("skipped state test", state_evidence(statuses={PG: "skipped"}), None, [],
     ["state.not_passed", "state.postgres.xmin_state.missing",
      "state.postgres.xmin_state.not_passed"]),
    ("advanced without load",
     state_evidence(observations=[*(observation(b, c) for b, c in GREEN_STATE),
                                  observation(*PG, load_succeeded=False)]), None, [],
     ["state.not_passed", "state.postgres.xmin_state.advanced_without_load"]),
    ("committed before load",
     state_evidence(observations=[*(observation(b, c) for b, c in GREEN_STATE),
                                  observation("kafka", "kafka_offsets",
                                              committed_after_load=False)]), None, [],
     ["state.kafka.kafka_offsets.committed_before_load", "state.not_passed"]),
    ("stayed put after a load",
     state_evidence(observations=[*(observation(b, c) for b, c in GREEN_STATE),
                                  observation("mssql", "cdc_offsets", advanced=False)]), None,
     [], ["state.mssql.cdc_offsets.stayed_put", "state.not_passed"]),
    ("no observation", state_evidence(observations=[observation(b, c)
                                                    for b, c in GREEN_STATE[1:]]), None, [],
     ["state.postgres.xmin_state.unobserved"]),
    ("required backend without evidence", None, None, ["--require-backend", "mysql"],
     ["state.mysql.cdc_offsets.missing", "state.mysql.cdc_offsets.unobserved"]),
    ("backend without its applicable check",
     state_evidence([("postgres", "run_state")], backends=["postgres"]), None, [],
     ["state.postgres.xmin_state.missing", "state.postgres.xmin_state.unobserved"]),
    ("failed delete reconciliation", None,
     reconciliation_evidence(delete_passed=False, deletes=0), [],
     ["delete_reconciliation.missing", "reconciliation.not_passed"]),
    ("deletes proven but another reconciliation failed", None,
     reconciliation_evidence(statuses=("passed", "failed")), [],
     ["delete_reconciliation.missing", "reconciliation.not_passed"]),
    ("mismatched rows", None, reconciliation_evidence(mismatched=3), [],
     ["delete_reconciliation.missing", "reconciliation.mismatched_rows",
      "reconciliation.not_passed"]),
    ("state evidence that covers nothing", state_evidence([], observations=[]), None, [],
     ["state.empty"]),
    ("extra required input absent", None, None, ["--require", "run_manifest"],
     ["run_manifest.missing"]),
    ("evidence of another profile",
     state_evidence(stamp=STAMP.model_copy(update={"profile": "local_live"})), None, [],
     ["state.profile_mismatch"]),
]


@pytest.mark.parametrize(("case", "state", "recon", "extra", "expected"), BLOCKER_CASES,
                         ids=[c[0] for c in BLOCKER_CASES])
def test_each_blocker_the_gate_can_emit(
    tmp_path: Path, case: str, state: Any, recon: Any, extra: list[str], expected: list[str]
) -> None:
    s, r = inputs(tmp_path, state, recon)
    code, report = run(public_argv(tmp_path / "out", s, r, *extra), tmp_path / "out")
    assert code == 1, case
    assert report.blockers == expected


def test_absent_inputs_are_missing_and_prove_nothing(tmp_path: Path) -> None:
    argv = ["ops", "live-state-reconciliation", "--profile", "real_local", "--require-backend",
            "postgres", "--output-dir", str(tmp_path)]
    code, report = run(argv, tmp_path)
    assert code == 1
    assert report.evidence_status == "UNVERIFIED"
    assert report.blockers == ["delete_reconciliation.missing", "reconciliation.missing",
                               "state.missing", "state.postgres.xmin_state.missing",
                               "state.postgres.xmin_state.unobserved"]


@pytest.mark.parametrize(
    "argv",
    [["--artifact", "state"], ["--artifact", "=x.json"], ["--artifact", "a b=x.json"],
     ["--artifact", "state=a.json", "--artifact", "state=b.json"], ["--require", "bad name"]],
    ids=["no path", "no name", "unsafe name", "name twice", "unsafe require"],
)
def test_malformed_flags_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(["ops", "live-state-reconciliation", *argv, "--output-dir", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_markdown_renders_the_blockers_and_the_runbook(tmp_path: Path) -> None:
    state = state_evidence(observations=[*(observation(b, c) for b, c in GREEN_STATE),
                                         observation(*PG, load_succeeded=False)])
    s, r = inputs(tmp_path, state, reconciliation_evidence(delete_passed=False, deletes=0))
    code = main([*public_argv(tmp_path, s, r), "--format", "markdown"])
    assert code == 1
    text = (tmp_path / "live_state_reconciliation.md").read_text()
    for blocker in ("state.postgres.xmin_state.advanced_without_load",
                    "delete_reconciliation.missing"):
        assert f"- `{blocker}`" in text
    for line in STATE_GENERAL:
        assert md_escape(line) in text
    assert "re-run the state backend markers" in text.lower()
    assert "confirm offsets advanced only after load success" in text.lower()
    assert "re-run physical-delete reconciliation" in text.lower()
    assert "hand-written or legacy state files are not accepted" in text
