"""Strict pydantic contracts, one model per artifact kind.

A model registers its kind in :data:`KINDS` when its class is created. The package loads
its modules when ``KINDS`` is first asked for, not on import, so code that needs one
module (the plugin writing its evidence at session end) does not build every model.
"""

from __future__ import annotations

import importlib

from dpone_ops.models import base as _base
from dpone_ops.models.base import Artifact, Producer, Stamp, StrictModel
from dpone_ops.models.status import ArtifactStatus

# Every module that defines artifact kinds; KINDS is complete once all are imported.
MODEL_MODULES = ("baseline", "certify", "chain", "docs", "evidence", "gates", "pack",
                 "release_gates")


def all_kinds() -> dict[str, type[Artifact]]:
    """Every artifact kind by name, importing the model modules not loaded yet."""
    for module in MODEL_MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return _base.KINDS


# Declared for type checkers only: the module attribute comes from ``__getattr__``.
KINDS: dict[str, type[Artifact]]


def __getattr__(name: str) -> dict[str, type[Artifact]]:
    if name == "KINDS":
        return all_kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Conventional slot names (contract-reference §1) and the kind each slot demands.
SLOT_KINDS: dict[str, str] = {
    "service_markers": "service_markers",
    "certification_pack": "connector_certification_pack",
    "performance_certification": "performance_certification",
    "live_state_reconciliation": "live_state_reconciliation",
    "pre_release_checklist": "pre_release_checklist",
    "evidence_chain": "evidence_chain_index",
    "state": "state_evidence",
    "reconciliation": "reconciliation_evidence",
    "certification_report": "certification_report",
    "performance_metrics": "performance_metrics",
    "run_manifest": "run_manifest",
    "plan": "live_certification_plan",
    "vendor_live": "service_markers",
    "baseline": "benchmark_baseline",
    "package": "package_check",
    "release_checks": "release_checks",
}

__all__ = ["KINDS", "SLOT_KINDS", "Artifact", "ArtifactStatus", "Producer", "Stamp", "StrictModel"]
