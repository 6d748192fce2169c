"""The plugin's cheaper paths keep the evidence whole.

A plain session reads marks and facts from its own items (no ``makereport`` wrapper),
xdist workers still send them on the reports, the record builders see only the cases that
carry evidence, and the garbage collector is paused only while the artifacts are built.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpone_ops.case_set import NOT_RUN, CaseSet
from dpone_ops.evidence_build import BUILDERS, RunRecord, sort_cases
from dpone_ops.models.base import Stamp
from tests._plugin_support import COMMIT, journal_cases, load_evidence, normalized, run

pytest_plugins = ["pytester"]

FACTS_SUITE = """
import pytest

@pytest.mark.reconciliation("physical_delete")
def test_deletes(request):
    # Requested at run time, not in the signature: still recorded.
    evidence = request.getfixturevalue("dpone_evidence")
    evidence.record_reconciliation("physical_delete", source_rows=3, sink_rows=3,
                                   deleted_at_source=2, deleted_at_sink=2,
                                   mismatched_rows=0)

@pytest.mark.performance
def test_metric(dpone_evidence):
    dpone_evidence.metric("duration_seconds", 0.5, "s")

def test_plain():
    pass
"""


def test_facts_requested_at_run_time_are_recorded_with_and_without_xdist(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_facts=FACTS_SUITE)
    run(pytester, "-p", "no:xdist", evidence="plain").assert_outcomes(passed=3)
    run(pytester, "-n", "2", evidence="xdist").assert_outcomes(passed=3)
    plain = load_evidence(pytester.path / "plain")
    reconciliation = plain["reconciliation_evidence"]
    assert reconciliation.passed
    assert reconciliation.delete_reconciliation.physical_deletes_checked == 2
    assert [s.value for s in plain["performance_metrics"].samples] == [0.5]
    assert normalized(pytester.path / "plain") == normalized(pytester.path / "xdist")


def test_a_failed_attempts_facts_do_not_reach_the_rerun(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_flaky="""
        import pathlib
        import pytest

        @pytest.mark.performance
        def test_flaky(dpone_evidence):
            marker = pathlib.Path(__file__).with_name("attempted")
            first = not marker.exists()
            dpone_evidence.metric("duration_seconds", 9.0 if first else 1.0, "s")
            if first:
                marker.write_text("1")
                assert False, "first attempt fails"
    """)
    outcomes = run(pytester, "-p", "no:xdist", "--reruns=1").parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun")) == (1, 1)
    perf = load_evidence(pytester.path / "evidence")["performance_metrics"]
    assert [s.value for s in perf.samples] == [1.0]
    assert perf.metrics["duration_seconds"] == 1.0


# A rerun protocol as pytest-rerunfailures before 15 ran it: an attempt to repeat logs its
# reports up to the one marked "rerun" and never its teardown.
TEARDOWNLESS_RERUN = """
import pytest
from _pytest.runner import runtestprotocol

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for attempt in (1, 2):
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        repeat = attempt == 1 and any(r.failed for r in reports)
        for report in reports:
            if repeat and report.failed:
                report.outcome = "rerun"
                item.ihook.pytest_runtest_logreport(report=report)
                break
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        if not repeat:
            break
    return True
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2", "--dist=loadfile"]], ids=["n0", "n2"])
def test_an_attempt_repeated_without_its_teardown_ends_once_at_the_last_teardown(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    pytester.makeconftest(TEARDOWNLESS_RERUN)
    pytester.makepyfile(test_flaky="""
        import pathlib
        import pytest

        @pytest.mark.service("postgres")
        def test_flaky():
            marker = pathlib.Path(__file__).with_name("attempted")
            if not marker.exists():
                marker.write_text("1")
                assert False, "first attempt fails"

        def test_plain():
            pass
    """)
    run(pytester, "-p", "no:rerunfailures", *(workers or ["-p", "no:xdist"]))
    evidence = load_evidence(pytester.path / "evidence")
    (case,) = evidence["service_markers"].cases
    assert (case.node_id, case.status) == ("test_flaky.py::test_flaky", "passed")
    assert [a.status for a in case.attempts] == ["failed", "passed"]
    totals = evidence["run_manifest"].totals
    assert (totals.tests, totals.passed, totals.rerun) == (2, 2, 1)
    assert evidence["run_manifest"].complete
    # Journalled when its last attempt ended, not left over for the session's end.
    assert [c["node_id"] for c in journal_cases(pytester.path / "evidence")] == [
        "test_flaky.py::test_flaky", "test_flaky.py::test_plain"]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["n0", "n2"])
