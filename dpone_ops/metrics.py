"""Performance metric vocabulary shared by every gate that judges numbers.

One table says which way each metric is better, so ``performance-certification`` and
``benchmark-slo-gate`` can never disagree about what a regression is. A metric that is
not in the table has no direction until the caller states one.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dpone_ops.models.baseline import MachineInfo

Direction = Literal["higher", "lower"]

# Which way is better, per metric name (the four headline metrics of SPEC §4.4).
DIRECTIONS: dict[str, Direction] = {
    "throughput_rows_per_second": "higher",
    "duration_seconds": "lower",
    "memory_peak_mb": "lower",
    "failure_rate": "lower",
}
HEADLINE_METRICS: tuple[str, ...] = tuple(DIRECTIONS)
DEFAULT_MAX_REGRESSION = 0.10


def direction_of(metric: str, overrides: Mapping[str, Direction] | None = None) -> Direction | None:
    """The stated direction of ``metric``; ``None`` when nobody stated one."""
    if overrides and metric in overrides:
        return overrides[metric]
    return DIRECTIONS.get(metric)


def regression_threshold(baseline: float, direction: Direction, max_regression: float) -> float:
    """Worst acceptable value: ``baseline * (1 - r)`` if higher is better, else ``* (1 + r)``."""
    factor = (1.0 - max_regression) if direction == "higher" else (1.0 + max_regression)
    return baseline * factor


def is_regression(value: float, threshold: float, direction: Direction) -> bool:
    return value < threshold if direction == "higher" else value > threshold


def current_machine() -> MachineInfo:
    """The machine this process runs on, in the baseline's vocabulary."""
    return MachineInfo(
        platform=f"{platform.system()}-{platform.machine()}",
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        cpu_count=os.cpu_count(),
        node=platform.node() or None,
    )


def machine_mismatches(baseline: MachineInfo, current: MachineInfo) -> list[str]:
    """The compared fields that differ (``node`` is reported, never compared)."""
    return [
        f"{name}: baseline {getattr(baseline, name)!r}, now {getattr(current, name)!r}"
        for name in ("platform", "python", "cpu_count")
        if getattr(baseline, name) != getattr(current, name)
    ]


class BenchmarkFormatError(ValueError):
    """A document that claims to be pytest-benchmark JSON but is not usable."""


@dataclass(frozen=True)
class BenchmarkDerivation:
    """Headline metrics derived from a raw ``pytest --benchmark-json`` file, and how."""

    metrics: dict[str, float]
    notes: dict[str, str]
    benchmark_count: int
    machine: MachineInfo | None


def looks_like_pytest_benchmark(data: Mapping[str, Any]) -> bool:
    return "kind" not in data and isinstance(data.get("benchmarks"), list) and (
        "machine_info" in data or "datetime" in data
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchmarkFormatError(f"{where} must be a number, got {value!r}")
    return float(value)


def _benchmark_machine(info: Any) -> MachineInfo | None:
    if not isinstance(info, Mapping):
        return None
    system, machine, version = info.get("system"), info.get("machine"), info.get("python_version")
    if not all(isinstance(v, str) and v for v in (system, machine, version)):
        return None
    cpu = info.get("cpu")
    count = cpu.get("count") if isinstance(cpu, Mapping) else None
    node = info.get("node")
    return MachineInfo(
        platform=f"{system}-{machine}",
        python=".".join(str(version).split(".")[:2]),
        cpu_count=count if isinstance(count, int) and not isinstance(count, bool) and count > 0
        else None,
        node=node if isinstance(node, str) and node else None,
    )


def derive_from_pytest_benchmark(data: Mapping[str, Any]) -> BenchmarkDerivation:
    """Headline metrics from raw pytest-benchmark JSON, each the worst case over benchmarks.

    * ``duration_seconds``: the largest ``stats.mean`` (seconds per round).
    * ``throughput_rows_per_second``: the smallest ``extra_info["rows"] / stats.mean`` over
      benchmarks that set ``extra_info["rows"]``; absent when none does.
    * ``memory_peak_mb``, ``failure_rate``: the largest ``extra_info`` value of that name,
      absent when no benchmark recorded one (pytest-benchmark does not measure them).
    """
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, list) or not benchmarks:
        raise BenchmarkFormatError("pytest-benchmark JSON lists no benchmarks")
    durations: list[float] = []
    throughputs: list[float] = []
    extras: dict[str, list[float]] = {"memory_peak_mb": [], "failure_rate": []}
    for index, bench in enumerate(benchmarks):
        where = f"benchmarks[{index}]"
        if not isinstance(bench, Mapping) or not isinstance(bench.get("stats"), Mapping):
            raise BenchmarkFormatError(f"{where} has no stats object")
        mean = _number(bench["stats"].get("mean"), f"{where}.stats.mean")
        if mean <= 0:
            raise BenchmarkFormatError(f"{where}.stats.mean must be positive, got {mean}")
        durations.append(mean)
        extra = bench.get("extra_info") or {}
        if not isinstance(extra, Mapping):
            raise BenchmarkFormatError(f"{where}.extra_info must be an object")
        if "rows" in extra:
            rows = _number(extra["rows"], f"{where}.extra_info.rows")
            if rows < 0:
                raise BenchmarkFormatError(f"{where}.extra_info.rows must not be negative")
            throughputs.append(rows / mean)
        for name, values in extras.items():
            if name in extra:
                values.append(_number(extra[name], f"{where}.extra_info.{name}"))
    count = len(benchmarks)
    metrics = {"duration_seconds": max(durations)}
    notes = {"duration_seconds": f"largest stats.mean over {count} benchmark(s)"}
    if throughputs:
        metrics["throughput_rows_per_second"] = min(throughputs)
        notes["throughput_rows_per_second"] = (
            f"smallest extra_info.rows / stats.mean over {len(throughputs)} benchmark(s)"
        )
    for name, values in extras.items():
        if values:
            metrics[name] = max(values)
            notes[name] = f"largest extra_info.{name} over {len(values)} benchmark(s)"
    return BenchmarkDerivation(
        metrics=metrics, notes=notes, benchmark_count=count,
        machine=_benchmark_machine(data.get("machine_info")),
    )

# Starting thresholds a plan writes into its performance step (the public docs' example);
# a project replaces them with its own, and loosens them only with a reviewed baseline.
PLAN_MINIMUM: dict[str, float] = {"throughput_rows_per_second": 500.0}
PLAN_MAXIMUM: dict[str, float] = {
    "duration_seconds": 120.0,
    "memory_peak_mb": 2048.0,
    "failure_rate": 0.0,
}
