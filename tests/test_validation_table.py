"""Every bad or self-declared input is a named blocker or exit 2, never green, never a crash."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dpone_ops.artifact_validation import Binding, load_artifact
from dpone_ops.cli import main
from dpone_ops.models.pack import ArtifactValidation
from tests import factories

ORIGINAL_RECEIPT = {
    "schema_version": 1,
    "status": "FAIL",
    "profile": "real_local",
    "commit_sha": factories.COMMIT,
    "junit": "junit.xml",
    "gate": {"min_passed": 1, "max_skipped": 0},
    "totals": {"tests": 2, "passed": 1, "skipped": 0, "failures": 1, "errors": 0},
    "cases": [{"node_id": "tests.test_pg::test_copy", "status": "failed"}],
    "message": "FAIL≠PASS: failures or errors reported",
}


def text(value: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(value, encoding="utf-8")


def raw(value: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(value)


def obj(value: object) -> Callable[[Path], None]:
    return lambda path: path.write_text(json.dumps(value), encoding="utf-8")


def model(**kwargs: object) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        st = factories.stamp(**kwargs)  # type: ignore[arg-type]
        factories.write(path, factories.service_markers(st))

    return make


def edited(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        data = factories.service_markers().model_dump(mode="json")
        change(data)
        path.write_text(json.dumps(data), encoding="utf-8")

    return make


def directory(path: Path) -> None:
    path.mkdir()


def nothing(path: Path) -> None:
    del path


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_loop(path: Path) -> None:
    os.symlink(path, path)


def oversized(path: Path) -> None:
    with path.open("wb") as handle:  # sparse: 65 MiB without writing it
        handle.truncate(65 * 1024 * 1024)


# (case id, slot name, how to make the file, expected blockers)
CASES: list[tuple[str, str, Callable[[Path], None], set[str]]] = [
    ("empty object, generic slot", "extra_gate", obj({}), {"extra_gate.not_passed"}),
    ("empty object, known slot", "service_markers", obj({}), {"service_markers.not_passed"}),
    ("self-declared pass for a known kind", "service_markers", obj({"passed": True}),
     {"service_markers.invalid"}),
    ("self-declared PASS status for a known kind", "certification_pack",
     obj({"passed": True, "evidence_status": "PASS"}), {"certification_pack.invalid"}),
    ("original receipt FAIL in its slot", "service_markers", obj(ORIGINAL_RECEIPT),
     {"service_markers.not_passed"}),
    ("original receipt FAIL in a generic slot", "junit_receipt", obj(ORIGINAL_RECEIPT),
     {"junit_receipt.not_passed"}),
    ("original receipt PASS has no passed key", "junit_receipt",
     obj({**ORIGINAL_RECEIPT, "status": "PASS"}), {"junit_receipt.not_passed"}),
    ("passed as a string", "extra_gate", obj({"passed": "true"}), {"extra_gate.not_passed"}),
    ("passed with blockers", "extra_gate", obj({"passed": True, "blockers": ["a.b"]}),
     {"extra_gate.not_passed"}),
    ("passed with violations", "extra_gate", obj({"passed": True, "violations": [1]}),
     {"extra_gate.not_passed"}),
    ("passed with findings", "extra_gate", obj({"passed": True, "findings": ["x"]}),
     {"extra_gate.not_passed"}),
    ("passed with errors", "extra_gate", obj({"passed": True, "errors": {"a": 1}}),
     {"extra_gate.not_passed"}),
    ("passed with status failed", "extra_gate", obj({"passed": True, "status": "failed"}),
     {"extra_gate.not_passed"}),
    ("passed with status BLOCKED", "extra_gate", obj({"passed": True, "status": "BLOCKED"}),
     {"extra_gate.not_passed"}),
    ("passed with status Regression", "extra_gate",
     obj({"passed": True, "status": "Regression"}), {"extra_gate.not_passed"}),
    ("passed with rollback_required", "extra_gate",
     obj({"passed": True, "status": "rollback_required"}), {"extra_gate.not_passed"}),
    ("passed with evidence UNVERIFIED", "extra_gate",
     obj({"passed": True, "evidence_status": "UNVERIFIED"}), {"extra_gate.not_passed"}),
    ("passed with a non-string status", "extra_gate", obj({"passed": True, "status": 1}),
     {"extra_gate.not_passed"}),
    ("duplicate keys", "extra_gate", text('{"passed": true, "passed": true}'),
     {"extra_gate.invalid"}),
    ("NaN", "extra_gate", text('{"passed": true, "x": NaN}'), {"extra_gate.invalid"}),
    ("Infinity", "extra_gate", text('{"passed": true, "x": Infinity}'), {"extra_gate.invalid"}),
    ("-Infinity", "extra_gate", text('{"passed": true, "x": -Infinity}'),
     {"extra_gate.invalid"}),
    ("float overflowing to Infinity", "extra_gate", text('{"passed": true, "x": 1e999}'),
     {"extra_gate.invalid"}),
    ("integer beyond the digit limit", "extra_gate",
     text('{"passed": true, "x": ' + "9" * 5000 + "}"), {"extra_gate.invalid"}),
    ("byte order mark", "extra_gate", raw(b'\xef\xbb\xbf{"passed": true}'),
     {"extra_gate.invalid"}),
    ("invalid UTF-8", "extra_gate", raw(b'{"passed": true, "x": "\xff\xfe"}'),
     {"extra_gate.invalid"}),
    ("top-level array", "extra_gate", text("[true]"), {"extra_gate.invalid"}),
    ("top-level string", "extra_gate", text('"passed"'), {"extra_gate.invalid"}),
    ("empty file", "extra_gate", text(""), {"extra_gate.invalid"}),
    ("truncated JSON", "extra_gate", text('{"passed": tr'), {"extra_gate.invalid"}),
    ("nested 100000 levels", "extra_gate", text("[" * 100_000 + "]" * 100_000),
     {"extra_gate.invalid"}),
    ("a directory", "extra_gate", directory, {"extra_gate.missing"}),
    ("a missing file", "service_markers", nothing, {"service_markers.missing"}),
    ("a FIFO", "extra_gate", fifo, {"extra_gate.missing"}),
    ("a symlink loop", "extra_gate", symlink_loop, {"extra_gate.missing"}),
    ("a 65 MiB file", "extra_gate", oversized, {"extra_gate.invalid"}),
    ("valid artifact", "service_markers", model(), set()),
    ("valid artifact from another release", "service_markers", model(release="v0.0.1"),
     {"service_markers.release_mismatch"}),
    ("valid artifact from another commit", "service_markers",
     model(commit=factories.OTHER_COMMIT), {"service_markers.commit_mismatch"}),
    ("valid artifact from another profile", "service_markers", model(profile="local_live"),
     {"service_markers.profile_mismatch"}),
    ("passed while listing blockers", "service_markers",
     edited(lambda d: d.update(blockers=["service.postgres.failed"])),
     {"service_markers.invalid"}),
    ("future schema version", "service_markers",
     edited(lambda d: d.update(schema_version="dpone.service_markers.v2")),
     {"service_markers.invalid"}),
    ("extra field", "service_markers", edited(lambda d: d.update(sneaky=True)),
     {"service_markers.invalid"}),
    ("missing required field", "service_markers", edited(lambda d: d.pop("totals")),
     {"service_markers.invalid"}),
    ("negative count", "service_markers",
     edited(lambda d: d["totals"].update(tests=-1)),  # type: ignore[index, union-attr]
     {"service_markers.invalid"}),
    ("totals disagree with cases", "service_markers",
     edited(lambda d: d["totals"].update(passed=5)),  # type: ignore[index, union-attr]
     {"service_markers.invalid"}),
    ("status PASS while not passed", "service_markers",
     edited(lambda d: d.update(passed=False, evidence_status="FAIL",
                               blockers=["service.postgres.failed"])),
     {"service_markers.invalid"}),
    ("unknown dpone kind", "extra_gate",
     obj({"schema_version": "dpone.mystery.v1", "kind": "mystery", "passed": True}),
     {"extra_gate.invalid"}),
    ("another kind in a known slot", "state",
     lambda p: factories.write(p, factories.service_markers()), {"state.invalid"}),
    ("generic artifact of another release", "extra_gate",
     obj({"passed": True, "release": "v9"}), {"extra_gate.release_mismatch"}),
    ("red known artifact", "service_markers",
     lambda p: factories.write(p, factories.service_markers(green=False)),
     {"service_markers.not_passed"}),
]

BINDING = Binding(release="v1.2.3", commit_sha=factories.COMMIT, profile="real_local")


@pytest.mark.parametrize(("slot", "make", "expected"),
                         [pytest.param(s, m, e, id=i) for i, s, m, e in CASES])
def test_crafted_input_gets_exactly_the_named_blockers(
    tmp_path: Path, slot: str, make: Callable[[Path], None], expected: set[str]
) -> None:
    path = tmp_path / "artifact.json"
    make(path)
    status = load_artifact(slot, path, required=True, binding=BINDING).status
    assert set(status.blockers) == expected, status.summary
    assert status.passed is (not expected)


@pytest.mark.parametrize(("slot", "make", "expected"),
                         [pytest.param(s, m, e, id=i) for i, s, m, e in CASES])
def test_validate_artifact_cli_exit_code_matches_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    slot: str, make: Callable[[Path], None], expected: set[str],
) -> None:
    path = tmp_path / "artifact.json"
    make(path)
    out = tmp_path / "out"
    code = main(["ops", "validate-artifact", f"{slot}={path}", "--release", "v1.2.3",
                 "--commit-sha", factories.COMMIT, "--profile", "real_local",
                 "--output-dir", str(out)])
    report = ArtifactValidation.model_validate_json((out / "artifact_validation.json").read_bytes())
    assert code == (1 if expected else 0)
    assert set(report.blockers) == expected
    assert json.loads(capsys.readouterr().out) == report.model_dump(mode="json")


def test_the_table_has_at_least_thirty_inputs() -> None:
    assert len(CASES) >= 30


def test_size_limit_comes_from_the_environment(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"passed": true}', encoding="utf-8")
    monkeypatch.setenv("DPONE_MAX_ARTIFACT_BYTES", "8")
    status = load_artifact("extra_gate", path, required=True).status
    assert status.blockers == ["extra_gate.invalid"]
    assert "limit" in status.summary


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_a_bad_size_limit_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str],
                                           value: str) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"passed": true}', encoding="utf-8")
    monkeypatch.setenv("DPONE_MAX_ARTIFACT_BYTES", value)
    assert main(["ops", "validate-artifact", f"x={path}", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "DPONE_MAX_ARTIFACT_BYTES" in err


@pytest.mark.parametrize("arg", ["oops", "=x.json", "name=", "../etc=x.json", "a b=x.json"])
def test_malformed_name_path_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                                      arg: str) -> None:
    assert main(["ops", "validate-artifact", arg]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dpone: error:")
    assert err.count("\n") == 1
