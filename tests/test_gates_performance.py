"""performance-certification: thresholds, missing metrics, baselines, metrics files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops.cli import main
from dpone_ops.errors import UsageError
from dpone_ops.models.gates import PerformanceCertification
from dpone_ops.performance_certification import parse_metric_values
from dpone_ops.runbook import PERFORMANCE_GENERAL
from dpone_ops.writing import md_escape
from tests.gates_factories import EPOCH, baseline, performance_metrics, write

METRICS: dict[str, float] = {"throughput_rows_per_second": 1000, "duration_seconds": 60,
                             "memory_peak_mb": 1024, "failure_rate": 0}
MINIMUM = {"throughput_rows_per_second": 500, "failure_rate": 0}
MAXIMUM = {"duration_seconds": 120, "memory_peak_mb": 2048}


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def public_argv(out: Path, metrics: dict[str, float] = METRICS) -> list[str]:
    """The public docs' invocation, verbatim but for the output dir."""
    return ["ops", "performance-certification", "--profile", "real_local", "--row-count",
            "25000", "--metrics-json", json.dumps(metrics), "--minimum-json",
            json.dumps(MINIMUM), "--maximum-json", json.dumps(MAXIMUM),
            "--output-dir", str(out), "--format", "json"]


def run(argv: list[str], out: Path) -> tuple[int, PerformanceCertification]:
    code = main(argv)
    report = PerformanceCertification.model_validate_json(
        (out / "performance_certification.json").read_bytes())
    assert (out / "performance_certification.md").is_file()
    return code, report


def test_the_public_docs_invocation_passes_and_writes_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run(public_argv(tmp_path), tmp_path)
    assert code == 0
    assert report.passed
    assert report.evidence_status == "PASS"
    assert report.row_count == 25000
    assert report.profile == "real_local"
    assert {(r.metric, r.rule) for r in report.results} == {
        ("throughput_rows_per_second", "min"), ("failure_rate", "min"),
        ("duration_seconds", "max"), ("memory_peak_mb", "max")}
    assert json.loads(capsys.readouterr().out) == report.to_json_dict()


def test_a_dropped_metric_is_missing_not_a_threshold_miss(tmp_path: Path) -> None:
    metrics = {k: v for k, v in METRICS.items() if k != "memory_peak_mb"}
    code, report = run(public_argv(tmp_path, metrics), tmp_path)
    assert code == 1
    assert report.blockers == ["memory_peak_mb.missing"]
    (result,) = [r for r in report.results if r.metric == "memory_peak_mb"]
    assert result.value is None
    assert not result.passed


