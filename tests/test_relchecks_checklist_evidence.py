"""pre-release-checklist derived from release_checks.json; assertions marked, and refusable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dpone_ops.checklist_names import CHECK_NAMES
from dpone_ops.cli import main
from dpone_ops.evidence_build import RunRecord, build_release_checks
from dpone_ops.models.evidence import ReleaseChecks
from dpone_ops.models.gates import ChecklistItem, PreReleaseChecklist
from dpone_ops.writing import write_json
from tests._plugin_support import COMMIT, run
from tests.gates_factories import EPOCH, STAMP, certification_report, write

BOUND = STAMP.model_copy(update={"commit_sha": COMMIT})


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def release_checks_file(
    path: Path, outcomes: dict[str, list[str]], *, complete: bool = True,
    commit: str = COMMIT,
) -> Path:
    """release_checks.json through the plugin's own builder: check -> test statuses."""
    cases: list[dict[str, Any]] = [
        {"node_id": f"test_checks.py::test_{name}_{i}", "status": status,
         "marks": {"release_check": [{"name": name}]}}
        for name, statuses in outcomes.items() for i, status in enumerate(statuses)
    ]
    cases.sort(key=lambda c: c["node_id"])
    record = RunRecord(started_at=BOUND.generated_at, complete=complete, interrupted=not complete,
                       exit_status=0 if complete else None)
    artifact = build_release_checks(cases, record, BOUND.model_copy(update={"commit_sha": commit}))
    write_json(path, artifact)
    ReleaseChecks.model_validate_json(path.read_bytes())
    return path


ALL_PASS = {name: ["passed"] for name in CHECK_NAMES}


def checklist(
    tmp_path: Path, *extra: str, release_type: str = "minor"
) -> tuple[int, PreReleaseChecklist, str]:
    out = tmp_path / "out"
    code = main(["ops", "pre-release-checklist", "--release", "v0.7.1", "--profile",
                 "real_local", "--commit-sha", COMMIT, "--release-type", release_type, *extra,
                 "--output-dir", str(out), "--format", "json"])
    report = PreReleaseChecklist.model_validate_json(
        (out / "pre_release_checklist.json").read_bytes())
    return code, report, (out / "pre_release_checklist.md").read_text("utf-8")


def evidence_arg(path: Path) -> list[str]:
    return ["--evidence", f"release_checks={path}"]


# --- acceptance: from a real pytester suite --------------------------------------------------

SUITE = "import os\nimport pytest\n" + "".join(
    f"\n@pytest.mark.release_check({name!r})\ndef test_{name}():\n    pass\n"
    for name in CHECK_NAMES if name != "package"
) + """
@pytest.mark.release_check("package")
def test_package():
    if os.environ.get("SKIP_PACKAGE"):
        pytest.skip("package index unreachable")
"""


def test_checklist_from_a_marked_suite_passes_only_when_all_eight_checks_have_passing_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytester.makepyfile(test_checks=SUITE)
    release = "--dpone-release=v0.7.1"
    run(pytester, "-p", "no:xdist", release, evidence="green")
    run(pytester, "-p", "no:xdist", release, "-k", "not test_package", evidence="partial")
    monkeypatch.setenv("SKIP_PACKAGE", "1")
    run(pytester, "-n", "2", release, evidence="skipped")
    outcomes = {}
    for name in ("green", "partial", "skipped"):
        path = pytester.path / name / "release_checks.json"
        ReleaseChecks.model_validate_json(path.read_bytes())
        code, report, markdown = checklist(tmp_path / name, *evidence_arg(path),
                                           "--require-evidence")
        outcomes[name] = (code, report.blockers)
        if name == "green":
            assert all(c.source == "evidence" and c.tests is not None and c.tests.passed == 1
                       for c in report.checks)
            assert report.require_evidence
            assert "| package | yes | evidence | yes |  | 1/1 passed |" in markdown
    assert outcomes == {
        "green": (0, []),
        "partial": (1, ["package.missing"]),
        "skipped": (1, ["package.not_passed"]),
    }


# --- assertions and --require-evidence ------------------------------------------------------

