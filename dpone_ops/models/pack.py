"""The final go/no-go pack and the standalone validation report."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from dpone_ops.models.base import Artifact
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
