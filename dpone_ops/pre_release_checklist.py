"""``pre-release-checklist``: the checks a release type requires, asserted or evidenced.

Check names are the eight of the public docs; an unknown name is a usage error rather
than a silently ignored typo (``--check docs=true`` must not look like documentation
was checked). Evidence comes from two places:

* ``--evidence release_checks=PATH``: each check named there is derived from its tests
  (``@pytest.mark.release_check``): green iff >= 1 passed and none failed, errored or was
  skipped, else ``<check>.not_passed``. Checks the file names beyond the eight (the
  ``dpone_release_checks`` ini) are judged too, as optional checks.
* ``--check-artifact name=path``: passes only when that artifact is of a known kind and
  validates green (a generic ``{"passed": true}`` file is ``<check>.self_declared``).

Precedence: evidence wins over ``--check``. When both answer a check, all evidence must
be green, and an assertion that disagrees with the evidence is itself a finding,
``<check>.assertion_contradicted``. A check answered only by ``--check name=true`` is
``asserted``; with ``--require-evidence`` such a required check is ``<check>.not_evidenced``.
A check answered ``false`` blocks even when the release type does not require it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dpone_ops.artifact_validation import LoadedArtifact
from dpone_ops.checklist_names import CHECK_NAMES
from dpone_ops.errors import UsageError
from dpone_ops.models.base import Stamp
from dpone_ops.models.evidence import ReleaseChecks, ReleaseCheckTally
from dpone_ops.models.gates import ChecklistItem, PreReleaseChecklist
from dpone_ops.runbook import CHECKLIST_GENERAL, markdown_section
from dpone_ops.writing import md_blockers, md_bool, md_document, md_escape, md_table

NAME = "pre_release_checklist"
ReleaseType = Literal["patch-docs", "patch", "minor", "major"]
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
    """How one check was answered: a person's assertion, an artifact, or both.

    ``source="evidence"`` with ``artifact`` set may also carry the assertion
    (``value``/``asserted``) that ``--check`` gave for the same check.
    """

    source: Literal["asserted", "evidence"]
    value: str | None = None
    asserted: bool | None = None
    artifact: LoadedArtifact | None = None


EVIDENCE_NAMES: tuple[str, ...] = ("release_checks",)


def release_check_tallies(loaded: LoadedArtifact | None) -> dict[str, ReleaseCheckTally]:
    """The per-check tallies of a loaded ``release_checks.json`` (none when unusable)."""
    if loaded is None or not isinstance(loaded.model, ReleaseChecks):
        return {}
    return dict(loaded.model.checks)


def _file_blockers(loaded: LoadedArtifact) -> list[str]:
    """What is wrong with the release_checks file itself, apart from its checks' verdicts."""
    status = loaded.status
    if not isinstance(loaded.model, ReleaseChecks):
        return list(status.blockers)  # missing, invalid, or not our kind
    # Its red verdict is re-derived check by check; only file-level faults stay.
    codes = [b for b in status.blockers if b != f"{status.name}.not_passed"]
    if not loaded.model.complete:
        codes.append(f"{status.name}.incomplete")
    return codes


