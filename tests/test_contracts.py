"""The committed JSON Schemas are the models' own, and the header rules hold for every kind."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from dpone_ops.cli import main
from dpone_ops.models import KINDS, SLOT_KINDS
from dpone_ops.models.pack import ArtifactValidation
from dpone_ops.schema_export import SCHEMA_DIR, rendered_schemas
from tests import factories


def test_committed_schemas_match_the_models() -> None:
    expected = rendered_schemas()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    stale = sorted(set(committed) - set(expected))
    missing = sorted(set(expected) - set(committed))
    drifted = sorted(n for n in expected if n in committed and committed[n] != expected[n])
    hint = "run `dpone ops schema --write-dir dpone_ops/schemas`"
    assert not stale, f"stale schemas {stale}: {hint}"
    assert not missing, f"missing schemas {missing}: {hint}"
    assert not drifted, f"drifted schemas {drifted}: {hint}"


def test_every_conventional_slot_names_a_registered_kind() -> None:
    assert set(SLOT_KINDS.values()) <= set(KINDS), set(SLOT_KINDS.values()) - set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schema_command_prints_each_kind(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["kind"]["const"] == kind


def test_schema_command_lists_kinds_and_refuses_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "schema"]) == 0
    assert capsys.readouterr().out.split() == sorted(KINDS)
    assert main(["ops", "schema", "nope"]) == 2
    assert "unknown kind" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"passed": True, "blockers": ["a.b"], "evidence_status": "PASS"}, "empty if and only if"),
        ({"passed": False, "blockers": [], "evidence_status": "FAIL"}, "empty if and only if"),
        ({"passed": False, "blockers": ["a.b"], "evidence_status": "PASS"}, "PASS if and only"),
        ({"passed": False, "blockers": ["b.c", "a.b"], "evidence_status": "FAIL"}, "sorted"),
        ({"passed": False, "blockers": ["a.b", "a.b"], "evidence_status": "FAIL"}, "sorted"),
        ({"schema_version": "dpone.other.v1"}, "schema_version must be"),
        ({"commit_sha": "ABC"}, "pattern"),
        ({"generated_at": "yesterday"}, "pattern"),
        ({"blockers": ["no-dot"], "passed": False, "evidence_status": "FAIL"}, "pattern"),
    ],
)
def test_header_rules_are_enforced_with_the_rule_in_the_message(
    change: dict[str, object], rule: str
) -> None:
    base = ArtifactValidation.build(
        factories.stamp(), blockers=["x.missing"], summary="s", artifacts=[]
    ).model_dump(mode="json")
    with pytest.raises(ValidationError, match=rule):
        ArtifactValidation.model_validate({**base, **change})


def test_build_marks_incomplete_and_unexecuted_artifacts_unverified() -> None:
    st = factories.stamp()
    red = ArtifactValidation.build(st, blockers=[], summary="s", artifacts=[], complete=False)
    assert (red.passed, red.evidence_status, red.blockers) == (
        False, "UNVERIFIED", ["artifact_validation.incomplete"])
    idle = ArtifactValidation.build(st, blockers=["x.missing"], summary="s", artifacts=[],
                                    executed=False)
    assert idle.evidence_status == "UNVERIFIED"


def test_models_are_frozen_and_forbid_extra_fields() -> None:
    model = factories.service_markers()
    with pytest.raises(ValidationError):
        model.passed = False  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        type(model).model_validate({**model.model_dump(mode="json"), "extra": 1})


def test_an_incomplete_plugin_artifact_cannot_pass() -> None:
    green = factories.service_markers().model_dump(mode="json")
    with pytest.raises(ValidationError, match="an incomplete run cannot pass"):
        type(factories.service_markers()).model_validate({**green, "complete": False})
