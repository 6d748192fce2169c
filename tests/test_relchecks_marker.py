"""``@pytest.mark.release_check``: names, tallies, release_checks.json under xdist and shards."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops.checklist_names import CHECK_NAMES
from dpone_ops.cli import main
from dpone_ops.evidence_build import RunRecord, build_release_checks
from dpone_ops.models.base import Stamp
from dpone_ops.models.evidence import ReleaseChecks
from tests._plugin_support import load_evidence, normalized, run

# One passing test per checklist name, plus a test that proves two checks at once.
ALL_GREEN = "import pytest\n" + "".join(
    f"\n@pytest.mark.release_check({name!r})\ndef test_{name}():\n    pass\n"
    for name in CHECK_NAMES
) + """
@pytest.mark.release_check("cli_commands")
@pytest.mark.release_check("run_cli")
def test_cli_and_run():
    pass

def test_unmarked():
    pass
"""


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("DPONE_SHARD_ID", raising=False)


def release_checks(directory: Path) -> ReleaseChecks:
    return ReleaseChecks.model_validate_json((directory / "release_checks.json").read_bytes())


def test_release_check_marker_is_listed_with_its_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.release_check(name):*cli_commands*package*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["n0", "n2"])
def test_every_check_with_a_passing_test_gives_green_release_checks(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makepyfile(test_checks=ALL_GREEN)
    result = run(pytester, *workers)
    assert result.ret == pytest.ExitCode.OK
    evidence = load_evidence(pytester.path / "evidence")
    report = evidence["release_checks"]
    assert report.passed
    assert report.evidence_status == "PASS"
    assert list(report.checks) == sorted(CHECK_NAMES)
    assert all(t.status == "PASS" for t in report.checks.values())
    assert report.checks["cli_commands"].node_ids == [
        "test_checks.py::test_cli_and_run", "test_checks.py::test_cli_commands"]
    assert (report.checks["run_cli"].tests, report.checks["run_cli"].passed) == (2, 2)
    assert report.totals.tests == len(CHECK_NAMES) + 1, "unmarked tests are not counted"
    case = next(c for c in report.cases if c.node_id.endswith("test_cli_and_run"))
    assert case.checks == ["cli_commands", "run_cli"]
    assert "release_checks" in {e.name for e in evidence["run_manifest"].artifacts}


def test_release_checks_are_identical_with_and_without_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_checks=ALL_GREEN.replace(
        "def test_package():\n    pass",
        "def test_package():\n    pytest.skip('no network')"))
    run(pytester, "-p", "no:xdist", evidence="serial")
    run(pytester, "-n", "2", evidence="parallel")
    serial = normalized(pytester.path / "serial")["release_checks"]
    assert serial == normalized(pytester.path / "parallel")["release_checks"]
    assert serial["blockers"] == ["release_check.package.not_passed"]


def test_a_check_with_a_test_that_did_not_pass_is_red_even_beside_a_passing_one(
    pytester: pytest.Pytester,
) -> None:
    outcomes = {"package": "pytest.skip('offline')", "run_cli": "assert False",
                "documentation": "pytest.xfail('known')", "cli_commands": "pass"}
    pytester.makepyfile(test_pkg="import pytest\n" + "".join(
        f"\n@pytest.mark.release_check({name!r})\ndef test_{name}_ok():\n    pass\n"
        f"\n@pytest.mark.release_check({name!r})\ndef test_{name}_other():\n    {body}\n"
        for name, body in outcomes.items()))
    run(pytester, "-p", "no:xdist")
    report = release_checks(pytester.path / "evidence")
    assert {name: (t.tests, t.passed, t.status) for name, t in report.checks.items()} == {
        "cli_commands": (2, 2, "PASS"),
        "documentation": (2, 1, "UNVERIFIED"),
        "package": (2, 1, "UNVERIFIED"),
        "run_cli": (2, 1, "FAIL"),
    }
    assert (report.checks["package"].skipped, report.checks["documentation"].xfailed) == (1, 1)
    assert report.blockers == ["release_check.documentation.not_passed",
                               "release_check.package.not_passed", "release_check.run_cli.failed"]
    assert report.evidence_status == "FAIL"


def test_a_run_without_release_check_tests_has_red_release_checks(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="def test_it(): pass")
    run(pytester, "-p", "no:xdist")
    report = release_checks(pytester.path / "evidence")
    assert report.checks == {}
    assert report.cases == []
    assert report.blockers == ["release_checks.no_tests"]
    assert report.evidence_status == "UNVERIFIED"


BAD_MARKS = {
    "unknown": ('release_check("docs")', "*test_unknown.py::test_it: marker "
                "@pytest.mark.release_check: unknown check 'docs'*dpone_release_checks*"),
    "empty": ("release_check()", "*test_empty.py::test_it: marker @pytest.mark.release_check:*"
              "name*"),
    "spaces": ('release_check("a b")', "*test_spaces.py::test_it: marker "
               "@pytest.mark.release_check: check name 'a b' may only*"),
    "two": ('release_check("package", "run_cli")', "*test_two.py::test_it: marker "
            "@pytest.mark.release_check:*argument*"),
}


def test_bad_release_check_is_a_collection_error_naming_the_test(
    pytester: pytest.Pytester,
) -> None:
    for name, (mark, _) in BAD_MARKS.items():
        pytester.makepyfile(**{f"test_{name}": f"""
            import pytest

            @pytest.mark.{mark}
            def test_it():
                pass
        """})
    result = run(pytester, "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    for _, message in BAD_MARKS.values():
        result.stdout.fnmatch_lines([message])
    assert not load_evidence(pytester.path / "evidence")["release_checks"].passed


def test_checks_listed_in_the_ini_and_aliases_count(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        dpone_release_checks =
            smoke_upgrade
        dpone_marker_aliases =
            packaging = release_check:package
    """)
    pytester.makepyfile(test_extra="""
        import pytest

        @pytest.mark.release_check("smoke_upgrade")
        def test_upgrade():
            pass

        @pytest.mark.packaging
        def test_wheel():
            pass
    """)
    result = run(pytester, "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.OK
    report = release_checks(pytester.path / "evidence")
    assert report.passed
    assert {name: t.node_ids for name, t in report.checks.items()} == {
        "package": ["test_extra.py::test_wheel"],
        "smoke_upgrade": ["test_extra.py::test_upgrade"],
    }


def test_a_bad_name_in_the_ini_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        dpone_release_checks = bad.name
    """)
    pytester.makepyfile(test_ok="def test_it(): pass")
    result = run(pytester, "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dpone_release_checks: 'bad.name' may only hold*"])


def test_merged_shards_and_a_recovered_journal_give_the_live_release_checks(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_checks=ALL_GREEN)
    run(pytester, "-p", "no:xdist", evidence="full")
    for i in (1, 2):
        run(pytester, "-p", "no:xdist", f"--dpone-shard={i}/2", evidence=f"shard{i}")
    root = pytester.path
    shard_counts = [len(release_checks(root / f"shard{i}").cases) for i in (1, 2)]
    assert all(shard_counts)
    assert sum(shard_counts) == len(CHECK_NAMES) + 1
    # Exit 1: the other artifacts are red, as this suite has no service tests.
    assert main(["ops", "merge-evidence", "--expect-shards", "2", "--output-dir",
                 str(root / "merged"), "--shard", str(root / "shard1"),
                 "--shard", str(root / "shard2")]) == 1
    live = normalized(root / "full")["release_checks"]
    assert normalized(root / "merged")["release_checks"] == live
    assert main(["ops", "recover-evidence", str(root / "full"), "--output-dir",
                 str(root / "recovered")]) == 1
    assert release_checks(root / "recovered") == release_checks(root / "full")
    assert release_checks(root / "merged").passed


STATUSES = st.sampled_from(["passed", "failed", "error", "skipped", "xfailed", "xpassed"])


@given(st.dictionaries(st.sampled_from(CHECK_NAMES[:4]), st.lists(STATUSES, max_size=4),
                       max_size=4), st.booleans())
def test_a_check_passes_iff_a_test_passed_and_none_failed_errored_or_skipped(
    outcomes: dict[str, list[str]], complete: bool
) -> None:
    cases = sorted(
        ({"node_id": f"t.py::test_{name}_{i}", "status": status,
          "marks": {"release_check": [{"name": name}]}}
         for name, statuses in outcomes.items() for i, status in enumerate(statuses)),
        key=lambda c: str(c["node_id"]))
    run_record = RunRecord(started_at="2026-01-01T00:00:00Z", complete=complete,
                           interrupted=not complete)
    built = build_release_checks(cases, run_record,
                                 Stamp(generated_at="2026-01-01T00:00:00Z"))
    report = ReleaseChecks.model_validate_json(built.model_dump_json())
    tested = {name: statuses for name, statuses in outcomes.items() if statuses}
    assert set(report.checks) == set(tested)
    for name, statuses in tested.items():
        green = "passed" in statuses and set(statuses) == {"passed"}
        assert (report.checks[name].status == "PASS") is green
    assert report.passed is (complete and bool(tested) and all(
        set(s) == {"passed"} for s in tested.values()))
