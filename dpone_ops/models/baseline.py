"""The stored performance baseline that regressions are measured against.

``performance-certification --baseline`` reads it; ``benchmark-baseline update`` writes
it. Every value it holds came from a recorded update: the newest ``history`` entry
carries exactly the current ``metrics`` with the commit and the reason for the change.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from dpone_ops.models.base import Artifact, CommitSha, PosInt, StrictModel, Timestamp

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
MetricName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,100}$")]


class MachineInfo(StrictModel):
    """Where numbers were measured; numbers from another machine do not compare."""

    platform: str  # ``<system>-<machine>``, e.g. ``Linux-x86_64``
    python: str  # ``<major>.<minor>``
    cpu_count: PosInt | None
    node: str | None = None  # reported, never compared (CI runners change name per job)


class BaselineRecord(StrictModel):
    """One accepted state of the baseline, oldest first in ``history``."""

    metrics: dict[MetricName, FiniteFloat]
    commit_sha: CommitSha | None
    recorded_at: Timestamp
    reason: Annotated[str, Field(min_length=1)]


class BenchmarkBaseline(Artifact):
    """``benchmark_baseline.json``: current metrics, the machine, and how they got here."""

    kind: Literal["benchmark_baseline"] = "benchmark_baseline"
    metrics: dict[MetricName, FiniteFloat]
    machine: MachineInfo
    row_count: PosInt | None = None
    history: list[BaselineRecord]

    @model_validator(mode="after")
    def _baseline_rules(self) -> BenchmarkBaseline:
        if not self.metrics:
            raise ValueError("a baseline needs at least one metric")
        if not self.history:
            raise ValueError("a baseline needs a history entry recording its current metrics")
        if self.history[-1].metrics != self.metrics:
            raise ValueError("the newest history entry must carry exactly the current metrics")
        stamps = [entry.recorded_at for entry in self.history]
        if stamps != sorted(stamps):
            raise ValueError("history must be ordered oldest first by recorded_at")
        return self
