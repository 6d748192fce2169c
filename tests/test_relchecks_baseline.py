"""``benchmark-baseline update``: a ratchet whose loosening needs a recorded reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpone_ops import baseline as ratchet
from dpone_ops.cli import main
from dpone_ops.models.base import Stamp
from dpone_ops.models.baseline import BenchmarkBaseline, MachineInfo
from dpone_ops.models.evidence import PerformanceMetrics
from dpone_ops.models.release_gates import BenchmarkSloGate
from tests import factories

BASE = {"throughput_rows_per_second": 1000.0, "duration_seconds": 60.0,
        "memory_peak_mb": 500.0, "failure_rate": 0.0}
EPOCH_1 = "1767225600"  # 2026-01-01T00:00:00Z
EPOCH_2 = "1767312000"  # 2026-01-02T00:00:00Z


def update(monkeypatch: pytest.MonkeyPatch, path: Path, metrics: dict[str, float], *extra: str,
           epoch: str = EPOCH_2, commit: str = factories.COMMIT) -> int:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    return main(["ops", "benchmark-baseline", "update", "--metrics-json", json.dumps(metrics),
                 "--baseline", str(path), "--commit-sha", commit, *extra])


@pytest.fixture
def baseline_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "benchmark_baseline.json"
    assert update(monkeypatch, path, BASE, epoch=EPOCH_1, commit=factories.OTHER_COMMIT) == 0
    return path


def read(path: Path) -> BenchmarkBaseline:
    return BenchmarkBaseline.model_validate_json(path.read_bytes())


def test_the_first_update_creates_a_baseline_with_one_history_entry(baseline_file: Path) -> None:
    created = read(baseline_file)
    assert created.metrics == BASE
    (entry,) = created.history
    assert entry.reason == "initial baseline"
    assert entry.commit_sha == factories.OTHER_COMMIT
    assert entry.recorded_at == "2026-01-01T00:00:00Z"
    assert created.passed
    assert created.machine.python


def test_lowering_throughput_without_a_reason_is_refused_and_leaves_the_file_unchanged(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = baseline_file.read_bytes()
    capsys.readouterr()
    code = update(monkeypatch, baseline_file, {**BASE, "throughput_rows_per_second": 800.0})
    assert code == 1
    assert baseline_file.read_bytes() == before
    err = capsys.readouterr().err
    assert "refused" in err
    assert "throughput_rows_per_second 1000 -> 800" in err
    assert sorted(p.name for p in baseline_file.parent.iterdir()) == [baseline_file.name]


def test_lowering_throughput_with_a_reason_writes_a_history_entry(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = "moved CI to smaller runners, reviewed in #42"
    code = update(monkeypatch, baseline_file, {**BASE, "throughput_rows_per_second": 800.0},
                  "--reason", reason)
    assert code == 0
    updated = read(baseline_file)
    assert updated.metrics["throughput_rows_per_second"] == 800.0
    previous, newest = updated.history
    assert previous.metrics == BASE  # the previous values stay on record
    assert (newest.reason, newest.commit_sha, newest.recorded_at) == (
        reason, factories.COMMIT, "2026-01-02T00:00:00Z")


@pytest.mark.parametrize(
    ("change", "loosened"),
    [
        ({"throughput_rows_per_second": 999.0}, "throughput_rows_per_second"),
        ({"duration_seconds": 61.0}, "duration_seconds"),
        ({"memory_peak_mb": 501.0}, "memory_peak_mb"),
        ({"failure_rate": 0.01}, "failure_rate"),
    ],
)
def test_every_direction_of_loosening_is_refused_without_a_reason(
        change: dict[str, float], loosened: str) -> None:
    old = _baseline(BASE)
    result = ratchet.update(old, {**BASE, **change}, reason=None, stamp=_stamp(),
                            machine=old.machine)
    assert result.refused
    assert result.baseline is None
    assert [item.metric for item in result.loosened] == [loosened]


def test_dropping_a_metric_or_changing_one_of_unknown_direction_counts_as_loosening() -> None:
    old = _baseline({**BASE, "rows_loaded": 10.0})
    dropped = {k: v for k, v in BASE.items() if k != "failure_rate"}
    result = ratchet.update(old, {**dropped, "rows_loaded": 11.0}, reason="  ",
                            stamp=_stamp(), machine=old.machine)
    assert result.refused  # a blank reason is no reason
    assert {(item.metric, item.new) for item in result.loosened} == {
        ("failure_rate", None), ("rows_loaded", 11.0)}
    declared = ratchet.update(old, {**BASE, "rows_loaded": 11.0}, reason=None, stamp=_stamp(),
                              machine=old.machine, directions={"rows_loaded": "higher"})
    assert not declared.refused


def test_tightening_needs_no_reason_and_the_ratchet_states_its_own(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faster = {**BASE, "throughput_rows_per_second": 1200.0, "duration_seconds": 50.0,
              "rows_loaded_per_second": 7.0}
    assert update(monkeypatch, baseline_file, faster,
                  "--direction", "rows_loaded_per_second=higher") == 0
    newest = read(baseline_file).history[-1]
    assert newest.reason == ("ratchet, no metric loosened: tightened duration_seconds, "
                             "throughput_rows_per_second; added rows_loaded_per_second")


def test_an_identical_update_leaves_the_file_byte_identical(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = baseline_file.read_bytes()
    assert update(monkeypatch, baseline_file, BASE) == 0
    assert baseline_file.read_bytes() == before
    assert "unchanged" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("metrics", "extra", "message"),
    [
        ({}, [], "no metrics"),
        ({"rows per second": 1.0}, [], "metric name"),
        (BASE, ["--direction", "x=up"], "--direction"),
    ],
)
def test_unusable_update_input_exits_2_and_writes_nothing(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], metrics: dict[str, float], extra: list[str],
        message: str) -> None:
    before = baseline_file.read_bytes()
    assert update(monkeypatch, baseline_file, metrics, *extra) == 2
    assert message in capsys.readouterr().err
    assert baseline_file.read_bytes() == before


def test_a_clock_before_the_newest_entry_is_refused(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = baseline_file.read_bytes()
    assert update(monkeypatch, baseline_file, {**BASE, "duration_seconds": 1.0},
                  epoch="1700000000") == 2
    assert "before the newest history entry" in capsys.readouterr().err
    assert baseline_file.read_bytes() == before


def test_a_tampered_baseline_file_is_not_updated(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(baseline_file.read_text(encoding="utf-8"))
    data["metrics"]["throughput_rows_per_second"] = 1.0  # lowered by hand, history untouched
    baseline_file.write_text(json.dumps(data), encoding="utf-8")
    before = baseline_file.read_bytes()
    assert update(monkeypatch, baseline_file, BASE) == 2
    assert "newest history entry" in capsys.readouterr().err
    assert baseline_file.read_bytes() == before


def test_an_incomplete_metrics_file_cannot_become_a_baseline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    metrics = PerformanceMetrics.build(factories.stamp(), blockers=[], summary="cut short",
                                       complete=False, metrics=BASE, samples=[])
    path = factories.write(tmp_path / "performance_metrics.json", metrics)
    target = tmp_path / "baseline.json"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_1)
    code = main(["ops", "benchmark-baseline", "update", "--metrics-file", str(path),
                 "--baseline", str(target)])
    assert code == 2
    assert "performance_metrics.not_passed" in capsys.readouterr().err
    assert not target.exists()


def test_a_metrics_file_with_names_a_baseline_cannot_hold_exits_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    metrics = PerformanceMetrics.build(factories.stamp(), blockers=[], summary="odd names",
                                       complete=True, metrics={"rows/s": 1.0}, samples=[])
    path = factories.write(tmp_path / "performance_metrics.json", metrics)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH_1)
    code = main(["ops", "benchmark-baseline", "update", "--metrics-file", str(path),
                 "--baseline", str(tmp_path / "baseline.json"), "--commit-sha", factories.COMMIT])
    assert code == 2
    assert "metric names must match" in capsys.readouterr().err
    assert not (tmp_path / "baseline.json").exists()


def test_the_gate_reports_which_baseline_entry_it_used_and_why(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    reason = "new storage backend, reviewed"
    lowered = {**BASE, "throughput_rows_per_second": 800.0}
    assert update(monkeypatch, baseline_file, lowered, "--reason", reason) == 0
    out = tmp_path / "gate"
    code = main(["ops", "benchmark-slo-gate", "--metrics-json", json.dumps(lowered),
                 "--baseline", str(baseline_file), "--output-dir", str(out)])
    assert code == 0
    report = BenchmarkSloGate.model_validate_json((out / "benchmark_slo_gate.json").read_bytes())
    assert report.baseline is not None
    assert (report.baseline.entry_index, report.baseline.reason,
            report.baseline.commit_sha) == (1, reason, factories.COMMIT)
    assert reason in (out / "benchmark_slo_gate.md").read_text(encoding="utf-8")


def _stamp() -> Stamp:
    return Stamp(commit_sha=factories.COMMIT, generated_at="2026-01-02T00:00:00Z")


def _baseline(metrics: dict[str, float]) -> BenchmarkBaseline:
    first = Stamp(generated_at="2026-01-01T00:00:00Z")
    machine = MachineInfo(platform="Linux-x86_64", python="3.11", cpu_count=2)
    result = ratchet.update(None, metrics, reason=None, stamp=first, machine=machine)
    assert result.baseline is not None
    return result.baseline


def test_a_hand_edited_history_that_hides_a_loosening_blocks_the_gate(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lowered = {**BASE, "throughput_rows_per_second": 800.0}
    assert update(monkeypatch, baseline_file, lowered, "--reason", "reviewed") == 0
    data = json.loads(baseline_file.read_text(encoding="utf-8"))
    data["history"][1]["reason"] = "ratchet, no metric loosened: tightened nothing"
    baseline_file.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "gate"
    code = main(["ops", "benchmark-slo-gate", "--metrics-json", json.dumps(lowered),
                 "--baseline", str(baseline_file), "--output-dir", str(out)])
    assert code == 1
    report = BenchmarkSloGate.model_validate_json((out / "benchmark_slo_gate.json").read_bytes())
    assert report.blockers == ["benchmark_baseline.not_passed",
                               "benchmark_baseline.unexplained_loosening"]
    assert report.unexplained_history_entries == [1]
    assert all(c.passed for c in report.comparisons)


def test_the_row_count_is_recorded_and_kept_for_comparable_runs(
        baseline_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert read(baseline_file).row_count is None
    assert update(monkeypatch, baseline_file, BASE, "--row-count", "10000") == 0
    assert read(baseline_file).row_count == 10000
    assert read(baseline_file).history[-1].reason.endswith("row count recorded")
    faster = {**BASE, "duration_seconds": 30.0}
    assert update(monkeypatch, baseline_file, faster) == 0
    assert read(baseline_file).row_count == 10000