def test_an_asserted_package_check_is_not_evidence_when_evidence_is_required(
    tmp_path: Path,
) -> None:
    others = {k: v for k, v in ALL_PASS.items() if k != "package"}
    path = release_checks_file(tmp_path / "rc.json", others)
    code, report, markdown = checklist(tmp_path, *evidence_arg(path), "--check", "package=true",
                                       "--require-evidence")
    assert code == 1
    assert report.blockers == ["package.not_evidenced"]
    (item,) = [c for c in report.checks if c.name == "package"]
    assert (item.source, item.value, item.passed) == ("asserted", "true", False)
    assert "- `package.not_evidenced`:" in markdown


def test_only_an_assertion_is_not_evidenced_even_without_any_evidence_file(
    tmp_path: Path,
) -> None:
    code, report, _ = checklist(tmp_path, "--check", "package=true", "--require-evidence",
                                release_type="minor")
    assert code == 1
    assert "package.not_evidenced" in report.blockers
    assert {b for b in report.blockers if not b.endswith(".missing")} == {
        "package.not_evidenced"}


def test_without_require_evidence_an_assertion_passes_but_is_marked_asserted(
    tmp_path: Path,
) -> None:
    others = {k: v for k, v in ALL_PASS.items() if k != "package"}
    path = release_checks_file(tmp_path / "rc.json", others)
    code, report, markdown = checklist(tmp_path, *evidence_arg(path), "--check", "package=true")
    assert code == 0, report.blockers
    assert {c.name: c.source for c in report.checks} == {
        **dict.fromkeys(others, "evidence"), "package": "asserted"}
    assert not report.require_evidence
    assert "| package | yes | asserted (not evidenced) | yes |  |  | true |  |" in markdown
    assert "7 evidenced, 1 asserted" in report.summary


def test_an_optional_asserted_check_does_not_need_evidence(tmp_path: Path) -> None:
    code, report, _ = checklist(tmp_path, "--check", "documentation=true",
                                "--check", "package=yes", "--require-evidence",
                                release_type="patch-docs")
    assert code == 1
    assert report.blockers == ["documentation.not_evidenced"]


# --- evidence wins over assertions ----------------------------------------------------------

CONTRADICTIONS = [
    ("agreeing assertion", ["passed"], "true", []),
    ("false against green tests", ["passed"], "false", ["package.assertion_contradicted"]),
    ("true against skipped tests", ["passed", "skipped"], "true",
     ["package.assertion_contradicted", "package.not_passed"]),
    ("false against failed tests", ["failed"], "no", ["package.not_passed"]),
]


@pytest.mark.parametrize(("case", "statuses", "asserted", "expected"), CONTRADICTIONS,
                         ids=[c[0] for c in CONTRADICTIONS])
def test_evidence_decides_and_a_contradicting_assertion_is_a_finding(
    tmp_path: Path, case: str, statuses: list[str], asserted: str, expected: list[str]
) -> None:
    path = release_checks_file(tmp_path / "rc.json", {**ALL_PASS, "package": statuses})
    code, report, _ = checklist(tmp_path, *evidence_arg(path), "--check", f"package={asserted}",
                                "--require-evidence")
    assert report.blockers == expected, case
    assert code == (1 if expected else 0)
    (item,) = [c for c in report.checks if c.name == "package"]
    assert (item.source, item.value) == ("evidence", asserted)


def test_a_check_artifact_and_the_tests_must_both_be_green(tmp_path: Path) -> None:
    path = release_checks_file(tmp_path / "rc.json", ALL_PASS)
    red = write(tmp_path / "matrix.json", certification_report(
        [("pg", "ch", "append", "FAIL")], stamp=BOUND))
    code, report, _ = checklist(tmp_path, *evidence_arg(path), "--check-artifact",
                                f"source_sink_matrix={red}", "--require-evidence")
    assert code == 1
    assert report.blockers == ["source_sink_matrix.not_passed"]
    (item,) = [c for c in report.checks if c.name == "source_sink_matrix"]
    assert item.artifact is not None
    assert item.artifact.kind == "certification_report"
    assert item.tests is not None
    assert item.tests.status == "PASS"


