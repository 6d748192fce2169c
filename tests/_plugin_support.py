"""Shared helpers of the plugin tests: run a pytester project, parse every artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dpone_ops.evidence_build import ARTIFACT_FILES
from dpone_ops.models.base import Artifact
from dpone_ops.models.evidence import (
    CertificationReport,
    PerformanceMetrics,
    ReconciliationEvidence,
    ReleaseChecks,
    RunManifest,
    ServiceMarkers,
    StateEvidence,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
MODELS: dict[str, type[Artifact]] = {
    "service_markers": ServiceMarkers,
    "state_evidence": StateEvidence,
    "reconciliation_evidence": ReconciliationEvidence,
    "performance_metrics": PerformanceMetrics,
    "certification_report": CertificationReport,
    "release_checks": ReleaseChecks,
    "run_manifest": RunManifest,
}
# Fields that legitimately differ between equal runs: timings, workers, shard slicing.
VOLATILE = frozenset({
    "duration_ms", "worker", "generated_at", "started_at", "finished_at", "duration_seconds",
    "argv", "xdist_workers", "artifacts", "shard", "versions",
})


def load_evidence(directory: Path) -> dict[str, Any]:
    """Every artifact of an evidence dir, each parsed with its model."""
    loaded: dict[str, Any] = {}
    for kind, filename in ARTIFACT_FILES.items():
        path = directory / filename
        assert path.is_file(), f"{filename} was not written"
        loaded[kind] = MODELS[kind].model_validate_json(path.read_bytes())
    return loaded


def normalized(directory: Path) -> dict[str, Any]:
    """The evidence dir as plain data without volatile fields."""
    return {kind: _strip(model.model_dump(mode="json"))
            for kind, model in load_evidence(directory).items()}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def run(
    pytester: pytest.Pytester, *args: str, evidence: str = "evidence", benchmark: bool = False
) -> pytest.RunResult:
    """Run the project in-process with recording into ``evidence``.

    pytest-benchmark is switched off unless asked for: under xdist it warns at configure
    time, which this project's ``filterwarnings = error`` turns into an error.
    """
    extra = () if benchmark else ("-p", "no:benchmark")
    # The inner suites use no hypothesis; its terminal-summary hook costs seconds per run.
    return pytester.runpytest(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", *extra,
        f"--dpone-evidence-dir={evidence}", f"--dpone-commit-sha={COMMIT}", *args,
    )


def journal_cases(directory: Path) -> list[dict[str, Any]]:
    lines = (directory / "evidence_journal.jsonl").read_text("utf-8").splitlines()
    return [entry["case"] for entry in map(json.loads, lines) if entry["type"] == "case"]
