"""``pre-release-checklist``: the checks a release type requires, asserted or evidenced.

Check names are the eight of the public docs; an unknown name is a usage error rather
than a silently ignored typo (``--check docs=true`` must not look like documentation
was checked). A check answered by ``--check-artifact`` passes only when that artifact
is of a known kind and validates green (a generic ``{"passed": true}`` file is
``<check>.self_declared``); a check answered ``false`` blocks even when the release type
does not require it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dpone_ops.artifact_validation import LoadedArtifact
from dpone_ops.errors import UsageError
from dpone_ops.models.base import Stamp
from dpone_ops.models.gates import ChecklistItem, PreReleaseChecklist
from dpone_ops.runbook import CHECKLIST_GENERAL, markdown_section
from dpone_ops.writing import md_blockers, md_bool, md_document, md_escape, md_table

NAME = "pre_release_checklist"
ReleaseType = Literal["patch-docs", "patch", "minor", "major"]
CHECK_NAMES: tuple[str, ...] = (
    "cli_commands",
    "run_cli",
    "run_python_api",
    "hierarchical_lineage",
    "source_sink_matrix",
    "contracts_guardrails",
    "documentation",
    "package",
)
REQUIRED_CHECKS: dict[str, tuple[str, ...]] = {
    "patch-docs": ("documentation",),
    "patch": ("cli_commands", "run_cli", "documentation", "package", "source_sink_matrix"),
    "minor": CHECK_NAMES,
    "major": CHECK_NAMES,
}
RELEASE_TYPES: tuple[str, ...] = tuple(REQUIRED_CHECKS)
TRUTHY = frozenset({"1", "true", "yes", "y", "pass", "passed"})
FALSY = frozenset({"0", "false", "no", "n", "fail", "failed"})


def parse_check_value(name: str, raw: str) -> bool:
    """A ``--check`` value: one of the truthy or falsy words, any case; nothing else."""
    word = raw.strip().lower()
    if word in TRUTHY:
        return True
    if word in FALSY:
        return False
    raise UsageError(
        f"--check {name}: value {raw!r} is neither true ({', '.join(sorted(TRUTHY))}) "
        f"nor false ({', '.join(sorted(FALSY))})"
    )


def check_name(name: str, *, flag: str) -> str:
    if name not in CHECK_NAMES:
        raise UsageError(f"{flag}: unknown check {name!r}; known: {', '.join(CHECK_NAMES)}")
    return name


@dataclass(frozen=True)
class Answer:
    """How one check was answered: a person's assertion or an artifact."""

    source: Literal["asserted", "evidence"]
    value: str | None = None
    asserted: bool | None = None
    artifact: LoadedArtifact | None = None


def evaluate(
    release_type: str, answers: Mapping[str, Answer], *, stamp: Stamp
) -> PreReleaseChecklist:
    """Judge the checklist.

    1. The release type names the required checks (unknown type: usage error).
    2. A required check nobody answered is ``<check>.missing``.
    3. An asserted ``false`` is ``<check>.not_passed``, required or not.
    4. An evidenced check passes only when its artifact is of a known kind, valid, bound
       and passed; the artifact's own blockers (``<check>.not_passed``, ``.invalid``,
       ``.missing``, binding mismatches) are the check's blockers, and a generic file
       that merely says ``"passed": true`` is ``<check>.self_declared``.
    """
    # 1.
    if release_type not in REQUIRED_CHECKS:
        raise UsageError(f"--release-type must be one of {', '.join(RELEASE_TYPES)}, "
                         f"got {release_type!r}")
    required = REQUIRED_CHECKS[release_type]
    for name in answers:
        check_name(name, flag="--check")
    blockers: list[str] = []
    items: list[ChecklistItem] = []
    for name in CHECK_NAMES:
        answer = answers.get(name)
        if answer is None and name not in required:
            continue
        codes: list[str]
        if answer is None:  # 2.
            codes = [f"{name}.missing"]
            item = ChecklistItem(name=name, required=True, passed=False, blocker=codes[0],
                                 source=None)
        elif answer.source == "asserted":  # 3.
            codes = [] if answer.asserted else [f"{name}.not_passed"]
            item = ChecklistItem(name=name, required=name in required, passed=not codes,
                                 blocker=codes[0] if codes else None, source="asserted",
                                 value=answer.value)
        else:  # 4.
            if answer.artifact is None:
                raise ValueError(f"evidenced check {name} has no artifact")
            status = answer.artifact.status
            codes = list(status.blockers)
            if status.passed and answer.artifact.model is None:
                # Green only by the generic rule: a file that says "passed": true is a
                # claim, not evidence (contract-reference §9.1).
                codes.append(f"{name}.self_declared")
            item = ChecklistItem(name=name, required=name in required, passed=not codes,
                                 blocker=min(codes) if codes else None, source="evidence",
                                 artifact=status)
        blockers.extend(codes)
        items.append(item)
    green = sum(i.passed for i in items)
    summary = (f"{release_type}: {green} of {len(items)} checks passed "
               f"({len(required)} required)")
    return PreReleaseChecklist.build(
        stamp, blockers=blockers, summary=summary, release_type=release_type,
        required_checks=list(required), checks=items,
        executed=any(i.source is not None for i in items),
    )


def render_markdown(report: PreReleaseChecklist) -> str:
    """The Markdown twin of the checklist, with the blockers and the runbook."""
    head = [
        f"- release: {md_escape(report.release or 'none')}",
        f"- release type: {md_escape(report.release_type)}",
        f"- passed: {md_bool(report.passed)}",
        f"- evidence status: {report.evidence_status}",
        f"- summary: {md_escape(report.summary)}",
        f"- required: {md_escape(', '.join(report.required_checks))}",
    ]
    table = ["## Checks", "", *md_table(
        ["check", "required", "source", "passed", "blocker", "evidence"],
        [[c.name, md_bool(c.required), c.source or "unanswered", md_bool(c.passed),
          c.blocker or "",
          f"{c.artifact.path} (sha256 {c.artifact.sha256 or '-'})" if c.artifact else ""]
         for c in report.checks],
    )]
    note = ["Checks with source `asserted` are a person's word; `evidence` checks were "
            "proven by a validated artifact."]
    return md_document("Pre-release checklist", [
        head, table, note, md_blockers(report.blockers),
        markdown_section(list(report.blockers), general=CHECKLIST_GENERAL),
    ])
