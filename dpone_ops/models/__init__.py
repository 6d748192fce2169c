"""Strict pydantic contracts, one model per artifact kind.

Importing this package registers every kind in :data:`KINDS` (a model registers itself
when its class is created), so each module below must be imported here.
"""

from __future__ import annotations

from dpone_ops.models import baseline as baseline
from dpone_ops.models import certify as certify
from dpone_ops.models import chain as chain
from dpone_ops.models import docs as docs
from dpone_ops.models import evidence as evidence
from dpone_ops.models import gates as gates
from dpone_ops.models import pack as pack
from dpone_ops.models import release_gates as release_gates
from dpone_ops.models.base import KINDS, Artifact, Producer, Stamp, StrictModel
from dpone_ops.models.status import ArtifactStatus

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
