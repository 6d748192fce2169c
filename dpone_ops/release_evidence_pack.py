"""The final go/no-go: ``release_evidence_pack.json`` (SPEC §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dpone_ops.artifact_validation import LoadedArtifact, missing
from dpone_ops.models.base import Stamp
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
) -> ReleaseEvidencePack:
    """Judge the release from already-loaded artifacts. Pure: no I/O, no clock.

    1. Work out the required artifacts (release type defaults + additive ``--require``).
    2. A required artifact nobody provided is ``<name>.missing``.
    3. Every provided artifact contributes its own blockers (invalid, red, mismatched).
    4. Minor and major releases need the ``real_local`` profile.
    5. The checklist must have been built for this release type.
    6. The pack passes only with every required artifact present and every artifact green.
    """
    required = required_artifacts(policy)
    statuses: list[ArtifactStatus] = []
    blockers: list[str] = []
    for name in required:
        loaded = artifacts.get(name) or missing(name)
        statuses.append(loaded.status)
    for name, loaded in artifacts.items():
        if name not in required:
            statuses.append(loaded.status)
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
    )


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
        [bullets, ["## Artifacts", "", *table], md_blockers(pack.blockers),
         markdown_section(pack.blockers)],
    )
