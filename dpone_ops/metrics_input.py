"""Read measured metrics: the plugin's ``performance_metrics.json`` or pytest-benchmark JSON.

Either way the result is a plain ``{metric: value}`` mapping plus the blockers that
reading produced (missing, invalid, not passed, bound to another release), so a gate can
fail closed with a named blocker instead of crashing or passing on nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpone_ops.artifact_validation import (
    Binding,
    StrictJSONError,
    judge,
    loads_strict,
    read_file,
)
from dpone_ops.metrics import (
    BenchmarkFormatError,
    derive_from_pytest_benchmark,
    looks_like_pytest_benchmark,
)
from dpone_ops.models.baseline import MachineInfo
from dpone_ops.models.evidence import PerformanceMetrics


@dataclass(frozen=True)
class MetricsInput:
    """Metrics and where they came from; ``blockers`` non-empty means they cannot be trusted."""

    metrics: dict[str, float]
    source: str
    sha256: str | None = None
    blockers: tuple[str, ...] = ()
    problem: str | None = None
    machine: MachineInfo | None = None
    notes: dict[str, str] = field(default_factory=dict)


def from_mapping(data: Mapping[str, Any], *, flag: str) -> dict[str, float]:
    """A ``{metric: number}`` object with finite numbers, else a usage error naming ``flag``."""
    from dpone_ops.errors import UsageError

    result: dict[str, float] = {}
    for name, value in data.items():
        if not name.strip():
            raise UsageError(f"{flag}: metric names must not be empty")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{flag}: metric {name!r} must be a number, got {value!r}")
        result[name] = float(value)
    return result


def load_metrics_file(path: Path, *, name: str = "metrics",
                      binding: Binding | None = None) -> MetricsInput:
    """Metrics from a file: a ``performance_metrics`` artifact or pytest-benchmark JSON."""
    read = read_file(path)
    where = str(path)
    if read.payload is not None:
        try:
            data = loads_strict(read.payload.decode("utf-8"))
        except (StrictJSONError, UnicodeDecodeError):
            data = None  # judge() below names the problem
        if isinstance(data, dict) and looks_like_pytest_benchmark(data):
            try:
                derived = derive_from_pytest_benchmark(data)
            except BenchmarkFormatError as exc:
                return MetricsInput({}, f"{where} (pytest-benchmark JSON)", read.sha256,
                                    (f"{name}.invalid",), problem=str(exc))
            return MetricsInput(derived.metrics, f"{where} (pytest-benchmark JSON)",
                                read.sha256, machine=derived.machine, notes=derived.notes)
    loaded = judge(name, read, required=True, binding=binding,
                   expected_kind=PerformanceMetrics.KIND)
    status = loaded.status
    metrics = loaded.model.metrics if isinstance(loaded.model, PerformanceMetrics) else {}
    return MetricsInput(dict(metrics), f"{where} (performance_metrics)", read.sha256,
                        tuple(status.blockers),
                        problem=None if status.passed else status.summary)
