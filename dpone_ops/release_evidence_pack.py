"""The final go/no-go: ``release_evidence_pack.json`` (SPEC §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dpone_ops.artifact_validation import LoadedArtifact, missing
from dpone_ops.models.base import Stamp
from dpone_ops.models.chain import EvidenceChainVerification
from dpone_ops.models.pack import ReleaseEvidencePack, ReleaseType
from dpone_ops.models.status import ArtifactStatus
from dpone_ops.runbook import markdown_section
from dpone_ops.writing import md_blockers, md_bool, md_document, md_escape, md_table

DEFAULT_REQUIRED: tuple[str, ...] = (
    "service_markers",
    "certification_pack",
    "performance_certification",
    "live_state_reconciliation",
    "pre_release_checklist",
    "evidence_chain",
)
REQUIRED_BY_RELEASE_TYPE: dict[str | None, tuple[str, ...]] = {
    None: DEFAULT_REQUIRED,
    "patch-docs": ("pre_release_checklist",),
    "patch": ("service_markers", "pre_release_checklist", "evidence_chain"),
    "minor": DEFAULT_REQUIRED,
    "major": DEFAULT_REQUIRED,
}
RELEASE_CANDIDATE_PROFILE = "real_local"
VENDOR_LIVE_SLOT = "vendor_live"
CHAIN_SLOT = "evidence_chain"
PACK_NAME = "release_evidence_pack"


@dataclass(frozen=True)
class PackPolicy:
    """What the release demands; ``extra_required`` adds to the defaults, never replaces."""

    release: str
    profile: str
    release_type: ReleaseType | None = None
    extra_required: Sequence[str] = ()
    external_providers_affected: bool = False


@dataclass(frozen=True)
class PackOutput:
    """Where the pack is written; recorded in the pack itself (contract-reference §2)."""

    output_dir: str
    json_path: str
    markdown_path: str


@dataclass(frozen=True)
class PackInputs:
    artifacts: Mapping[str, LoadedArtifact]
    extra_blockers: Sequence[str] = field(default_factory=tuple)


def required_artifacts(policy: PackPolicy) -> list[str]:
    """The release type's defaults, ``vendor_live`` for affected majors, then ``--require``."""
    names = list(REQUIRED_BY_RELEASE_TYPE[policy.release_type])
    if policy.release_type == "major" and policy.external_providers_affected:
        names.append(VENDOR_LIVE_SLOT)
    for name in policy.extra_required:
        if name not in names:
            names.append(name)
    return names


def evaluate(
    artifacts: Mapping[str, LoadedArtifact],
    policy: PackPolicy,
    *,
    stamp: Stamp,
    output: PackOutput,
    chain: EvidenceChainVerification | None = None,
) -> ReleaseEvidencePack:
    """Judge the release from already-loaded artifacts. Pure: no I/O, no clock.

    1. Work out the required artifacts (release type defaults + additive ``--require``).
    2. A required artifact nobody provided is ``<name>.missing``.
    3. Every provided artifact contributes its own blockers (invalid, red, mismatched).
    4. Minor and major releases need the ``real_local`` profile.
    5. The checklist must have been built for this release type.
    6. A provided ``evidence_chain`` must verify (``chain`` is its verification; None when
       it could not be verified at all): else ``evidence_chain.broken``.
    7. With a chain, every other provided artifact must be a member with the digest the
       pack read: else ``<name>.not_in_chain`` / ``<name>.digest_mismatch``.
    8. The pack passes only with every required artifact present and every artifact green.
    """
    required = required_artifacts(policy)
    statuses: list[ArtifactStatus] = []
    blockers: list[str] = []
    chain_codes = chain_blockers(artifacts, chain)
    for name in required:
        loaded = artifacts.get(name) or missing(name)
        statuses.append(_add_blockers(loaded.status, chain_codes.get(name, [])))
    for name, loaded in artifacts.items():
        if name not in required:
            statuses.append(_add_blockers(loaded.status, chain_codes.get(name, [])))
    for status in statuses:
        blockers.extend(status.blockers)

    if policy.release_type in ("minor", "major") and policy.profile != RELEASE_CANDIDATE_PROFILE:
        blockers.append("profile.not_release_candidate")

    checklist = artifacts.get("pre_release_checklist")
    if checklist is not None and checklist.model is not None and policy.release_type:
        built_for = getattr(checklist.model, "release_type", None)
        if built_for != policy.release_type:
            blockers.append("pre_release_checklist.release_type_mismatch")

    green = sum(s.passed for s in statuses)
    summary = (
        f"{policy.release}: GO — {green} of {len(statuses)} artifacts green"
        if not blockers
        else f"{policy.release}: NO-GO — {len(set(blockers))} blocker(s), "
        f"{green} of {len(statuses)} artifacts green"
    )
    return ReleaseEvidencePack.build(
        stamp,
        blockers=blockers,
        summary=summary,
        release_type=policy.release_type,
        required=required,
        artifacts=statuses,
        output_dir=output.output_dir,
        json_path=output.json_path,
        markdown_path=output.markdown_path,
        evidence_chain=chain,
    )


_CHAIN_NOTES = {
    "broken": "the evidence chain does not verify",
    "not_in_chain": "not covered by the evidence chain",
    "digest_mismatch": "differs from the digest the evidence chain recorded",
}


def chain_blockers(
    artifacts: Mapping[str, LoadedArtifact], chain: EvidenceChainVerification | None
) -> dict[str, list[str]]:
    """Steps 6 and 7: per artifact name, the codes the evidence chain adds."""
    if CHAIN_SLOT not in artifacts:
        return {}
    codes: dict[str, list[str]] = {}
    if chain is None or not chain.verified:
        codes[CHAIN_SLOT] = [f"{CHAIN_SLOT}.broken"]
    if chain is None:  # no index to judge membership against; the pack is red already
        return codes
    recorded: dict[str, set[str]] = {}
    for entry in chain.entries:
        recorded.setdefault(entry.name, set()).add(entry.expected_sha256)
    for name, loaded in artifacts.items():
        if name == CHAIN_SLOT or not loaded.status.exists or loaded.status.sha256 is None:
            continue
        if name not in recorded:
            codes[name] = [f"{name}.not_in_chain"]
        elif loaded.status.sha256 not in recorded[name]:
            codes[name] = [f"{name}.digest_mismatch"]
    return codes


def _add_blockers(status: ArtifactStatus, codes: list[str]) -> ArtifactStatus:
    if not codes:
        return status
    merged = sorted({*status.blockers, *codes})
    notes = "; ".join(_CHAIN_NOTES[c.rsplit(".", 1)[1]] for c in codes)
    return status.model_copy(update={
        "passed": False, "blockers": merged, "blocker": merged[0],
        "summary": f"{status.summary}; {notes}" if status.summary else notes,
    })


def render_markdown(pack: ReleaseEvidencePack) -> str:
    """Title, verdict bullets, the artifact table, blockers and the runbook."""
    bullets = [
        f"- release: {md_escape(pack.release)}",
        f"- profile: {md_escape(pack.profile)}",
        f"- release type: {md_escape(pack.release_type or 'default')}",
        f"- commit: {md_escape(pack.commit_sha or 'unknown')}",
        f"- passed: {md_bool(pack.passed)}",
        f"- evidence status: {pack.evidence_status}",
        f"- generated at: {pack.generated_at}",
        f"- summary: {md_escape(pack.summary)}",
    ]
    table = md_table(
        ["artifact", "required", "exists", "passed", "sha256", "summary", "path"],
        [
            [
                s.name,
                md_bool(s.required),
                md_bool(s.exists),
                md_bool(s.passed),
                s.sha256 or "",
                s.summary,
                s.path,
            ]
            for s in pack.artifacts
        ],
    )
    return md_document(
        f"Release evidence pack {pack.release or ''}".strip(),
        [bullets, ["## Artifacts", "", *table], _chain_section(pack),
         md_blockers(pack.blockers), markdown_section(pack.blockers)],
    )


def _chain_section(pack: ReleaseEvidencePack) -> list[str]:
    chain = pack.evidence_chain
    lines = ["## Evidence chain", ""]
    if chain is None:
        provided = any(s.name == CHAIN_SLOT and s.exists for s in pack.artifacts)
        lines.append("- could not be verified" if provided else "- not provided")
        return lines
    sig = chain.signature
    lines += [
        f"- verified: {md_bool(chain.verified)}",
        f"- entries: {chain.actual_entry_count}, Merkle root {md_escape(chain.recorded_root)}",
        "- signature: " + ("absent" if not sig.present else md_escape(sig.algorithm))
        + ("" if sig.verified is None else f", verified: {md_bool(sig.verified)}"),
    ]
    lines += [f"- `{f.code}`: {md_escape(f.message)}" for f in chain.findings]
    return lines