def test_the_same_inputs_give_byte_identical_reports(tmp_path: Path) -> None:
    main(public_argv(tmp_path / "a"))
    main(public_argv(tmp_path / "b"))
    for name in ("performance_certification.json", "performance_certification.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _bl(tmp_path: Path, **kwargs: Any) -> str:
    return str(write(tmp_path / "baseline.json", baseline(**kwargs)))


def _write(tmp_path: Path, name: str, data: Any) -> str:
    return str(write(tmp_path / name, data))


# (case id, metrics, extra argv built from tmp_path, expected blockers)
BLOCKER_CASES: list[tuple[str, dict[str, float], Any, list[str]]] = [
    ("below_min", {**METRICS, "throughput_rows_per_second": 499}, lambda p: [],
     ["throughput_rows_per_second.below_min"]),
    ("above_max", {**METRICS, "duration_seconds": 121}, lambda p: [],
     ["duration_seconds.above_max"]),
    ("missing", {"throughput_rows_per_second": 1000}, lambda p: [],
     ["duration_seconds.missing", "failure_rate.missing", "memory_peak_mb.missing"]),
    ("throughput regression", {**METRICS, "throughput_rows_per_second": 850},
     lambda p: ["--baseline", _bl(p)], ["throughput_rows_per_second.regression"]),
    ("duration regression", {**METRICS, "duration_seconds": 67},
     lambda p: ["--baseline", _bl(p)], ["duration_seconds.regression"]),
    ("memory regression", {**METRICS, "memory_peak_mb": 1200},
     lambda p: ["--baseline", _bl(p)], ["memory_peak_mb.regression"]),
    ("failure-rate regression", {**METRICS, "failure_rate": 0.01},
     lambda p: ["--baseline", _bl(p)], ["failure_rate.regression"]),
    ("baseline metric of unknown direction", {**METRICS, "memory_peak_mb": 1000},
     lambda p: ["--baseline", _bl(p, metrics={"rows_per_batch": 10.0})],
     ["rows_per_batch.direction_unknown"]),
    ("foreign machine", METRICS, lambda p: ["--baseline", _bl(p, machine={
        "platform": "Darwin-arm64", "python": "3.12", "cpu_count": 10})],
     ["baseline.machine_mismatch"]),
    ("foreign profile", METRICS, lambda p: ["--baseline", _bl(p, profile="local_live")],
     ["baseline.profile_mismatch"]),
    ("other row count", METRICS, lambda p: ["--baseline", _bl(p, row_count=1000)],
     ["baseline.row_count_mismatch"]),
    ("baseline absent", METRICS, lambda p: ["--baseline", str(p / "nope.json")],
     ["baseline.missing"]),
    ("hand-written baseline", METRICS, lambda p: ["--baseline", _write(
        p, "hand.json", {"passed": True, "metrics": METRICS})], ["baseline.invalid"]),
]


@pytest.mark.parametrize(("case", "metrics", "extra", "expected"), BLOCKER_CASES,
                         ids=[c[0] for c in BLOCKER_CASES])
def test_each_blocker_the_gate_can_emit(
    tmp_path: Path, case: str, metrics: dict[str, float], extra: Any, expected: list[str]
) -> None:
    code, report = run([*public_argv(tmp_path, metrics), *extra(tmp_path)], tmp_path)
    assert code == 1, case
    assert report.blockers == expected
    assert report.evidence_status == "FAIL"


def test_a_metric_with_no_direction_is_compared_once_its_direction_is_stated(
    tmp_path: Path,
) -> None:
    argv = [*public_argv(tmp_path, {**METRICS, "rows_per_batch": 9.5}), "--baseline",
            _bl(tmp_path, metrics={"rows_per_batch": 10.0}), "--direction",
            "rows_per_batch=higher"]
    code, report = run(argv, tmp_path)
    assert code == 0
    (result,) = [r for r in report.results if r.rule == "regression"]
    assert result.direction == "higher"
    assert result.threshold == pytest.approx(9.0)


def test_a_comparable_baseline_within_tolerance_passes(tmp_path: Path) -> None:
    metrics = {**METRICS, "throughput_rows_per_second": 910, "duration_seconds": 65}
    code, report = run([*public_argv(tmp_path, metrics), "--baseline", _bl(tmp_path)], tmp_path)
    assert code == 0
    assert report.baseline is not None
    assert report.baseline.used
    assert sum(r.rule == "regression" for r in report.results) == 4


def test_a_tighter_max_regression_turns_the_same_numbers_red(tmp_path: Path) -> None:
    metrics = {**METRICS, "throughput_rows_per_second": 960}
    argv = [*public_argv(tmp_path, metrics), "--baseline", _bl(tmp_path),
            "--max-regression", "0.02"]
    code, report = run(argv, tmp_path)
    assert code == 1
    assert report.blockers == ["throughput_rows_per_second.regression"]


def test_a_foreign_baseline_is_used_only_when_allowed_and_then_reported(tmp_path: Path) -> None:
    other = {"platform": "Darwin-arm64", "python": "3.12", "cpu_count": 10}
    argv = [*public_argv(tmp_path), "--baseline", _bl(tmp_path, machine=other),
            "--allow-foreign-baseline"]
    code, report = run(argv, tmp_path)
    assert code == 0
    assert report.baseline is not None
    assert report.baseline.used
    assert any("platform" in m for m in report.baseline.mismatches)
    assert "not comparable: machine platform" in (
        tmp_path / "performance_certification.md").read_text()


def test_the_plugins_metrics_file_is_judged(tmp_path: Path) -> None:
    path = write(tmp_path / "performance_metrics.json", performance_metrics())
    argv = ["ops", "performance-certification", "--profile", "real_local", "--row-count", "25000",
            "--metrics-file", str(path), "--minimum-json", json.dumps(MINIMUM),
            "--maximum-json", json.dumps(MAXIMUM), "--output-dir", str(tmp_path)]
    code, report = run(argv, tmp_path)
    assert code == 0
    assert report.source.kind == "performance_metrics"
    assert [a.name for a in report.artifacts] == ["performance_metrics"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (performance_metrics(complete=False), "performance_metrics.not_passed"),
        ({"passed": True, "throughput_rows_per_second": 1000}, "performance_metrics.invalid"),
        (None, "performance_metrics.missing"),
    ],
    ids=["incomplete run", "hand-written file", "absent file"],
)
def test_an_unusable_metrics_file_blocks_with_its_own_code(
    tmp_path: Path, content: Any, expected: str
) -> None:
    path = tmp_path / "performance_metrics.json"
    if content is not None:
        write(path, content)
    argv = ["ops", "performance-certification", "--metrics-file", str(path), "--maximum-json",
            '{"duration_seconds": 120}', "--output-dir", str(tmp_path)]
    code, report = run(argv, tmp_path)
    assert code == 1
    assert expected in report.blockers


