"""The benchmark baseline contract and the shared metric directions."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dpone_ops.metrics import (
    DIRECTIONS,
    Direction,
    direction_of,
    is_regression,
    regression_threshold,
)
from dpone_ops.models.base import Stamp
from dpone_ops.models.baseline import BenchmarkBaseline

STAMP = Stamp(profile="real_local", generated_at="2026-01-01T00:00:00Z")
MACHINE = {"platform": "Linux-x86_64", "python": "3.11", "cpu_count": 2}


def build(**overrides: Any) -> BenchmarkBaseline:
    metrics = {"throughput_rows_per_second": 1000.0}
    fields: dict[str, Any] = {
        "metrics": metrics,
        "machine": MACHINE,
        "history": [{"metrics": metrics, "commit_sha": None,
                     "recorded_at": "2026-01-01T00:00:00Z", "reason": "first"}],
    }
    fields.update(overrides)
    return BenchmarkBaseline.build(STAMP, blockers=[], summary="baseline", **fields)


def test_a_baseline_round_trips_through_its_json() -> None:
    baseline = build()
    again = BenchmarkBaseline.model_validate_json(baseline.model_dump_json())
    assert again == baseline
    assert again.kind == "benchmark_baseline"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"history": []}, "history entry"),
        ({"metrics": {"throughput_rows_per_second": 2000.0}}, "newest history entry"),
        ({"metrics": {}, "history": [{"metrics": {}, "commit_sha": None,
                                      "recorded_at": "2026-01-01T00:00:00Z", "reason": "x"}]},
         "at least one metric"),
        ({"history": [
            {"metrics": {"throughput_rows_per_second": 1000.0}, "commit_sha": None,
             "recorded_at": "2026-02-01T00:00:00Z", "reason": "b"},
            {"metrics": {"throughput_rows_per_second": 1000.0}, "commit_sha": None,
             "recorded_at": "2026-01-01T00:00:00Z", "reason": "a"}]}, "oldest first"),
    ],
)
def test_an_inconsistent_baseline_is_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build(**overrides)


def test_every_headline_metric_has_a_direction() -> None:
    assert set(DIRECTIONS) == {"throughput_rows_per_second", "duration_seconds",
                               "memory_peak_mb", "failure_rate"}
    assert direction_of("rows_loaded") is None
    assert direction_of("rows_loaded", {"rows_loaded": "higher"}) == "higher"


@pytest.mark.parametrize(
    ("direction", "baseline", "value", "regressed"),
    [
        ("higher", 1000.0, 901.0, False),
        ("higher", 1000.0, 899.0, True),
        ("lower", 60.0, 65.9, False),
        ("lower", 60.0, 66.1, True),
        ("lower", 0.0, 0.0, False),
        ("lower", 0.0, 0.001, True),
    ],
)
def test_a_regression_follows_the_metric_direction(
    direction: Direction, baseline: float, value: float, regressed: bool
) -> None:
    threshold = regression_threshold(baseline, direction, 0.10)
    assert is_regression(value, threshold, direction) is regressed
