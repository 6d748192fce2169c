"""The final go/no-go pack and the standalone validation report."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from dpone_ops.models.base import Artifact, Sha256Hex, StrictModel
from dpone_ops.models.chain import EvidenceChainVerification
from dpone_ops.models.status import ArtifactStatus

ReleaseType = Literal["patch-docs", "patch", "minor", "major"]


class ReleaseEvidencePack(Artifact):
    """``release_evidence_pack.json``: every artifact's status and the final verdict."""

    kind: Literal["release_evidence_pack"] = "release_evidence_pack"
    release_type: ReleaseType | None
    required: list[str]
    artifacts: list[ArtifactStatus]
    output_dir: str
    json_path: str
    markdown_path: str
    evidence_chain: EvidenceChainVerification | None = Field(
        default=None,
        description="the verification of the evidence_chain artifact; null when none given",
    )

    @model_validator(mode="after")
    def _pack_rules(self) -> ReleaseEvidencePack:
        names = [a.name for a in self.artifacts]
        if len(names) != len(set(names)):
            raise ValueError("artifact names must be unique")
        missing = set(self.required) - set(names)
        if missing:
            raise ValueError(f"every required artifact needs a status; none for {sorted(missing)}")
        if self.passed and not all(a.passed for a in self.artifacts):
            raise ValueError("a pack cannot pass while one of its artifacts is red")
        if self.passed and not self.required:
            raise ValueError("a pack with no required artifacts cannot pass")
        if self.passed and self.evidence_chain is not None and not self.evidence_chain.verified:
            raise ValueError("a pack cannot pass while its evidence chain does not verify")
        return self


class ArtifactValidation(Artifact):
    """``artifact_validation.json``: the statuses ``validate-artifact`` found."""

    kind: Literal["artifact_validation"] = "artifact_validation"
    artifacts: list[ArtifactStatus]

    @model_validator(mode="after")
    def _validation_rules(self) -> ArtifactValidation:
        if not self.artifacts and self.passed:
            raise ValueError("validating nothing cannot pass")
        return self


class InTotoSubject(StrictModel):
    """An in-toto v1 ResourceDescriptor naming one artifact by its digest."""

    name: str
    digest: dict[Literal["sha256"], Sha256Hex]
    annotations: dict[str, str] | None = None


class InTotoStatement(StrictModel):
    """An in-toto Statement v1 over the pack's artifacts, ready for cosign / attestations."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    type_: Literal["https://in-toto.io/Statement/v1"] = Field(alias="_type")
    subject: list[InTotoSubject] = Field(min_length=1)
    predicateType: str  # in-toto spells it this way
    predicate: dict[str, Any]

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
