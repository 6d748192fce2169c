"""Markers: registered signatures, typed binding, unknown names, ini aliases, bad options."""

from __future__ import annotations

import pytest

from pytest_dpone.markers import MarkBinder
from pytest_dpone.services import KNOWN_SERVICES
from tests._plugin_support import journal_cases, load_evidence, run


def test_markers_are_listed_with_their_signatures(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines([
        "@pytest.mark.service(name, [*]more_names):*",
        "@pytest.mark.state_backend(backend, check):*xmin_state, kafka_offsets*",
        "@pytest.mark.reconciliation(kind='physical_delete'):*",
        "@pytest.mark.certification(source, sink, strategy):*",
        "@pytest.mark.performance:*",
    ])


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ('service("oracle")', "*test_bad.py::test_it: marker @pytest.mark.service: unknown "
                              "service 'oracle'*"),
        ('state_backend("postgres", check="bogus")', "*test_bad.py::test_it: marker "
                                                     "@pytest.mark.state_backend: check 'bogus'*"),
        ("reconciliation(kind='sideways')", "*@pytest.mark.reconciliation: kind 'sideways'*"),
        ("certification(source='a', sink='b')", "*@pytest.mark.certification:*strategy*"),
        ("service()", "*@pytest.mark.service:*name*"),
    ],
)
def test_bad_marker_is_a_collection_error_naming_the_test(
    pytester: pytest.Pytester, mark: str, message: str
) -> None:
    pytester.makepyfile(test_bad=f"""
        import pytest

        @pytest.mark.{mark}
        def test_it():
            pass

        def test_other():
            pass
    """)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting test_bad.py*", message,
                                "ERROR test_bad.py::test_it - *"])
    manifest = load_evidence(pytester.path / "evidence")["run_manifest"]
    assert not manifest.passed
    assert manifest.interrupted


