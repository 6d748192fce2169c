"""``benchmark-slo-gate``: baseline regressions with direction, SLO objectives, fail closed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops import benchmark_slo_gate as slo
from dpone_ops.cli import main
from dpone_ops.errors import UsageError
from dpone_ops.models.evidence import PerformanceMetrics
from dpone_ops.models.gates import LiveCertificationPlan, MetricsSource
from dpone_ops.models.pack import ReleaseEvidencePack
from dpone_ops.models.release_gates import BaselineUsed, BenchmarkSloGate
from tests import factories

BASE = {"throughput_rows_per_second": 1000.0, "duration_seconds": 60.0,
        "memory_peak_mb": 500.0, "failure_rate": 0.0}
INLINE = BaselineUsed(source="inline", path=None, sha256=None, entry_index=None,
                      recorded_at=None, commit_sha=None, reason=None)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def gate(tmp_path: Path, *args: str) -> tuple[int, BenchmarkSloGate]:
    out = tmp_path / "out"
    code = main(["ops", "benchmark-slo-gate", *args, "--commit-sha", factories.COMMIT,
                 "--output-dir", str(out)])
    report = BenchmarkSloGate.model_validate_json((out / "benchmark_slo_gate.json").read_bytes())
    assert (out / "benchmark_slo_gate.md").read_text(encoding="utf-8").startswith("# ")
    return code, report


def judge(metrics: dict[str, float], *, baseline: dict[str, float] | None = None,
          objectives: dict[str, Any] | None = None, ratio: float = 0.10) -> BenchmarkSloGate:
    policy = slo.GatePolicy(
        baseline=slo.BaselineInput(baseline, INLINE) if baseline is not None else None,
        objectives=slo.parse_objectives(objectives), allowed_regression_ratio=ratio,
    )
    source = MetricsSource(kind="inline", path=None, sha256=None)
    return slo.evaluate(metrics, policy, stamp=factories.stamp(), metrics_source=source)


def test_a_twenty_percent_throughput_drop_is_a_regression(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = gate(
        tmp_path,
        "--metrics-json", json.dumps({**BASE, "throughput_rows_per_second": 800.0}),
        "--baseline-json", json.dumps(BASE), "--allowed-regression-ratio", "0.10",
    )
    assert code == 1
    assert report.blockers == ["benchmark_baseline.not_passed",
                               "throughput_rows_per_second.regression"]
    assert json.loads(capsys.readouterr().out)["passed"] is False


def test_metrics_within_the_allowed_ratio_pass(tmp_path: Path) -> None:
    worse_but_tolerated = {"throughput_rows_per_second": 905.0, "duration_seconds": 65.0,
                           "memory_peak_mb": 549.0, "failure_rate": 0.0}
    code, report = gate(tmp_path, "--metrics-json", json.dumps(worse_but_tolerated),
                        "--baseline-json", json.dumps(BASE))
    assert code == 0
    assert report.passed
    assert report.evidence_status == "PASS"
    assert report.baseline_passed is True
    assert report.slo_passed is None
    assert [c.metric for c in report.comparisons] == sorted(BASE)


@pytest.mark.parametrize(
    ("metric", "value", "blocker"),
    [
        ("throughput_rows_per_second", 899.0, "throughput_rows_per_second.regression"),
        ("throughput_rows_per_second", 5000.0, None),
        ("duration_seconds", 66.1, "duration_seconds.regression"),
        ("duration_seconds", 1.0, None),
        ("memory_peak_mb", 550.1, "memory_peak_mb.regression"),
        ("failure_rate", 0.001, "failure_rate.regression"),
    ],
)
def test_each_metric_regresses_in_its_own_direction(metric: str, value: float,
                                                     blocker: str | None) -> None:
    report = judge({**BASE, metric: value}, baseline=BASE)
    expected = [] if blocker is None else ["benchmark_baseline.not_passed", blocker]
    assert report.blockers == expected


@pytest.mark.parametrize("metric", sorted(BASE))
def test_a_missing_metric_never_passes_whatever_its_direction(metric: str) -> None:
    measured = {k: v for k, v in BASE.items() if k != metric}
    report = judge(measured, baseline=BASE)
    assert report.blockers == ["benchmark_baseline.not_passed", f"{metric}.missing"]
    (row,) = [c for c in report.comparisons if c.metric == metric]
    assert row.value is None
    assert not row.passed


def test_a_metric_of_unknown_direction_blocks_until_one_is_stated(tmp_path: Path) -> None:
    args = ["--metrics-json", '{"rows_loaded": 10}', "--baseline-json", '{"rows_loaded": 10}']
    code, report = gate(tmp_path, *args)
    assert code == 1
    assert "rows_loaded.direction_unknown" in report.blockers
    code, report = gate(tmp_path, *args, "--direction", "rows_loaded=higher")
    assert code == 0
    assert report.comparisons[0].direction == "higher"


@pytest.mark.parametrize(
    ("objectives", "metrics", "blockers"),
    [
        ({"failure_rate": {"max": 0}}, {"failure_rate": 0.0}, []),
        ({"failure_rate": {"max": 0}}, {"failure_rate": 0.01},
         ["slo.failure_rate.max", "slo.not_passed"]),
        ({"throughput_rows_per_second": {"min": 1000}}, {"throughput_rows_per_second": 999.0},
         ["slo.not_passed", "slo.throughput_rows_per_second.min"]),
        ({"duration_seconds": {"min": 1, "max": 5}}, {"duration_seconds": 6.0},
         ["slo.duration_seconds.max", "slo.not_passed"]),
        ({"memory_peak_mb": {"max": 512}}, {"failure_rate": 0.0},
         ["memory_peak_mb.missing", "slo.not_passed"]),
    ],
)
def test_slo_objectives_name_the_metric_and_the_rule(
        objectives: dict[str, Any], metrics: dict[str, float], blockers: list[str]) -> None:
    report = judge(metrics, objectives=objectives)
    assert report.blockers == blockers
    assert report.baseline is None
    assert report.baseline_passed is None


def test_baseline_and_objectives_report_every_finding_together() -> None:
    report = judge({"throughput_rows_per_second": 100.0},
                   baseline={"throughput_rows_per_second": 1000.0},
                   objectives={"throughput_rows_per_second": {"min": 500},
                               "failure_rate": {"max": 0}})
    assert report.blockers == [
        "benchmark_baseline.not_passed", "failure_rate.missing", "slo.not_passed",
        "slo.throughput_rows_per_second.min", "throughput_rows_per_second.regression",
    ]


def test_a_gate_without_baseline_or_objectives_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ops", "benchmark-slo-gate", "--metrics-json", '{"failure_rate": 0}',
                 "--output-dir", str(tmp_path)])
    assert code == 2
    assert "judges nothing" in capsys.readouterr().err
    assert not (tmp_path / "benchmark_slo_gate.json").exists()


def test_the_evaluator_itself_refuses_to_pass_without_a_policy() -> None:
    report = judge({"failure_rate": 0.0})
    assert report.blockers == ["benchmark_slo_gate.no_policy"]


def test_empty_metrics_are_a_blocker_not_a_pass() -> None:
    report = judge({}, objectives={"failure_rate": {"max": 0}})
    assert "metrics.empty" in report.blockers
    assert report.evidence_status == "UNVERIFIED"


@pytest.mark.parametrize(
    "args",
    [
        ["--objectives-json", '{"failure_rate": {"maximum": 0}}'],
        ["--objectives-json", '{"failure_rate": {"max": "0"}}'],
        ["--objectives-json", '{"failure_rate": {"max": true}}'],
        ["--objectives-json", '{"failure_rate": {"min": 2, "max": 1}}'],
        ["--objectives-json", '{"failure_rate": 0}'],
        ["--objectives-json", '{"failure_rate": {"max": NaN}}'],
        ["--baseline-json", '{"failure_rate": "low"}', "--objectives-json", "{}"],
        ["--baseline-json", '{"rows|loaded": 1}'],
        ["--objectives-json", '{"rows loaded": {"min": 1}}'],
        ["--baseline-json", "[1]"],
        ["--baseline-json", "{}", "--allowed-regression-ratio", "1.5"],
        ["--baseline-json", "{}", "--allowed-regression-ratio", "-0.1"],
        ["--baseline-json", "{}", "--allowed-regression-ratio", "nan"],
        ["--baseline-json", "{}", "--direction", "failure_rate=sideways"],
        ["--baseline-json", "{}", "--baseline", "b.json"],
    ],
)
def test_unusable_flags_exit_2_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code = main(["ops", "benchmark-slo-gate", "--metrics-json", '{"failure_rate": 0}', *args,
                 "--output-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("dpone: error:")
    assert err.count("\n") == 1


@given(st.dictionaries(st.text(max_size=5), st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=3), st.dictionaries(st.text(max_size=4), st.one_of(
        st.integers(), st.floats(allow_nan=False), st.text(max_size=2), st.booleans())))))
def test_objective_parser_accepts_or_raises_usage_error_only(data: dict[str, Any]) -> None:
    try:
        parsed = slo.parse_objectives(data)
    except UsageError:
        return
    for ops in parsed.values():
        assert set(ops) <= {"min", "max"}
        assert ops


def test_metrics_come_from_the_plugins_performance_metrics_file(tmp_path: Path) -> None:
    metrics = PerformanceMetrics.build(factories.stamp(), blockers=[], summary="4 metrics",
                                       metrics=BASE, samples=[], complete=True)
    path = factories.write(tmp_path / "performance_metrics.json", metrics)
    code, report = gate(tmp_path, "--metrics-file", str(path), "--baseline-json",
                        json.dumps(BASE), "--release", "v1.2.3")
    assert code == 0, report.blockers
    assert report.metrics == BASE
    assert report.metrics_source.kind == "performance_metrics"
    assert report.metrics_source.sha256 is not None


def test_an_incomplete_or_foreign_metrics_file_blocks(tmp_path: Path) -> None:
    incomplete = PerformanceMetrics.build(factories.stamp(), blockers=[], summary="cut short",
                                          complete=False, metrics=BASE, samples=[])
    path = factories.write(tmp_path / "performance_metrics.json", incomplete)
    code, report = gate(tmp_path, "--metrics-file", str(path), "--baseline-json",
                        json.dumps(BASE), "--release", "v9.9.9")
    assert code == 1
    assert {"performance_metrics.not_passed",
            "performance_metrics.release_mismatch"} <= set(report.blockers)


@pytest.mark.parametrize(
    ("content", "blocker"),
    [(None, "performance_metrics.missing"), (b"{}", "performance_metrics.not_passed"),
     (b"{bad", "performance_metrics.invalid"), (b"[1, 2]", "performance_metrics.invalid")],
)
def test_an_unusable_metrics_file_is_a_named_blocker(
        tmp_path: Path, content: bytes | None, blocker: str) -> None:
    path = tmp_path / "metrics.json"
    if content is not None:
        path.write_bytes(content)
    code, report = gate(tmp_path, "--metrics-file", str(path), "--objectives-json",
                        '{"failure_rate": {"max": 0}}')
    assert code == 1
    assert blocker in report.blockers
    assert "failure_rate.missing" in report.blockers


def test_unusable_pytest_benchmark_json_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bench.json"
    path.write_text('{"benchmarks": [], "machine_info": {}}', encoding="utf-8")
    code = main(["ops", "benchmark-slo-gate", "--metrics-file", str(path), "--objectives-json",
                 '{"failure_rate": {"max": 0}}', "--output-dir", str(tmp_path)])
    assert code == 2
    assert "no benchmarks" in capsys.readouterr().err


def test_raw_pytest_benchmark_json_feeds_the_gate(tmp_path: Path) -> None:
    raw = {"machine_info": {"system": "Linux", "machine": "x86_64", "python_version": "3.11.7"},
           "datetime": "2026-01-01T00:00:00", "benchmarks": [
               {"name": "test_load", "stats": {"mean": 2.0}, "extra_info": {"rows": 2000}}]}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    code, report = gate(tmp_path, "--metrics-file", str(path), "--objectives-json",
                        '{"throughput_rows_per_second": {"min": 1000}, '
                        '"duration_seconds": {"max": 2}}')
    assert code == 0, report.blockers
    assert report.metrics == {"throughput_rows_per_second": 1000.0, "duration_seconds": 2.0}


def test_a_hand_written_baseline_file_is_invalid_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"passed": True, "metrics": BASE}), encoding="utf-8")
    code, report = gate(tmp_path, "--metrics-json", json.dumps(BASE), "--baseline", str(path))
    assert code == 1
    assert "benchmark_baseline.invalid" in report.blockers
    assert "benchmark_baseline.not_passed" in report.blockers
    assert report.comparisons == []


def test_the_same_inputs_give_byte_identical_reports(tmp_path: Path) -> None:
    args = ["--metrics-json", json.dumps(BASE), "--baseline-json", json.dumps(BASE)]
    gate(tmp_path / "a", *args)
    gate(tmp_path / "b", *args)
    for name in ("benchmark_slo_gate.json", "benchmark_slo_gate.md"):
        assert (tmp_path / "a/out" / name).read_bytes() == (tmp_path / "b/out" / name).read_bytes()


def test_a_hostile_metric_name_in_a_metrics_file_cannot_break_the_markdown_or_a_code(
        tmp_path: Path) -> None:
    name = "x|y`<script>\nz"
    metrics = PerformanceMetrics.build(factories.stamp(), blockers=[], summary="hostile",
                                       metrics={name: 1.0}, samples=[], complete=True)
    path = factories.write(tmp_path / "performance_metrics.json", metrics)
    code, report = gate(tmp_path, "--metrics-file", str(path), "--objectives-json",
                        '{"failure_rate": {"max": 0}}')
    assert code == 1
    assert report.metrics == {name: 1.0}
    markdown = (tmp_path / "out" / "benchmark_slo_gate.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown


def test_a_metric_name_unsafe_for_a_code_is_made_safe() -> None:
    assert slo.code_subject("x|y`<script>\nz") == "x_y__script__z"
    assert slo.code_subject("") == "_"


@pytest.mark.parametrize("green", [True, False])
def test_the_release_pack_accepts_the_gate_as_an_extra_artifact(
        tmp_path: Path, green: bool) -> None:
    metrics = BASE if green else {**BASE, "throughput_rows_per_second": 1.0}
    code, _report = gate(tmp_path, "--metrics-json", json.dumps(metrics), "--baseline-json",
                        json.dumps(BASE), "--release", "v1.2.3", "--profile", "real_local")
    assert code == (0 if green else 1)
    out = tmp_path / "pack"
    main(["ops", "release-evidence-pack", "--release", "v1.2.3", "--profile", "real_local",
          "--commit-sha", factories.COMMIT, "--artifact",
          f"benchmark_slo_gate={tmp_path / 'out' / 'benchmark_slo_gate.json'}",
          "--output-dir", str(out)])
    pack = ReleaseEvidencePack.model_validate_json((out / "release_evidence_pack.json")
                                                   .read_bytes())
    (status,) = [a for a in pack.artifacts if a.name == "benchmark_slo_gate"]
    assert status.kind == "benchmark_slo_gate"
    assert status.passed is green
    assert ("benchmark_slo_gate.not_passed" in pack.blockers) is (not green)


def test_only_the_real_local_plan_runs_the_gate_and_chains_it(tmp_path: Path) -> None:
    for profile, expected in (("real_local", True), ("local_live", False)):
        out = tmp_path / profile
        main(["ops", "live-certification-plan", "--profile", profile, "--row-count", "10000",
              "--release", "v1.2.3", "--output-dir", str(out)])
        plan = LiveCertificationPlan.model_validate_json(
            (out / "live_certification_plan.json").read_bytes())
        steps = {s.name: s for s in plan.steps}
        assert ("benchmark_slo_gate" in steps) is expected
        assert ("benchmark_slo_gate=" in steps["release_evidence_pack"].command) is expected
        if expected:
            assert "benchmark-baseline update" in (steps["benchmark_slo_gate"].note or "")
