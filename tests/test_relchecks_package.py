"""``package-check``: each step judged from what it did, and one real run on this project."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

import dpone_ops
from dpone_ops import package_check as pc
from dpone_ops.artifact_validation import load_artifact
from dpone_ops.cli import main
from dpone_ops.models.gates import PreReleaseChecklist
from dpone_ops.models.release_gates import DistFile, PackageCheck
from dpone_ops.package_check import PackageFacts, StepRun
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
MARKERS_OUT = "".join(f"@pytest.mark.{m}(...): documented\n\n" for m in pc.PLUGIN_MARKERS)
NOT_FOUND = StepRun(("pip", "index"), 1, "", "Could not fetch URL https://pypi.org/simple/"
                    "pytest-dpone/: 404 Client Error: Not Found for url: x - skipping\n"
                    "ERROR: No matching distribution found for pytest-dpone")
REFUSED = StepRun(("pip", "index"), 1, "", "Could not fetch URL http://127.0.0.1:9/simple/x/: "
                  "connection error: Max retries exceeded (Connection refused) - skipping\n"
                  "ERROR: No matching distribution found for x")


def ok(stdout: str = "") -> StepRun:
    return StepRun(("cmd",), 0, stdout, "", 0.5)


def good_facts() -> PackageFacts:
    runs = {
        "build": ok(), "twine_check": ok(), "venv": ok(), "install": ok(),
        "smoke_dpone_help": ok("usage: dpone [-h] {ops,docs} ..."),
        "smoke_ops_help": ok("usage: dpone ops [-h] COMMAND ..."),
        "smoke_pytest_markers": ok(MARKERS_OUT), "index": NOT_FOUND,
    }
    files = [DistFile(filename="pytest_dpone-1.2.3.tar.gz", type="sdist", sha256="a" * 64,
                      size_bytes=10),
             DistFile(filename="pytest_dpone-1.2.3-py3-none-any.whl", type="wheel",
                      sha256="b" * 64, size_bytes=10)]
    return PackageFacts(runs=runs, files=files, distribution="pytest-dpone",
                        wheel_version="1.2.3")


def judge(facts: PackageFacts, *, release: str = "v1.2.3",
          require_index: bool = False) -> PackageCheck:
    report = pc.evaluate(facts, release=release, require_index=require_index,
                         stamp=factories.stamp())
    again = PackageCheck.model_validate_json(report.model_dump_json())
    assert again == report
    return report


def with_run(name: str, run: StepRun | None) -> PackageFacts:
    facts = good_facts()
    runs = dict(facts.runs)
    if run is None:
        del runs[name]
    else:
        runs[name] = run
    return replace(facts, runs=runs)


def test_all_steps_green_make_a_green_package_check() -> None:
    report = judge(good_facts())
    assert report.passed
    assert report.evidence_status == "PASS"
    assert [s.name for s in report.steps] == list(pc.STEP_ORDER)
    assert {s.outcome for s in report.steps} == {"passed"}
    assert report.published_versions == []
    assert report.warnings == []


FAILED = StepRun(("cmd",), 1, "", "boom")
TIMED_OUT = StepRun(("cmd",), None, error="timed out after 600 s")


@pytest.mark.parametrize(
    ("step", "run", "blockers"),
    [
        ("build", FAILED, ["package.build.failed"]),
        ("twine_check", FAILED, ["package.twine_check.failed"]),
        ("venv", TIMED_OUT, ["package.venv.failed"]),
        ("install", FAILED, ["package.install.failed"]),
        ("smoke_dpone_help", FAILED, ["package.smoke_dpone_help.failed"]),
        ("smoke_dpone_help", ok("nothing useful"), ["package.smoke_dpone_help.failed"]),
        ("smoke_ops_help", FAILED, ["package.smoke_ops_help.failed"]),
        ("smoke_pytest_markers", FAILED, ["package.smoke_pytest_markers.failed"]),
        ("smoke_pytest_markers", ok(MARKERS_OUT.replace("release_check", "other")),
         ["package.marker.release_check.missing", "package.smoke_pytest_markers.failed"]),
        ("install", None, ["package.install.not_run"]),
        ("smoke_ops_help", None, ["package.smoke_ops_help.not_run"]),
        ("index", None, ["package.index.not_run"]),
        ("index", ok("pytest-dpone (1.2.3)\nAvailable versions: 1.2.3, 1.0.0\n"),
         ["package.already_published"]),
        ("index", ok("pytest-dpone (1.2.3)\nAvailable versions: 1.2.3.0\n"),
         ["package.already_published"]),
    ],
)
def test_each_failing_step_is_a_named_blocker(step: str, run: StepRun | None,
                                              blockers: list[str]) -> None:
    report = judge(with_run(step, run))
    assert report.blockers == blockers
    assert not report.passed
    assert report.evidence_status == "FAIL"
    (row,) = [s for s in report.steps if s.name == step]
    assert row.outcome != "passed"


def test_a_build_that_does_not_yield_both_sdist_and_wheel_fails() -> None:
    facts = good_facts()
    report = judge(replace(facts, files=[f for f in facts.files if f.type == "wheel"]))
    assert report.blockers == ["package.build.failed"]
    assert "one sdist and one wheel" in report.steps[0].detail


@pytest.mark.parametrize(
    ("release", "passed"),
    [("v1.2.3", True), ("1.2.3", True), ("V1.2.3", True), ("v1.2.4", False),
     ("v1.2.3rc1", False)],
)
def test_the_wheel_version_must_equal_the_release(release: str, passed: bool) -> None:
    report = judge(good_facts(), release=release)
    assert report.passed is passed
    assert report.blockers == ([] if passed else ["package.version_mismatch"])


def test_no_wheel_means_no_version_and_no_pass() -> None:
    facts = replace(good_facts(), wheel_version=None, files=[])
    report = judge(facts)
    assert {"package.build.failed", "package.version.not_run"} <= set(report.blockers)


def test_an_unreachable_index_is_a_warning_never_a_pass() -> None:
    report = judge(with_run("index", REFUSED))
    assert report.passed
    assert report.warnings == ["package.index_unreachable"]
    (index,) = [s for s in report.steps if s.name == "index"]
    assert index.outcome == "unreachable"
    assert report.published_versions is None
    assert "index not checked" in report.summary


def test_require_index_turns_an_unreachable_index_into_a_blocker() -> None:
    report = judge(with_run("index", REFUSED), require_index=True)
    assert report.blockers == ["package.index_unreachable"]
    assert report.warnings == []


@pytest.mark.parametrize(
    ("run", "outcome"),
    [
        (NOT_FOUND, "passed"),
        (REFUSED, "unreachable"),
        (StepRun(("pip",), 1, "", "ERROR: No matching distribution found for x"), "unreachable"),
        (StepRun(("pip",), 1, "", "Could not fetch URL https://x/: 503 Server Error"),
         "unreachable"),
        (StepRun(("pip",), None, error="timed out after 90 s"), "unreachable"),
        (StepRun(("pip",), 0, "x (2.0)\nAvailable versions: 2.0, 1.0\n"), "passed"),
        (StepRun(("pip",), 0, "x (1.2.3)\nAvailable versions: 1.2.3\n"), "failed"),
        (StepRun(("pip",), 0, "something else entirely"), "unreachable"),
    ],
)
def test_only_a_404_or_a_version_list_counts_as_an_answer_from_the_index(
        run: StepRun, outcome: str) -> None:
    assert pc.classify_index(run, pc.release_version("1.2.3"))[0] == outcome


def test_a_hostile_step_output_cannot_break_the_markdown() -> None:
    report = judge(with_run("install", StepRun(("pip",), 1, "", "| <b>x</b> |\n`")))
    markdown = pc.render_markdown(report)
    assert "<b>" not in markdown
    assert "`package.install.failed`" in markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--release", "banana"], "not a version"),
        (["--release", "v1.0.0", "--project-dir", "{tmp}"], "no pyproject.toml"),
        (["--release", "v1.0.0", "--wheelhouse", "{tmp}/nope"], "--wheelhouse"),
    ],
)
def test_unusable_package_check_flags_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        message: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code = main(["ops", "package-check", *argv, "--output-dir", str(tmp_path / "out")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_package_check_on_this_project_builds_installs_and_smoke_runs_the_real_wheel(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        pytestconfig: pytest.Config) -> None:
    """One real run: build, twine check, fresh venv, install from the index, smoke, index.

    The fresh venv has no system site-packages and not even pip (the outer pip installs
    into it with ``--python``); the wheel's dependencies come from the configured index
    (PyPI in CI). Building uses the installed hatchling when there is one,
    so the test does not depend on downloading the build backend.
    """
    out = tmp_path / "out"
    argv = ["ops", "package-check", "--release", f"v{dpone_ops.__version__}",
            "--project-dir", str(ROOT), "--dist-dir", str(tmp_path / "dist"),
            "--commit-sha", factories.COMMIT, "--output-dir", str(out)]
    if importlib.util.find_spec("hatchling") is not None:
        argv.append("--no-build-isolation")
    code = main(argv)
    report = PackageCheck.model_validate_json((out / "package_check.json").read_bytes())
    assert json.loads(capsys.readouterr().out) == json.loads((out / "package_check.json")
                                                             .read_text(encoding="utf-8"))
    outcomes: dict[str, str] = {s.name: s.outcome for s in report.steps}
    expected_ok = set(pc.STEP_ORDER) - {"index"}
    assert {n: outcomes[n] for n in expected_ok} == dict.fromkeys(expected_ok, "passed"), (
        [(s.name, s.detail, s.output_tail) for s in report.steps if s.outcome != "passed"])
    assert report.distribution == "pytest-dpone"
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == sorted(
        f.filename for f in report.files)
    # The index is asked for real: unpublished (passed) or unreachable (a warning), never
    # silently skipped.
    assert outcomes["index"] in ("passed", "unreachable")
    assert (outcomes["index"] == "unreachable") == ("package.index_unreachable"
                                                    in report.warnings)
    # Every marker the plugin registers here, release_check included, is listed by
    # `pytest --markers` in the fresh venv: the installed wheel's entry point loads.
    registered = {line.split(":")[0].split("(")[0].strip()
                  for line in pytestconfig.getini("markers")}
    assert set(pc.PLUGIN_MARKERS) <= registered
    assert report.missing_markers == []
    assert report.blockers == []
    assert report.passed
    assert report.evidence_status == "PASS"
    assert code == 0
    status = load_artifact("package", out / "package_check.json", required=True).status
    assert status.passed is report.passed


@pytest.mark.parametrize(
    ("facts", "release", "passed"),
    [(good_facts(), "v1.2.3", True), (with_run("install", FAILED), "v1.2.3", False),
     (good_facts(), "v9.9.9", False)],
)
def test_the_checklist_takes_the_package_check_as_the_package_proof(
        tmp_path: Path, facts: PackageFacts, release: str, passed: bool) -> None:
    built = pc.evaluate(facts, release="v1.2.3", require_index=False, stamp=factories.stamp())
    path = factories.write(tmp_path / "package_check.json", built)
    out = tmp_path / "out"
    code = main(["ops", "pre-release-checklist", "--release", release, "--release-type",
                 "patch", "--commit-sha", factories.COMMIT, "--check-artifact",
                 f"package={path}", "--output-dir", str(out)])
    assert code == 1  # the other checks the patch release requires are not given
    checklist = PreReleaseChecklist.model_validate_json(
        (out / "pre_release_checklist.json").read_bytes())
    (row,) = [c for c in checklist.checks if c.name == "package"]
    assert row.passed is passed
    assert bool({"package.not_passed", "package.release_mismatch"}
                & set(checklist.blockers)) is (not passed)


def test_a_hand_written_pass_cannot_stand_in_for_the_package_check(tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_text('{"passed": true}', encoding="utf-8")
    out = tmp_path / "out"
    main(["ops", "pre-release-checklist", "--release", "v1.2.3", "--release-type", "patch",
          "--check-artifact", f"package={path}", "--output-dir", str(out)])
    checklist = PreReleaseChecklist.model_validate_json(
        (out / "pre_release_checklist.json").read_bytes())
    (row,) = [c for c in checklist.checks if c.name == "package"]
    assert row.passed is False
    assert "package.invalid" in checklist.blockers
