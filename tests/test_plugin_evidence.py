"""The six artifacts a recording session writes, under plain pytest and under ``-n 2``."""

from __future__ import annotations

import http.server
import threading
import xml.etree.ElementTree as ET

import pytest

from pytest_dpone.recorder import redact_argv
from tests._plugin_support import COMMIT, load_evidence, normalized, run

SERVICE_SUITE = """
import pytest

@pytest.mark.service("postgres", "kafka")
def test_pg_and_kafka():
    pass

@pytest.mark.service("postgres")
def test_pg_only():
    pass

@pytest.mark.service("minio")
def test_minio_skipped():
    pytest.skip("no minio here")

@pytest.mark.service("clickhouse")
def test_clickhouse_fails():
    assert False

def test_unmarked():
    pass
"""


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def test_multi_service_marks_are_tallied_per_service(pytester: pytest.Pytester) -> None:
    # The same suite under -n 2 is compared with this run in the xdist equality test.
    pytester.makepyfile(test_services=SERVICE_SUITE)
    result = run(pytester, "-p", "no:xdist", "--dpone-require-service=postgres",
                 "--dpone-require-service=kafka")
    result.assert_outcomes(passed=3, skipped=1, failed=1)
    evidence = load_evidence(pytester.path / "evidence")
    markers = evidence["service_markers"]
    assert markers.services["postgres"].tests == 2
    assert markers.services["postgres"].passed == 2
    assert markers.services["kafka"].passed == 1
    assert markers.services["postgres"].passed_gate
    assert markers.services["kafka"].passed_gate
    assert markers.services["minio"].skipped == 1
    assert not markers.services["minio"].required
    assert markers.totals.tests == 4  # service-marked tests only
    assert markers.totals.failures == 1
    assert markers.cases[0].node_id == "test_services.py::test_clickhouse_fails"
    assert markers.commit_sha == COMMIT
    # A failing service test blocks even though clickhouse is not required.
    # Beyond the per-service gates, the original receipt's gate (skipped <= 0) holds too.
    assert markers.blockers == ["service.clickhouse.failed", "service_markers.skipped"]
    assert markers.status == "FAIL"
    assert markers.message == "FAIL≠PASS: failures or errors reported"
    assert not evidence["run_manifest"].passed
    assert evidence["run_manifest"].exit_status == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('pytest.skip("postgres is down")', ["service.postgres.below_min_passed",
                                              "service.postgres.skipped",
                                              "service_markers.all_skipped"]),
        ("pass", []),
    ],
)
def test_required_service_with_only_skipped_tests_is_not_passed(
    pytester: pytest.Pytester, body: str, expected: list[str]
) -> None:
    pytester.makepyfile(test_pg=f"""
        import pytest

        @pytest.mark.service("postgres")
        def test_pg():
            {body}
    """)
    run(pytester, "--dpone-require-service=postgres")
    markers = load_evidence(pytester.path / "evidence")["service_markers"]
    assert markers.blockers == expected
    assert markers.passed is (not expected)


def test_profile_requires_services_that_have_no_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_pg="""
        import pytest

        @pytest.mark.service("postgres")
        def test_pg():
            pass
    """)
    run(pytester, "--dpone-profile=real_local")
    markers = load_evidence(pytester.path / "evidence")["service_markers"]
    assert markers.required_services == ["clickhouse", "kafka", "minio", "mssql", "postgres",
                                         "schema_registry"]
    assert markers.blockers == [f"service.{name}.missing" for name in
                                ("clickhouse", "kafka", "minio", "mssql", "schema_registry")]
    assert markers.profile == "real_local"