def test_services_listed_in_the_ini_are_allowed(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        dpone_services = oracle
    """)
    pytester.makepyfile(test_ok="""
        import pytest

        @pytest.mark.service("oracle")
        def test_it():
            pass
    """)
    run(pytester, "--dpone-require-service=oracle").assert_outcomes(passed=1)
    markers = load_evidence(pytester.path / "evidence")["service_markers"]
    assert markers.passed
    assert markers.services["oracle"].required


def test_marker_aliases_count_as_evidence(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        markers =
            integration_postgres: legacy marker
        dpone_marker_aliases =
            integration_postgres = service:postgres
            integration_postgres_xmin = state_backend:postgres:xmin_state
            matrix_cell = certification:mssql:clickhouse:append
            deletes = reconciliation:physical_delete
    """)
    pytester.makepyfile(test_legacy="""
        import pytest

        @pytest.mark.integration_postgres
        @pytest.mark.integration_postgres_xmin
        @pytest.mark.matrix_cell
        def test_old_style():
            pass
    """)
    run(pytester, "--strict-markers", "--dpone-require-service=postgres").assert_outcomes(
        passed=1)
    evidence = load_evidence(pytester.path / "evidence")
    assert evidence["service_markers"].passed
    assert evidence["service_markers"].cases[0].services == ["postgres"]
    assert [(c.backend, c.check) for c in evidence["state_evidence"].cases] == [
        ("postgres", "xmin_state")]
    assert evidence["certification_report"].cells[0].case_id == "mssql_to_clickhouse__append"


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        ([], "dpone_marker_aliases = broken", "*dpone_marker_aliases*broken*"),
        ([], "dpone_marker_aliases = x = nosuch:postgres", "*dpone_marker_aliases: x: unknown "
                                                           "kind 'nosuch'*"),
        ([], "dpone_marker_aliases = x = state_backend:postgres", "*dpone_marker_aliases: x:*"),
        (["--dpone-min-passed=-1"], "", "*--dpone-min-passed: expected an integer >= 0*"),
        (["--dpone-max-skipped=many"], "", "*--dpone-max-skipped*"),
        (["--dpone-profile=staging"], "", "*--dpone-profile: expected one of*"),
        (["--dpone-commit-sha=xyz"], "", "*--dpone-commit-sha*"),
        (["--dpone-require-service=oracle"], "", "*--dpone-require-service*oracle*"),
        (["--dpone-shard=0/3"], "", "*--dpone-shard*"),
        (["--dpone-shard=4/3"], "", "*--dpone-shard*"),
        (["--dpone-shard=abc"], "", "*--dpone-shard*"),
    ],
)
def test_bad_option_values_are_usage_errors_naming_the_option(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_ok="def test_ok(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_ini_settings_configure_recording(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        dpone_evidence_dir = from-ini
        dpone_release = v9.9.9
        dpone_require_service =
            postgres
        dpone_min_passed = 2
    """)
    pytester.makepyfile(test_pg="""
        import pytest

        @pytest.mark.service("postgres")
        def test_pg():
            pass
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    markers = load_evidence(pytester.path / "from-ini")["service_markers"]
    assert markers.release == "v9.9.9"
    assert markers.gate.min_passed == 2
    assert markers.blockers == ["service.postgres.below_min_passed",
                                "service_markers.below_min_passed"]
    assert markers.message == "SKIP≠PASS: passed < 2"


def test_marks_inherited_from_module_and_class_count_once_per_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("""
        [pytest]
        dpone_marker_aliases =
            integration_kafka = service:kafka
    """)
    pytester.makepyfile(test_inherit="""
        import pytest

        pytestmark = pytest.mark.service("postgres")

        @pytest.mark.service("minio")
        class TestSink:
            @pytest.mark.service("postgres")
            def test_both(self):
                pass

            @pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.integration_kafka)])
            def test_param(self, n):
                pass

        def test_module_only():
            pass
    """)
    pytester.makepyfile(test_plain="def test_unmarked(): pass")
    run(pytester, "-p", "no:xdist").assert_outcomes(passed=5)
    cases = {c.node_id: c.services for c in
             load_evidence(pytester.path / "evidence")["service_markers"].cases}
    assert cases == {
        "test_inherit.py::TestSink::test_both": ["minio", "postgres"],
        "test_inherit.py::TestSink::test_param[1]": ["minio", "postgres"],
        "test_inherit.py::TestSink::test_param[2]": ["kafka", "minio", "postgres"],
        "test_inherit.py::test_module_only": ["postgres"],
    }
    marks = {c["node_id"]: c.get("marks") for c in journal_cases(pytester.path / "evidence")}
    # The test's own mark first, then the class's, then the module's; the repeat is dropped.
    assert marks["test_inherit.py::TestSink::test_both"] == {
        "service": [{"name": "postgres"}, {"name": "minio"}]}
    assert marks["test_plain.py::test_unmarked"] is None


def test_tests_with_equal_marks_share_one_read_only_record(pytester: pytest.Pytester) -> None:
    items = pytester.getitems("""
        import pytest

        @pytest.mark.service("postgres")
        def test_a():
            pass

        @pytest.mark.service("postgres")
        def test_b():
            pass

        @pytest.mark.service("kafka")
        def test_c():
            pass
    """)
    binder = MarkBinder({}, frozenset(KNOWN_SERVICES))
    a, b, c = (binder.bind(item) for item in items)
    assert a is b
    assert a == {"service": [{"name": "postgres"}]}
    assert c == {"service": [{"name": "kafka"}]}


def test_an_unhashable_mark_argument_is_still_a_collection_error_naming_the_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_bad="""
        import pytest

        @pytest.mark.service(["postgres"])
        def test_listed():
            pass
    """)
    result = run(pytester, "-p", "no:xdist")
    result.stdout.fnmatch_lines(["*test_bad.py::test_listed: marker @pytest.mark.service*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED
