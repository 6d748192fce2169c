"""An in-toto Statement v1 over a release pack, for ``cosign attest`` or GitHub attestations.

The subjects are the pack's artifacts (and the pack file itself) by sha256; the predicate
is the pack's verdict. The statement is unsigned: signing it is the job of the team's
attestation tooling, which then vouches for exactly these digests.
"""

from __future__ import annotations

from typing import Any

from dpone_ops.models.pack import InTotoStatement, InTotoSubject, ReleaseEvidencePack

PREDICATE_TYPE = "https://pytest-dpone.invalid/attestation/release-evidence-pack/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


def statement(pack: ReleaseEvidencePack, *, pack_name: str, pack_sha256: str) -> InTotoStatement:
    """Subjects: every artifact the pack read with a digest, then the pack JSON itself."""
    subjects = [
        InTotoSubject(name=s.name, digest={"sha256": s.sha256},
                      annotations={"path": s.path, "passed": "true" if s.passed else "false"})
        for s in pack.artifacts
        if s.sha256 is not None
    ]
    subjects.append(InTotoSubject(name=pack_name, digest={"sha256": pack_sha256}))
    chain = pack.evidence_chain
    predicate: dict[str, Any] = {
        "release": pack.release,
        "profile": pack.profile,
        "release_type": pack.release_type,
        "commit_sha": pack.commit_sha,
        "generated_at": pack.generated_at,
        "producer": pack.producer.model_dump(mode="json"),
        "passed": pack.passed,
        "evidence_status": pack.evidence_status,
        "blockers": list(pack.blockers),
        "summary": pack.summary,
        "required": list(pack.required),
        "evidence_chain": None if chain is None else {
            "verified": chain.verified,
            "index_sha256": chain.index_sha256,
            "root": chain.recorded_root,
            "latest_chain_hash": chain.latest_chain_hash,
            "signature_verified": chain.signature.verified,
        },
    }
    return InTotoStatement.model_validate({
        "_type": STATEMENT_TYPE, "subject": [s.model_dump(mode="json") for s in subjects],
        "predicateType": PREDICATE_TYPE, "predicate": predicate,
    })