STATE_SUITE = """
import pytest

@pytest.mark.state_backend("postgres", check="xmin_state")
def test_xmin_advances_after_load(dpone_evidence):
    dpone_evidence.record_state("postgres", "xmin_state", before=10, after=12,
                                load_succeeded=True, committed_after_load=True)

@pytest.mark.state_backend("kafka", check="kafka_offsets")
def test_offsets(dpone_evidence):
    dpone_evidence.record_state("kafka", "kafka_offsets", before={"p0": 1}, after={"p0": AFTER},
                                load_succeeded=LOADED, committed_after_load=LOADED)
"""


@pytest.mark.parametrize(
    ("after", "loaded", "expected"),
    [
        ("5", "True", []),
        ("5", "False", ["state.kafka.kafka_offsets.advanced_without_load"]),
        ("1", "True", ["state.kafka.kafka_offsets.not_advanced_after_load"]),
    ],
)
def test_state_may_advance_only_after_a_successful_load(
    pytester: pytest.Pytester, after: str, loaded: str, expected: list[str]
) -> None:
    pytester.makepyfile(test_state=STATE_SUITE.replace("AFTER", after).replace("LOADED", loaded))
    run(pytester)
    state = load_evidence(pytester.path / "evidence")["state_evidence"]
    assert state.blockers == expected
    assert state.state_backends == ["kafka", "postgres"]
    assert state.checks == ["kafka_offsets", "xmin_state"]
    assert [o.advanced for o in state.observations] == [after != "1", True]