# --- the release_checks file itself ---------------------------------------------------------

def _generic(path: Path) -> Path:
    return write(path, {"passed": True, "checks": {"package": {"passed": 1}}})


FILE_CASES: list[tuple[str, Any, list[str]]] = [
    ("absent", lambda p: p / "nope.json",
     sorted(["release_checks.missing", *(f"{n}.missing" for n in CHECK_NAMES)])),
    ("self-declared", lambda p: _generic(p / "rc.json"),
     sorted(["release_checks.invalid", *(f"{n}.missing" for n in CHECK_NAMES)])),
    ("another commit", lambda p: release_checks_file(p / "rc.json", ALL_PASS, commit="b" * 40),
     ["release_checks.commit_mismatch"]),
    ("interrupted run", lambda p: release_checks_file(p / "rc.json", ALL_PASS, complete=False),
     ["release_checks.incomplete"]),
    ("no release_check tests", lambda p: release_checks_file(p / "rc.json", {}),
     sorted(f"{n}.missing" for n in CHECK_NAMES)),
]


@pytest.mark.parametrize(("case", "make", "expected"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_an_unusable_release_checks_file_proves_nothing(
    tmp_path: Path, case: str, make: Any, expected: list[str]
) -> None:
    code, report, _ = checklist(tmp_path, *evidence_arg(make(tmp_path)), "--require-evidence")
    assert code == 1, case
    assert report.blockers == expected
    assert not any(c.passed for c in report.checks)


def test_checks_beyond_the_eight_are_judged_as_optional_checks(tmp_path: Path) -> None:
    path = release_checks_file(tmp_path / "rc.json", {
        "documentation": ["passed"], "smoke_upgrade": ["passed", "skipped"]})
    code, report, _ = checklist(tmp_path, *evidence_arg(path), release_type="patch-docs")
    assert code == 1
    assert report.blockers == ["smoke_upgrade.not_passed"]
    assert [(c.name, c.required) for c in report.checks] == [
        ("documentation", True), ("smoke_upgrade", False)]
    # A name the evidence knows may also be asserted; the evidence still decides.
    code, report, _ = checklist(tmp_path, *evidence_arg(path), "--check",
                                "smoke_upgrade=false", release_type="patch-docs")
    assert report.blockers == ["smoke_upgrade.not_passed"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--evidence", "service_markers=x.json"],
        ["--evidence", "release_checks"],
        ["--evidence", "release_checks=a.json", "--evidence", "release_checks=b.json"],
        ["--check", "smoke_upgrade=true"],
    ],
    ids=["unknown evidence", "no path", "evidence twice", "unknown check without evidence"],
)
def test_unusable_evidence_flags_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(["ops", "pre-release-checklist", "--release", "v0.7.1", "--release-type",
                 "minor", *argv, "--output-dir", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "pre_release_checklist.json").exists()


def test_the_checklist_model_refuses_a_green_check_over_red_tests(tmp_path: Path) -> None:
    path = release_checks_file(tmp_path / "rc.json", {"package": ["skipped"]})
    tally = ReleaseChecks.model_validate_json(path.read_bytes()).checks["package"]
    status = {"name": "release_checks", "path": str(path), "required": True, "exists": True,
              "passed": True, "sha256": "0" * 64, "size_bytes": 1, "kind": "release_checks",
              "schema_version": "dpone.release_checks.v1", "summary": "s", "blocker": None,
              "blockers": []}
    with pytest.raises(ValidationError, match="tests are not PASS cannot pass"):
        ChecklistItem.model_validate({"name": "package", "required": True, "passed": True,
                                      "blocker": None, "source": "evidence",
                                      "artifact": status, "tests": tally.model_dump()})
    _, report, _ = checklist(tmp_path, "--check", "documentation=true",
                             release_type="patch-docs")
    data = report.model_dump(mode="json")
    data["require_evidence"] = True
    with pytest.raises(ValidationError, match="every required check must be evidenced"):
        PreReleaseChecklist.model_validate(data)