def evaluate(
    release_type: str,
    answers: Mapping[str, Answer],
    *,
    stamp: Stamp,
    release_checks: LoadedArtifact | None = None,
    require_evidence: bool = False,
) -> PreReleaseChecklist:
    """Judge the checklist.

    1. The release type names the required checks (unknown type: usage error).
    2. A given ``release_checks`` file that is missing, invalid, unbound (another
       release/commit/profile) or incomplete blocks with its own code, and no check
       derived from it can pass.
    3. A check nobody answered and no test proved: ``<check>.missing`` when required.
    4. A check with evidence: its ``release_checks`` tally must be PASS
       (``<check>.not_passed``); its ``--check-artifact`` must be of a known kind, valid,
       bound and passed (that artifact's blockers; a generic file that merely says
       ``"passed": true`` is ``<check>.self_declared``); an assertion that disagrees with
       the evidence is ``<check>.assertion_contradicted``.
    5. A check only asserted: ``false`` is ``<check>.not_passed``, required or not; a
       required ``true`` under ``require_evidence`` is ``<check>.not_evidenced``.
    """
    # 1.
    if release_type not in REQUIRED_CHECKS:
        raise UsageError(f"--release-type must be one of {', '.join(RELEASE_TYPES)}, "
                         f"got {release_type!r}")
    required = REQUIRED_CHECKS[release_type]
    tallies = release_check_tallies(release_checks)
    extra_names = sorted(set(tallies) - set(CHECK_NAMES))
    for name in answers:
        if name not in tallies:
            check_name(name, flag="--check")
    blockers: list[str] = []
    # 2.
    file_codes = _file_blockers(release_checks) if release_checks is not None else []
    blockers.extend(file_codes)
    items: list[ChecklistItem] = []
    for name in (*CHECK_NAMES, *extra_names):
        answer = answers.get(name)
        tally = tallies.get(name)
        is_required = name in required
        if answer is None and tally is None:
            if is_required:  # 3.
                code = f"{name}.missing"
                blockers.append(code)
                items.append(ChecklistItem(name=name, required=True, passed=False,
                                           blocker=code, source=None))
            continue
        codes: list[str] = []
        if tally is not None or (answer is not None and answer.source == "evidence"):  # 4.
            artifact = answer.artifact if answer is not None else None
            if answer is not None and answer.source == "evidence" and artifact is None:
                raise ValueError(f"evidenced check {name} has no artifact")
            if tally is not None:
                codes.extend(file_codes)
                if tally.status != "PASS":
                    codes.append(f"{name}.not_passed")
            if artifact is not None:
                codes.extend(artifact.status.blockers)
                if artifact.status.passed and artifact.model is None:
                    # Green only by the generic rule: a file that says "passed": true is a
                    # claim, not evidence (contract-reference §9.1).
                    codes.append(f"{name}.self_declared")
            if answer is not None and answer.asserted is not None and (
                answer.asserted != (not codes)
            ):
                codes.append(f"{name}.assertion_contradicted")
            shown = artifact if artifact is not None else release_checks
            if shown is None:
                raise ValueError(f"evidenced check {name} has no artifact")
            item = ChecklistItem(
                name=name, required=is_required, passed=not codes,
                blocker=min(codes) if codes else None, source="evidence",
                value=answer.value if answer is not None else None,
                artifact=shown.status, tests=tally)
        else:  # 5.
            if answer is None:
                raise ValueError(f"check {name} has neither answer nor tally")
            if not answer.asserted:
                codes.append(f"{name}.not_passed")
            elif require_evidence and is_required:
                codes.append(f"{name}.not_evidenced")
            item = ChecklistItem(name=name, required=is_required, passed=not codes,
                                 blocker=min(codes) if codes else None, source="asserted",
                                 value=answer.value)
        blockers.extend(codes)
        items.append(item)
    green = sum(i.passed for i in items)
    evidenced = sum(i.source == "evidence" for i in items)
    asserted = sum(i.source == "asserted" for i in items)
    summary = (f"{release_type}: {green} of {len(items)} checks passed "
               f"({len(required)} required; {evidenced} evidenced, {asserted} asserted)")
    return PreReleaseChecklist.build(
        stamp, blockers=blockers, summary=summary, release_type=release_type,
        required_checks=list(required), checks=items, require_evidence=require_evidence,
        executed=any(i.source is not None for i in items),
    )


def _source_cell(item: ChecklistItem) -> str:
    if item.source == "asserted":
        return "asserted (not evidenced)"
    return item.source or "unanswered"


def _tests_cell(item: ChecklistItem) -> str:
    tally = item.tests
    if tally is None:
        return ""
    parts = [f"{tally.passed}/{tally.tests} passed"]
    parts += [f"{n} {what}" for n, what in ((tally.failed, "failed"), (tally.errors, "errors"),
                                            (tally.skipped, "skipped"),
                                            (tally.xfailed, "xfailed"),
                                            (tally.xpassed, "xpassed")) if n]
    return ", ".join(parts)


def render_markdown(report: PreReleaseChecklist) -> str:
    """The Markdown twin of the checklist, with the blockers and the runbook."""
    head = [
        f"- release: {md_escape(report.release or 'none')}",
        f"- release type: {md_escape(report.release_type)}",
        f"- passed: {md_bool(report.passed)}",
        f"- evidence status: {report.evidence_status}",
        f"- summary: {md_escape(report.summary)}",
        f"- required: {md_escape(', '.join(report.required_checks))}",
        f"- evidence required: {md_bool(report.require_evidence)}",
    ]
    table = ["## Checks", "", *md_table(
        ["check", "required", "source", "passed", "blocker", "tests", "asserted", "evidence"],
        [[c.name, md_bool(c.required), _source_cell(c), md_bool(c.passed),
          c.blocker or "", _tests_cell(c), c.value or "",
          f"{c.artifact.path} (sha256 {c.artifact.sha256 or '-'})" if c.artifact else ""]
         for c in report.checks],
    )]
    note = ["Checks with source `asserted` are a person's word (not evidenced); `evidence` "
            "checks were proven by their tests in release_checks.json or by a validated "
            "artifact. Evidence wins over an assertion; an assertion that contradicts it is "
            "a finding."]
    return md_document("Pre-release checklist", [
        head, table, note, md_blockers(report.blockers),
        markdown_section(list(report.blockers), general=CHECKLIST_GENERAL),
    ])