def test_required_state_check_without_a_test_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        dpone_required_state_checks =
            postgres:xmin_state
            mssql:cdc_offsets
    """)
    pytester.makepyfile(test_state=STATE_SUITE.replace("AFTER", "5").replace("LOADED", "True"))
    run(pytester)
    state = load_evidence(pytester.path / "evidence")["state_evidence"]
    assert state.blockers == ["state.mssql.cdc_offsets.missing"]


@pytest.mark.parametrize(
    ("source", "sink", "expected"),
    [
        (40, 40, []),
        (40, 39, ["delete_reconciliation.mismatch", "delete_reconciliation.missing"]),
        (0, 0, ["delete_reconciliation.missing"]),
    ],
)
def test_physical_delete_reconciliation_needs_equal_nonzero_deletes(
    pytester: pytest.Pytester, source: int, sink: int, expected: list[str]
) -> None:
    pytester.makepyfile(test_rec=f"""
        import pytest

        @pytest.mark.reconciliation("physical_delete")
        def test_deletes(dpone_evidence):
            dpone_evidence.record_reconciliation(
                "physical_delete", source_rows=100, sink_rows=100,
                deleted_at_source={source}, deleted_at_sink={sink})
    """)
    run(pytester)
    rec = load_evidence(pytester.path / "evidence")["reconciliation_evidence"]
    assert rec.blockers == expected
    assert rec.delete_reconciliation.physical_deletes_checked == (source if not expected else 0)


def test_certification_cells_pass_only_with_passed_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_matrix="""
        import pytest

        @pytest.mark.certification(source="mssql", sink="clickhouse", strategy="incremental_merge")
        def test_ok():
            pass

        @pytest.mark.certification(source="postgres", sink="minio", strategy="append")
        def test_skipped():
            pytest.skip("no minio")
    """)
    run(pytester)
    report = load_evidence(pytester.path / "evidence")["certification_report"]
    assert [(c.case_id, c.status) for c in report.cells] == [
        ("mssql_to_clickhouse__incremental_merge", "PASS"),
        ("postgres_to_minio__append", "UNVERIFIED"),
    ]
    assert report.blockers == ["certification.postgres_to_minio__append.unverified"]


def test_measure_and_metric_feed_worst_case_headline_metrics(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_perf="""
        import pytest

        @pytest.mark.performance
        @pytest.mark.parametrize("rows", [1000, 5000])
        def test_load(dpone_evidence, rows):
            with dpone_evidence.measure(rows=rows) as m:
                sum(range(rows))
            assert m.throughput_rows_per_second > 0
            dpone_evidence.metric("failure_rate", 0.0, "ratio")
    """)
    run(pytester)
    perf = load_evidence(pytester.path / "evidence")["performance_metrics"]
    assert perf.passed
    throughputs = [s.value for s in perf.samples if s.name == "throughput_rows_per_second"]
    assert perf.metrics["throughput_rows_per_second"] == min(throughputs)
    assert perf.metrics["duration_seconds"] == max(
        s.value for s in perf.samples if s.name == "duration_seconds")
    assert perf.metrics["memory_peak_mb"] > 0
    assert perf.metrics["failure_rate"] == 0.0


def test_benchmark_results_feed_performance_metrics(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest-benchmark disables itself inside an xdist worker, which this test may run in.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_bench="""
        def test_bench(benchmark):
            benchmark.extra_info["rows"] = 500
            benchmark(sum, range(500))
    """)
    result = run(pytester, "-p", "no:xdist", "--benchmark-max-time=0.01",
                 "--benchmark-min-rounds=3", "--benchmark-warmup=off", benchmark=True)
    result.assert_outcomes(passed=1)
    perf = load_evidence(pytester.path / "evidence")["performance_metrics"]
    bench = [s for s in perf.samples if s.source == "benchmark"]
    assert {s.name for s in bench} == {"duration_seconds", "throughput_rows_per_second"}
    assert bench[0].stats is not None
    assert bench[0].stats.rounds >= 3
    assert bench[0].extra_info == {"rows": 500}
    throughput = next(s for s in bench if s.name == "throughput_rows_per_second")
    assert throughput.value == pytest.approx(500 / bench[0].stats.mean)


def test_run_manifest_totals_match_junit_xml(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mix="""
        import pytest

        def test_pass(): pass
        def test_fail(): assert False
        def test_skip(): pytest.skip("x")
        @pytest.mark.xfail(reason="known")
        def test_xfail(): assert False
        @pytest.mark.xfail(strict=False)
        def test_xpass(): pass
        @pytest.fixture
        def broken(): raise RuntimeError("setup")
        def test_error(broken): pass
        def test_deselected(): pass
    """)
    run(pytester, "--junitxml=junit.xml", "--deselect=test_mix.py::test_deselected")
    manifest = load_evidence(pytester.path / "evidence")["run_manifest"]
    suite = ET.parse(pytester.path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    totals = manifest.totals
    assert totals.tests == int(suite.get("tests", -1))
    assert totals.failures == int(suite.get("failures", -1))
    assert totals.errors == int(suite.get("errors", -1))
    # JUnit counts xfailed as skipped; the manifest keeps them apart.
    assert totals.skipped + totals.xfailed == int(suite.get("skipped", -1))
    assert (totals.xfailed, totals.xpassed, totals.deselected) == (1, 1, 1)
    assert (manifest.collected, manifest.deselected) == (7, 1)
    assert manifest.exit_status == 1
    assert not manifest.passed
    assert {e.name for e in manifest.artifacts} == {
        "service_markers", "state_evidence", "reconciliation_evidence", "performance_metrics",
        "certification_report", "release_checks", "evidence_journal"}


def test_green_session_writes_a_passed_manifest_and_a_summary_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_ok="def test_ok(): pass")
    result = run(pytester, "--dpone-release=v1.2.3", "-k", "ok")
    manifest = load_evidence(pytester.path / "evidence")["run_manifest"]
    assert manifest.passed
    assert manifest.exit_status == 0
    assert manifest.release == "v1.2.3"
    assert manifest.argv[manifest.argv.index("-k") + 1] == "ok"
    result.stdout.fnmatch_lines([
        "*dpone evidence: *evidence*",
        "dpone: service_markers UNVERIFIED, *, run_manifest PASS",
    ])


def test_reruns_keep_every_attempt(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_flaky="""
        import pathlib
        import pytest

        @pytest.mark.service("postgres")
        def test_flaky(tmp_path_factory):
            marker = pathlib.Path(__file__).with_name("attempted")
            if not marker.exists():
                marker.write_text("1")
                assert False, "first attempt fails"
    """)
    run(pytester, "-p", "no:xdist", "--reruns=2")
    evidence = load_evidence(pytester.path / "evidence")
    case = evidence["service_markers"].cases[0]
    assert case.status == "passed"
    assert case.retried
    assert [a.status for a in case.attempts] == ["failed", "passed"]
    assert evidence["run_manifest"].totals.rerun == 1


def test_dpone_service_skips_naming_the_env_vars(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("DPONE_IT_MSSQL_HOST", "DPONE_IT_MSSQL_PORT", "DPONE_MSSQL_URL"):
        monkeypatch.delenv(var, raising=False)
    pytester.makepyfile(test_svc="""
        import pytest

        @pytest.mark.service("mssql")
        def test_mssql(dpone_service):
            pass
    """)
    run(pytester, "-p", "no:xdist", "--dpone-require-service=mssql")
    markers = load_evidence(pytester.path / "evidence")["service_markers"]
    assert markers.cases[0].status == "skipped"
    assert "DPONE_IT_MSSQL_HOST" in (markers.cases[0].skip_reason or "")
    assert "service.mssql.skipped" in markers.blockers


def test_xdist_and_plain_runs_give_equal_evidence(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_services=SERVICE_SUITE)
    pytester.makepyfile(test_state=STATE_SUITE.replace("AFTER", "5").replace("LOADED", "True"))
    run(pytester, "-p", "no:xdist", evidence="plain")
    run(pytester, "-n", "2", evidence="xdist")
    assert normalized(pytester.path / "plain") == normalized(pytester.path / "xdist")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--api-token=hunter2", "-q"], ["--api-token=***", "-q"]),
        (["--db-password", "hunter2", "x"], ["--db-password", "***", "x"]),
        (["https://me:hunter2@example.com/x"], ["https://me:***@example.com/x"]),
        (["-k", "secret_key_test"], ["-k", "secret_key_test"]),
    ],
)
def test_argv_secrets_are_redacted(argv: list[str], expected: list[str]) -> None:
    assert redact_argv(argv) == expected


class _FakeMinio(http.server.BaseHTTPRequestHandler):
    server_version = "MinIO/RELEASE.fake"  # what the Server header says
    sys_version = ""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/minio/health/live" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


def test_dpone_service_records_the_provider_that_served_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeMinio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("DPONE_SERVICE_PROVIDERS", "env")
        monkeypatch.setenv("DPONE_IT_MINIO_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        pytester.makepyfile(test_svc="""
            import pytest

            @pytest.mark.service("minio")
            def test_minio(dpone_service):
                assert dpone_service.provider == "env"
        """)
        run(pytester, "-p", "no:xdist", "--dpone-require-service=minio").assert_outcomes(
            passed=1)
    finally:
        server.shutdown()
        server.server_close()
    minio = load_evidence(pytester.path / "evidence")["service_markers"].services["minio"]
    assert minio.provider == "env"
    assert minio.endpoint == f"http://127.0.0.1:{server.server_port}"
    assert minio.server_version == "MinIO/RELEASE.fake"
    assert minio.passed_gate


def test_a_service_whose_every_test_errored_is_not_reported_as_all_skipped(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_pg="""
        import pytest

        @pytest.fixture
        def broken():
            raise ConnectionError("postgres refused the connection")

        @pytest.mark.service("postgres")
        def test_pg(broken):
            pass
    """)
    run(pytester, "--dpone-require-service=postgres")
    markers = load_evidence(pytester.path / "evidence")["service_markers"]
    assert markers.totals.errors == 1
    assert "service_markers.all_skipped" not in markers.blockers
    assert "service_markers.below_min_passed" in markers.blockers
    assert markers.message == "FAIL≠PASS: failures or errors reported"
    assert not markers.passed