def test_a_metrics_file_from_another_profile_is_a_mismatch(tmp_path: Path) -> None:
    path = write(tmp_path / "m.json", performance_metrics())
    argv = ["ops", "performance-certification", "--profile", "local_live", "--metrics-file",
            str(path), "--maximum-json", '{"duration_seconds": 120}', "--output-dir",
            str(tmp_path)]
    code, report = run(argv, tmp_path)
    assert code == 1
    assert report.blockers == ["performance_metrics.profile_mismatch"]


BENCHMARK_TEST = """
def test_load(benchmark):
    benchmark.extra_info["rows"] = 5000
    benchmark.extra_info["memory_peak_mb"] = 12.5
    benchmark.pedantic(lambda: sum(range(2000)), rounds=3, iterations=1)

def test_transform(benchmark):
    benchmark.extra_info["rows"] = 100
    benchmark.pedantic(lambda: sorted(range(500)), rounds=2, iterations=1)
"""


def test_a_real_pytest_benchmark_json_is_read_as_metrics(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under `pytest -n 2` the child would inherit the worker id and disable benchmarking.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_bench=BENCHMARK_TEST)
    bench = pytester.path / "bench.json"
    # A subprocess: pytest-benchmark leaves its --benchmark-json file handle to the garbage
    # collector, which under filterwarnings=error would fail an unrelated later test.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--benchmark-json={bench}")
    result.assert_outcomes(passed=2)
    raw = json.loads(bench.read_text())
    out = tmp_path / "out"
    argv = ["ops", "performance-certification", "--profile", "real_local", "--metrics-file",
            str(bench), "--minimum-json", '{"throughput_rows_per_second": 1}',
            "--maximum-json", '{"duration_seconds": 60, "memory_peak_mb": 100}',
            "--output-dir", str(out)]
    code, report = run(argv, out)
    assert code == 0, report.blockers
    assert report.source.kind == "pytest_benchmark"
    assert report.source.benchmark_count == 2
    means = {b["name"]: b["stats"]["mean"] for b in raw["benchmarks"]}
    assert report.metrics["duration_seconds"] == pytest.approx(max(means.values()))
    assert report.metrics["throughput_rows_per_second"] == pytest.approx(
        min(5000 / means["test_load"], 100 / means["test_transform"]))
    assert report.metrics["memory_peak_mb"] == 12.5
    assert "failure_rate" not in report.metrics