@pytest.mark.parametrize("teardownless", [False, True], ids=["rerunfailures", "teardownless"])
def test_facts_of_a_repeated_attempt_do_not_count_for_a_rerun_that_records_none(
    pytester: pytest.Pytester, workers: list[str], teardownless: bool
) -> None:
    if teardownless:
        pytester.makeconftest(TEARDOWNLESS_RERUN)
    pytester.makepyfile(test_flaky="""
        import pathlib
        import pytest

        @pytest.mark.performance
        def test_flaky(dpone_evidence):
            marker = pathlib.Path(__file__).with_name("attempted")
            if not marker.exists():
                marker.write_text("1")
                dpone_evidence.metric("duration_seconds", 9.0, "s")
                assert False, "first attempt fails"
    """)
    rerun = ["-p", "no:rerunfailures"] if teardownless else ["--reruns=1"]
    run(pytester, *rerun, *(workers or ["-p", "no:xdist"]))
    perf = load_evidence(pytester.path / "evidence")["performance_metrics"]
    assert perf.samples == []
    assert "duration_seconds" not in perf.metrics
    (case,) = journal_cases(pytester.path / "evidence")
    assert case["status"] == "passed"
    assert "facts" not in case


def test_benchmark_stats_survive_a_rerun_attempt(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest-rerunfailures logs an attempt's reports after pytest dropped the test's
    # fixtures: the stats must be taken inside the attempt, not from the report hook.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_bench="""
        import pathlib

        def test_bench(benchmark):
            benchmark(sum, range(100))
            marker = pathlib.Path(__file__).with_name("attempted")
            if not marker.exists():
                marker.write_text("1")
                assert False, "first attempt fails"
    """)
    result = run(pytester, "-p", "no:xdist", "--reruns=1", "--benchmark-max-time=0.01",
                 "--benchmark-min-rounds=3", "--benchmark-warmup=off", benchmark=True)
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun")) == (1, 1)
    perf = load_evidence(pytester.path / "evidence")["performance_metrics"]
    bench = [s for s in perf.samples if s.source == "benchmark"]
    assert [s.name for s in bench] == ["duration_seconds"]
    assert bench[0].stats is not None
    assert bench[0].stats.rounds >= 3


@pytest.mark.parametrize("disabled_by_suite", [False, True])
def test_the_collector_is_back_as_the_suite_left_it_after_the_evidence_is_written(
    pytester: pytest.Pytester, disabled_by_suite: bool
) -> None:
    pytester.makeconftest(f"""
        import gc
        import pytest

        def pytest_sessionstart(session):
            if {disabled_by_suite}:
                gc.disable()

        @pytest.hookimpl(trylast=True)
        def pytest_unconfigure(config):
            with open("gc_state", "w") as out:
                out.write(str(gc.isenabled()))
            gc.enable()
    """)
    pytester.makepyfile(test_ok="def test_ok(): pass")
    run(pytester, "-p", "no:xdist").assert_outcomes(passed=1)
    assert (pytester.path / "gc_state").read_text() == str(not disabled_by_suite)
    assert load_evidence(pytester.path / "evidence")["run_manifest"].passed


STATUSES = st.sampled_from(["passed", "failed", "error", "skipped", "xfailed", "xpassed"])
NAMES = st.text("abcxyz_", min_size=1, max_size=6)
MARKS = st.fixed_dictionaries({}, optional={
    "service": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["postgres", "kafka"])}),
                        min_size=1, max_size=2),
    "state_backend": st.lists(st.fixed_dictionaries({
        "backend": st.sampled_from(["postgres", "kafka"]),
        "check": st.sampled_from(["xmin_state", "kafka_offsets"])}), min_size=1, max_size=1),
    "reconciliation": st.lists(st.fixed_dictionaries({"kind": st.just("physical_delete")}),
                               min_size=1, max_size=1),
    "certification": st.lists(st.fixed_dictionaries({
        "source": NAMES, "sink": NAMES, "strategy": NAMES}), min_size=1, max_size=1),
    "performance": st.just([{}]),
    "release_check": st.lists(st.fixed_dictionaries({"name": st.just("docs")}),
                              min_size=1, max_size=1),
})
FACTS = st.fixed_dictionaries({}, optional={
    "metrics": st.lists(st.fixed_dictionaries({
        "source": st.just("metric"), "name": st.just("duration_seconds"),
        "value": st.floats(0, 10), "unit": st.just("s")}), min_size=1, max_size=2),
    "endpoints": st.just({"postgres": {"provider": "env", "endpoint": "pg:5432",
                                        "server_version": "15"}}),
})


@st.composite
def sessions(draw: st.DrawFn) -> list[dict[str, object]]:
    cases: list[dict[str, object]] = []
    for index in range(draw(st.integers(0, 12))):
        case: dict[str, object] = {"node_id": f"t.py::test_{index}", "status": draw(STATUSES),
                                   "duration_ms": 1.0}
        marks, facts = draw(MARKS), draw(FACTS)
        if marks:
            case["marks"] = marks
        if facts:
            case["facts"] = facts
        cases.append(case)
    return cases


@settings(max_examples=60, deadline=None)
@given(cases=sessions(), plain=st.integers(0, 20))
def test_record_builders_read_only_the_cases_that_carry_evidence(
    cases: list[dict[str, object]], plain: int
) -> None:
    # The plugin hands the builders the evidence-bearing subset; that is sound only while
    # no builder looks at a plain case, which this pins for every builder.
    run_record = RunRecord(commit_sha=COMMIT, started_at="2026-12-01T00:00:00Z",
                           exit_status=0, interrupted=False, complete=True)
    stamp = Stamp(commit_sha=COMMIT, generated_at="2026-12-01T00:00:01Z")
    every = sort_cases([*cases, *({"node_id": f"p.py::test_{i}", "status": "passed",
                                   "duration_ms": 1.0} for i in range(plain))])
    subset = sort_cases(CaseSet.of(every).bearing)  # what build_artifacts hands them
    assert all("marks" in c or "facts" in c for c in subset)
    for kind, build in BUILDERS.items():
        assert build(subset, run_record, stamp) == build(every, run_record, stamp), kind


@given(cases=sessions(), reruns=st.lists(st.integers(0, 3), max_size=12),
       plain=st.lists(st.sampled_from(["passed", "failed", "skipped", "xpassed"]), max_size=20))
def test_a_case_set_counts_every_case_and_keeps_only_the_evidence_bearing_ones(
    cases: list[dict[str, object]], reruns: list[int], plain: list[str]
) -> None:
    for case, rerun in zip(cases, reruns, strict=False):  # either list may be longer
        if rerun:
            case["rerun"] = rerun
    case_set = CaseSet()
    for case in cases:
        case_set.add(case)
    for status in plain:
        case_set.add_plain(status)
    everything = [*cases, *({"node_id": f"p.py::test_{i}", "status": status}
                            for i, status in enumerate(plain))]
    assert case_set.counts == Counter(str(c["status"]) for c in everything)
    assert len(case_set) == len(everything)
    assert case_set.rerun == sum(reruns[:len(cases)])
    assert case_set.bearing == [c for c in cases if "marks" in c or "facts" in c]
    assert case_set.executed is any(c["status"] not in NOT_RUN for c in everything)
    whole = CaseSet.of(everything)
    assert (whole.counts, whole.rerun, whole.bearing) == (
        case_set.counts, case_set.rerun, case_set.bearing)
