"""Per-artifact status records shared by every consumer of artifacts."""

from __future__ import annotations

from dpone_ops.models.base import BlockerCode, NonNegInt, Sha256Hex, StrictModel


class ArtifactStatus(StrictModel):
    """What a consumer found at one ``name=path`` (SPEC §3.3); the digest binds the payload."""

    name: str
    path: str
    required: bool
    exists: bool
    passed: bool
    sha256: Sha256Hex | None
    size_bytes: NonNegInt | None
    kind: str | None
    schema_version: str | None
    summary: str
    blocker: BlockerCode | None
    blockers: list[BlockerCode]
