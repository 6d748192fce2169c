"""The gate reports refuse verdicts their own facts contradict."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dpone_ops.models.base import Artifact, Stamp
from dpone_ops.models.gates import (
    ChecklistItem,
    ConnectorCertificationPack,
    LiveCertificationPlan,
    LiveStateReconciliation,
    MetricResult,
    PerformanceCertification,
    PreReleaseChecklist,
)

STAMP = Stamp(release="v0.7.1", profile="real_local", generated_at="2026-01-01T00:00:00Z")
COVERAGE = {"case_count": 0, "sources": [], "sinks": [], "strategies": []}
SOURCE = {"kind": "inline", "path": None, "sha256": None}
RED_RESULT = {"metric": "duration_seconds", "value": 200.0, "rule": "max", "threshold": 120.0,
              "passed": False, "blocker": "duration_seconds.above_max"}
FAIL_ITEM = {"id": "a_to_b__append", "type": "matrix_cell", "status": "FAIL", "summary": "",
             "blocker": None}
RED_CHECK = {"name": "package", "required": True, "passed": False,
             "blocker": "package.not_passed", "source": "asserted"}

# (case id, model, fields of a report that claims to pass, message)
CONTRADICTIONS: list[tuple[str, type[Artifact], dict[str, Any], str]] = [
    ("plan with missing credentials", LiveCertificationPlan, {
        "row_count": 1, "services": ["bigquery"], "evidence_dir": "e", "output_root": "o",
        "compose_file": None, "steps": [], "required_env": ["X"],
        "credentials_present": [], "credentials_missing": ["X"]}, "missing credentials"),
    ("performance with a red result", PerformanceCertification, {
        "row_count": 1, "metrics": {}, "results": [RED_RESULT], "source": SOURCE,
        "baseline": None, "artifacts": []}, "result failed"),
    ("performance that judged nothing", PerformanceCertification, {
        "row_count": 1, "metrics": {}, "results": [], "source": SOURCE, "baseline": None,
        "artifacts": []}, "judged no threshold"),
    ("state without deletes", LiveStateReconciliation, {
        "state_backends": [], "state_checks": [], "backend_checks": [],
        "delete_reconciliation_checked": False, "physical_deletes_checked": 0, "required": [],
        "artifacts": []}, "physical-delete"),
    ("pack with a red item", ConnectorCertificationPack, {
        "pack_id": "ccp-0", "coverage": COVERAGE, "items": [FAIL_ITEM], "observability": None,
        "performance": None, "state_summary": None, "required": [], "artifacts": []},
     "every item is PASS"),
    ("checklist with a red check", PreReleaseChecklist, {
        "release_type": "patch-docs", "required_checks": [], "checks": [RED_CHECK]},
     "check is red"),
    ("checklist that requires nothing", PreReleaseChecklist, {
        "release_type": "patch-docs", "required_checks": [], "checks": []}, "requires nothing"),
]


@pytest.mark.parametrize(("case", "model", "fields", "message"), CONTRADICTIONS,
                         ids=[c[0] for c in CONTRADICTIONS])
def test_a_passing_verdict_that_its_facts_contradict_is_rejected(
    case: str, model: type[Artifact], fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        model.build(STAMP, blockers=[], summary=case, **fields)


def test_a_result_blocker_must_agree_with_its_verdict() -> None:
    with pytest.raises(ValidationError, match="blocker if and only if"):
        MetricResult.model_validate({**RED_RESULT, "blocker": None})
    with pytest.raises(ValidationError, match="missing value cannot pass"):
        MetricResult.model_validate({**RED_RESULT, "value": None, "passed": True,
                                     "blocker": None})


def test_an_unanswered_check_cannot_pass_and_evidence_carries_its_artifact() -> None:
    with pytest.raises(ValidationError, match="nobody answered"):
        ChecklistItem.model_validate({**RED_CHECK, "passed": True, "blocker": None,
                                      "source": None})
    with pytest.raises(ValidationError, match="carries its artifact"):
        ChecklistItem.model_validate({**RED_CHECK, "source": "evidence"})
