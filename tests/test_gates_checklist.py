"""pre-release-checklist: required checks per release type, asserted or evidenced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops.cli import main
from dpone_ops.errors import UsageError
from dpone_ops.models.gates import PreReleaseChecklist
from dpone_ops.pre_release_checklist import (
    CHECK_NAMES,
    FALSY,
    REQUIRED_CHECKS,
    TRUTHY,
    parse_check_value,
)
from dpone_ops.runbook import CHECKLIST_GENERAL
from dpone_ops.writing import md_escape
from tests.gates_factories import EPOCH, STAMP, certification_report, write


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def checks(**values: str) -> list[str]:
    argv: list[str] = []
    for name, value in values.items():
        argv += ["--check", f"{name}={value}"]
    return argv


ALL_TRUE = dict.fromkeys(CHECK_NAMES, "true")


def run(tmp_path: Path, release_type: str, *extra: str) -> tuple[int, PreReleaseChecklist]:
    out = tmp_path / "out"
    code = main(["ops", "pre-release-checklist", "--release", "v0.7.1", "--release-type",
                 release_type, *extra, "--output-dir", str(out), "--format", "json"])
    report = PreReleaseChecklist.model_validate_json(
        (out / "pre_release_checklist.json").read_bytes())
    assert (out / "pre_release_checklist.md").is_file()
    return code, report


def test_the_public_docs_invocation_with_all_eight_checks_passes(tmp_path: Path) -> None:
    code, report = run(tmp_path, "minor", *checks(**ALL_TRUE))
    assert code == 0
    assert report.release == "v0.7.1"
    assert report.release_type == "minor"
    assert [c.name for c in report.checks] == list(CHECK_NAMES)
    assert all(c.required and c.passed and c.source == "asserted" for c in report.checks)


@pytest.mark.parametrize("release_type", sorted(REQUIRED_CHECKS))
def test_each_release_type_requires_its_checks(tmp_path: Path, release_type: str) -> None:
    code, report = run(tmp_path, release_type)
    assert code == 1
    required = REQUIRED_CHECKS[release_type]
    assert report.required_checks == list(required)
    assert report.blockers == sorted(f"{name}.missing" for name in required)
    assert report.evidence_status == "UNVERIFIED"


def test_a_docs_only_patch_needs_only_documentation(tmp_path: Path) -> None:
    code, report = run(tmp_path, "patch-docs", *checks(documentation="yes"))
    assert code == 0
    assert [c.name for c in report.checks] == ["documentation"]


def _matrix(tmp_path: Path, content: Any) -> str:
    path = tmp_path / "matrix.json"
    if content is not None:
        write(path, content)
    return f"source_sink_matrix={path}"


PATCH_REST = {"cli_commands": "true", "run_cli": "1", "documentation": "y", "package": "pass"}

# (case id, argv built from tmp_path, expected blockers)
BLOCKER_CASES: list[tuple[str, Any, list[str]]] = [
    ("required check unanswered", lambda p: checks(**PATCH_REST), ["source_sink_matrix.missing"]),
    ("required check false", lambda p: checks(**PATCH_REST, source_sink_matrix="no"),
     ["source_sink_matrix.not_passed"]),
    ("optional check false still blocks",
     lambda p: checks(**PATCH_REST, source_sink_matrix="true", run_python_api="failed"),
     ["run_python_api.not_passed"]),
    ("evidence red", lambda p: [*checks(**PATCH_REST), "--check-artifact", _matrix(
        p, certification_report([("pg", "ch", "append", "FAIL")]))],
     ["source_sink_matrix.not_passed"]),
    ("evidence absent", lambda p: [*checks(**PATCH_REST), "--check-artifact", _matrix(p, None)],
     ["source_sink_matrix.missing"]),
    ("evidence self-declared", lambda p: [*checks(**PATCH_REST), "--check-artifact",
                                          _matrix(p, {"passed": True})],
     ["source_sink_matrix.self_declared"]),
    ("evidence of another release", lambda p: [*checks(**PATCH_REST), "--check-artifact",
                                               _matrix(p, certification_report(
        stamp=STAMP.model_copy(update={"release": "v0.6.0"})))],
     ["source_sink_matrix.release_mismatch"]),
    ("evidence unreadable", lambda p: [*checks(**PATCH_REST), "--check-artifact",
                                       _matrix(p, {"kind": "certification_report"})],
     ["source_sink_matrix.invalid"]),
]


@pytest.mark.parametrize(("case", "extra", "expected"), BLOCKER_CASES,
                         ids=[c[0] for c in BLOCKER_CASES])
def test_each_blocker_the_checklist_can_emit(
    tmp_path: Path, case: str, extra: Any, expected: list[str]
) -> None:
    code, report = run(tmp_path, "patch", *extra(tmp_path))
    assert code == 1, case
    assert report.blockers == expected


def test_a_green_artifact_proves_its_check(tmp_path: Path) -> None:
    code, report = run(tmp_path, "patch", *checks(**PATCH_REST), "--check-artifact",
                       _matrix(tmp_path, certification_report()))
    assert code == 0, report.blockers
    (item,) = [c for c in report.checks if c.name == "source_sink_matrix"]
    assert item.source == "evidence"
    assert item.artifact is not None
    assert item.artifact.kind == "certification_report"
    assert item.artifact.sha256


@pytest.mark.parametrize(
    "argv",
    [
        ["--release-type", "hotfix"],
        ["--release-type", "minor", "--check", "docs=true"],
        ["--release-type", "minor", "--check", "documentation=maybe"],
        ["--release-type", "minor", "--check", "documentation"],
        ["--release-type", "minor", "--check", "documentation=true", "--check",
         "documentation=false"],
        ["--release-type", "minor", "--check-artifact", "package=p.json", "--check-artifact",
         "package=q.json"],
        ["--release-type", "minor", "--check-artifact", "lineage=x.json"],
    ],
    ids=["unknown release type", "unknown check", "neither true nor false", "no value",
         "check twice", "artifact twice", "unknown evidenced check"],
)
def test_unusable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(["ops", "pre-release-checklist", "--release", "v0.7.1", *argv,
                 "--output-dir", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "pre_release_checklist.json").exists()


def test_the_markdown_renders_the_blockers_and_the_runbook(tmp_path: Path) -> None:
    code, _ = run(tmp_path, "minor", *checks(documentation="false"))
    assert code == 1
    text = (tmp_path / "out" / "pre_release_checklist.md").read_text()
    assert "- `documentation.not_passed`" in text
    assert "- `package.missing`" in text
    for line in CHECKLIST_GENERAL:
        assert md_escape(line) in text
    assert "Fix every \\*.missing / \\*.not\\_passed" in text
    assert "Re-run the actual gate" in text


@pytest.mark.parametrize("word", sorted(TRUTHY | {w.upper() for w in TRUTHY}))
def test_every_truthy_word_passes(word: str) -> None:
    assert parse_check_value("package", f" {word} ") is True


@pytest.mark.parametrize("word", sorted(FALSY | {w.title() for w in FALSY}))
def test_every_falsy_word_fails(word: str) -> None:
    assert parse_check_value("package", word) is False


@given(st.text(max_size=12))
def test_any_other_value_is_a_usage_error(raw: str) -> None:
    word = raw.strip().lower()
    if word in TRUTHY or word in FALSY:
        assert parse_check_value("package", raw) is (word in TRUTHY)
    else:
        with pytest.raises(UsageError):
            parse_check_value("package", raw)