def test_a_pytest_benchmark_json_without_rows_leaves_throughput_missing(tmp_path: Path) -> None:
    doc = {"machine_info": {"system": "Linux", "machine": "x86_64", "python_version": "3.11.7"},
           "datetime": "2026-01-01T00:00:00", "version": "5.1.0",
           "benchmarks": [{"name": "test_x", "stats": {"mean": 0.5}, "extra_info": {}}]}
    path = _write(tmp_path, "bench.json", doc)
    argv = ["ops", "performance-certification", "--metrics-file", path, "--minimum-json",
            '{"throughput_rows_per_second": 1}', "--output-dir", str(tmp_path)]
    code, report = run(argv, tmp_path)
    assert code == 1
    assert report.blockers == ["throughput_rows_per_second.missing"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--metrics-json", "{}"],
        ["--metrics-json", "{}", "--minimum-json", "{}", "--maximum-json", "{}"],
        ["--metrics-json", '{"x": 1', "--maximum-json", '{"x": 2}'],
        ["--metrics-json", '{"x": "fast"}', "--maximum-json", '{"x": 2}'],
        ["--metrics-json", '{"x": true}', "--maximum-json", '{"x": 2}'],
        ["--metrics-json", '{"x": NaN}', "--maximum-json", '{"x": 2}'],
        ["--metrics-json", '{"x y": 1}', "--maximum-json", '{"x y": 2}'],
        ["--metrics-json", "[1]", "--maximum-json", '{"x": 2}'],
        ["--metrics-json", '{"x": 1}', "--maximum-json", '{"x": 2}', "--max-regression", "0.1"],
        ["--metrics-json", '{"x": 1}', "--baseline", "b.json", "--max-regression", "1.5"],
        ["--metrics-json", '{"x": 1}', "--maximum-json", '{"x": 2}', "--row-count", "0"],
        ["--metrics-json", '{"x": 1}', "--maximum-json", '{"x": 2}', "--row-count", "many"],
        ["--metrics-json", '{"x": 1}', "--maximum-json", '{"x": 2}', "--direction", "x=up"],
        ["--maximum-json", '{"x": 2}'],
    ],
    ids=["no thresholds", "empty thresholds", "broken JSON", "string value", "boolean value",
         "NaN", "unsafe name", "not an object", "regression without baseline",
         "regression out of range", "zero rows", "non-integer rows", "bad direction",
         "no metrics"],
)
def test_unusable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(["ops", "performance-certification", *argv, "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("dpone: error:")
    assert err.count("\n") == 1
    assert not (tmp_path / "performance_certification.json").exists()


def test_the_markdown_renders_the_blockers_and_the_runbook(tmp_path: Path) -> None:
    metrics = {**METRICS, "duration_seconds": 500}
    del metrics["memory_peak_mb"]
    code = main([*public_argv(tmp_path, metrics), "--format", "markdown"])
    assert code == 1
    text = (tmp_path / "performance_certification.md").read_text()
    for code_ in ("duration_seconds.above_max", "memory_peak_mb.missing"):
        assert f"- `{code_}`" in text
    for line in PERFORMANCE_GENERAL:
        assert md_escape(line) in text
    assert "inspect the failed metric and threshold" in text.lower()
    assert "never lower thresholds without a reviewed baseline update" in text.lower()
    assert "check native fast paths, batch size, partitioning, staging backend" in text.lower()


@given(st.dictionaries(st.text(max_size=8), st.one_of(
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.text(),
    st.none())))
def test_metric_values_parse_or_raise_a_usage_error(data: dict[str, Any]) -> None:
    try:
        parsed = parse_metric_values(data, flag="--metrics-json")
    except UsageError:
        return
    assert set(parsed) == set(data)
    assert all(isinstance(v, float) for v in parsed.values())
    assert not any(isinstance(v, bool) for v in data.values())
