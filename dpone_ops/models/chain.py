"""The evidence chain index and the report of verifying one (SPEC §5.1).

The index model checks its own consistency (count, order, unique names, head). The
verifier reads a possibly tampered index with ``context={CHAIN_LENIENT: True}`` so those
rules are skipped and every broken one is reported as a blocker code instead.
"""

from __future__ import annotations

import posixpath
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, model_validator

from dpone_ops.models.base import (
    Artifact,
    BlockerCode,
    NonNegInt,
    Sha256Hex,
    StrictModel,
)

# Pass ``context={CHAIN_LENIENT: True}`` to read an index without its consistency rules.
CHAIN_LENIENT = "dpone_chain_lenient"

ArtifactName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,99}$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
SignatureAlgorithm = Literal["hmac-sha256", "ed25519"]


def is_safe_relative(path: str) -> bool:
    """A relative POSIX path in normal form (``..`` allowed only as leading segments)."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path or ":" in path[:2]:
        return False
    if posixpath.normpath(path) != path or path == ".":
        return False
    parts = path.split("/")
    leading = 0
    while leading < len(parts) and parts[leading] == "..":
        leading += 1
    return leading < len(parts) and ".." not in parts[leading:]


def _lenient(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(CHAIN_LENIENT))


class ChainEntry(StrictModel):
    """One artifact in the chain; ``chain_hash`` binds it to the entry before it."""

    index: NonNegInt
    name: ArtifactName
    path: str = Field(description="POSIX path relative to the directory of the index file")
    sha256: Sha256Hex
    size_bytes: NonNegInt
    previous_chain_hash: Sha256Hex | None
    chain_hash: Sha256Hex


class ChainSignature(StrictModel):
    """A signature over the canonical index without its ``signature`` field."""

    algorithm: SignatureAlgorithm
    key_id: KeyId = Field(description="first 16 hex of sha256 of the HMAC key / public key")
    value: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64,256}$")]


class PreviousIndex(StrictModel):
    """The previous release's index that the first entry links to."""

    path: str = Field(description="POSIX path relative to the directory of this index file")
    sha256: Sha256Hex
    release: str | None
    entry_count: NonNegInt
    latest_chain_hash: Sha256Hex


class EvidenceChainIndex(Artifact):
    """``evidence_chain_index.json``: hash-linked entries, a Merkle root, a signature."""

    kind: Literal["evidence_chain_index"] = "evidence_chain_index"
    entries: list[ChainEntry]
    entry_count: NonNegInt
    latest_chain_hash: Sha256Hex | None
    root: Sha256Hex = Field(description="RFC 6962 Merkle tree head over the entries' sha256")
    previous: PreviousIndex | None
    signature: ChainSignature | None = None

    @model_validator(mode="after")
    def _chain_rules(self, info: ValidationInfo) -> EvidenceChainIndex:
        if _lenient(info):
            return self
        if self.entry_count != len(self.entries):
            raise ValueError("entry_count must equal the number of entries")
        if [e.index for e in self.entries] != list(range(len(self.entries))):
            raise ValueError("entry indexes must be 0..n-1 in order")
        names = [e.name for e in self.entries]
        if len(names) != len(set(names)):
            raise ValueError("entry names must be unique")
        for entry in self.entries:
            if not is_safe_relative(entry.path):
                raise ValueError(f"entry {entry.index} path {entry.path!r} must be a relative "
                                 "POSIX path in normal form")
        head = self.entries[-1].chain_hash if self.entries else None
        if self.latest_chain_hash != head:
            raise ValueError("latest_chain_hash must be the last entry's chain_hash")
        return self


class EntryCheck(StrictModel):
    """What verification found for one entry; digests are shown expected vs actual."""

    index: NonNegInt
    name: str
    path: str
    exists: bool
    expected_sha256: str
    actual_sha256: Sha256Hex | None
    expected_size_bytes: NonNegInt
    actual_size_bytes: NonNegInt | None
    chain_hash_ok: bool
    link_ok: bool
    passed: bool
    blockers: list[BlockerCode]

    @model_validator(mode="after")
    def _entry_rules(self) -> EntryCheck:
        if self.blockers != sorted(set(self.blockers)):
            raise ValueError("blockers must be sorted and unique")
        if self.passed == bool(self.blockers):
            raise ValueError("an entry passes if and only if it has no blockers")
        return self


class Finding(StrictModel):
    """One problem, with a message that quotes both values."""

    code: BlockerCode
    message: str


class SignatureCheck(StrictModel):
    present: bool
    algorithm: SignatureAlgorithm | None
    key_id: str | None
    verifying_key_id: str | None = Field(description="id of the key given to the verifier")
    verified: bool | None = Field(description="null when no key was given")


class InclusionProof(StrictModel):
    """RFC 6962 audit path proving that one artifact digest is a leaf under ``root``."""

    name: str
    sha256: Sha256Hex
    leaf_index: NonNegInt
    tree_size: NonNegInt
    leaf_hash: Sha256Hex
    audit_path: list[Sha256Hex]
    root: Sha256Hex
    verified: bool


class EvidenceChainVerification(Artifact):
    """``evidence_chain_verification.json``: every digest, link and signature recomputed."""

    kind: Literal["evidence_chain_verification"] = "evidence_chain_verification"
    index_path: str
    index_sha256: Sha256Hex
    verified: bool
    entry_count: NonNegInt = Field(description="entry_count as recorded in the index")
    actual_entry_count: NonNegInt
    recorded_root: Sha256Hex
    computed_root: Sha256Hex
    latest_chain_hash: Sha256Hex | None
    entries: list[EntryCheck]
    signature: SignatureCheck
    proof: InclusionProof | None
    findings: list[Finding]

    @model_validator(mode="after")
    def _verification_rules(self) -> EvidenceChainVerification:
        if self.verified != self.passed:
            raise ValueError("verified must equal passed")
        if self.passed and self.findings:
            raise ValueError("a verified chain has no findings")
        if self.passed and not self.entries:
            raise ValueError("an empty chain cannot verify")
        if {f.code for f in self.findings} != set(self.blockers):
            raise ValueError("the findings' codes must be exactly the blockers")
        return self
