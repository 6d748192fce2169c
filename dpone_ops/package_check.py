"""Judge a package check from what its steps did (pure; the runner does the I/O).

The runner (:mod:`dpone_ops.package_runner`) builds, installs and smoke-runs the
distribution and hands over raw :class:`StepRun` records; :func:`evaluate` decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from packaging.version import InvalidVersion, Version

from dpone_ops.models.base import Stamp
from dpone_ops.models.release_gates import (
    DistFile,
    PackageCheck,
    PackageStep,
    StepName,
    StepOutcome,
)
from dpone_ops.runbook import line_for, markdown_section
from dpone_ops.writing import md_blockers, md_bool, md_code, md_document, md_escape, md_table

# The steps in the order they run: the model's own literal, so the two cannot drift.
STEP_ORDER: tuple[str, ...] = get_args(StepName)
# The markers the plugin registers (SPEC §4.2); `pytest --markers` in the fresh venv must
# list each, which proves the pytest11 entry point of the installed wheel loads.
PLUGIN_MARKERS: tuple[str, ...] = (
    "service",
    "state_backend",
    "reconciliation",
    "certification",
    "performance",
    "release_check",
)
# Standing lines of this gate's runbook (the per-blocker lines come from dpone_ops.runbook).
RUNBOOK: tuple[str, ...] = (
    "Reproduce with `dpone ops package-check --release <version>`; each step's command and "
    "the tail of its output are in package_check.json.",
    "`package.already_published`: a published version is immutable; bump the version.",
    "`package.version_mismatch`: set the version in pyproject.toml to the release (or tag "
    "the release the wheel really is).",
    "`package.index_unreachable`: the index was not asked; re-run where it is reachable "
    "(or pass --require-index to make this a blocker) before publishing.",
)
WARNING_LINES: dict[str, str] = {
    "package.index_unreachable": (
        "The index could not be asked whether this version is published; this step is not a "
        "pass. Re-run where the index is reachable before publishing."
    ),
}
DEFAULT_INDEX_URL = "https://pypi.org/simple"
OUTPUT_TAIL_LINES = 15
# pip's verbose log says why it could not read the project page. Only a 404 proves
# "not published"; anything else (refused, DNS, TLS, 5xx, timeout) is "could not tell".
_NOT_FOUND_RE = re.compile(r"Could not fetch URL \S+: 404 Client Error")
_FETCH_FAILED_RE = re.compile(r"Could not fetch URL |connection error|Max retries exceeded")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_AVAILABLE_RE = re.compile(r"^Available versions:\s*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class StepRun:
    """What one subprocess did; ``returncode`` is None when it could not run to the end."""

    command: tuple[str, ...]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    duration_seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class PackageFacts:
    """Everything the runner observed; a step absent from ``runs`` was not run."""

    runs: Mapping[str, StepRun]
    files: Sequence[DistFile]
    distribution: str | None
    wheel_version: str | None
    index_url: str = DEFAULT_INDEX_URL


def release_version(release: str) -> Version | None:
    """``v1.2.3`` or ``1.2.3`` as a PEP 440 version; None when it is not one."""
    text = release.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _tail(run: StepRun) -> str:
    text = run.stdout + ("\n" if run.stdout and run.stderr else "") + run.stderr
    lines = _ANSI_RE.sub("", text).splitlines()
    return "\n".join(lines[-OUTPUT_TAIL_LINES:])


def _ran_ok(run: StepRun) -> tuple[bool, str]:
    if run.returncode is None:
        return False, run.error or "did not finish"
    if run.returncode != 0:
        return False, f"exit status {run.returncode}"
    return True, "exit status 0"


def classify_index(
    run: StepRun, version: Version | None
) -> tuple[StepOutcome, str, list[str] | None]:
    """Read ``pip index versions -vv``: published, not published, or could not tell."""
    text = run.stdout + "\n" + run.stderr
    if run.returncode == 0:
        match = _AVAILABLE_RE.search(run.stdout)
        if match is None:
            return "unreachable", "pip listed no versions in a form it can be read from", None
        versions = [v.strip() for v in match.group(1).split(",") if v.strip()]
        if version is not None and any(_same_version(v, version) for v in versions):
            return "failed", f"version {version} is already published", versions
        return "passed", f"not published; index has {len(versions)} other versions", versions
    if run.returncode is not None and _NOT_FOUND_RE.search(text):
        return "passed", "the index does not know the project (404): not published", []
    if run.returncode is None:
        return "unreachable", run.error or "pip did not finish", None
    reason = "could not fetch the project page" if _FETCH_FAILED_RE.search(text) else (
        f"pip exited {run.returncode} without proof that the project is unpublished"
    )
    return "unreachable", reason, None


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version(text) == version
    except InvalidVersion:
        return False


def evaluate(
    facts: PackageFacts,
    *,
    release: str,
    require_index: bool,
    stamp: Stamp,
    expected_markers: Sequence[str] = PLUGIN_MARKERS,
) -> PackageCheck:
    """Decide the package check.

    1. ``build``: exit 0 and exactly one sdist and one wheel came out.
    2. ``twine_check``, ``venv``, ``install``: exit 0.
    3. ``smoke_dpone_help`` / ``smoke_ops_help``: exit 0 and the help names its commands.
    4. ``smoke_pytest_markers``: exit 0 and every expected marker is listed
       (``package.marker.<name>.missing`` for each one that is not).
    5. ``version``: the wheel's version equals ``--release`` (``package.version_mismatch``).
    6. ``index``: the version is not on the index (``package.already_published``); an index
       that cannot be asked is ``package.index_unreachable`` — a warning, or a blocker
       under ``require_index``; never a pass.
    7. Every step that did not run is ``package.<step>.not_run``: nothing passes by absence.
    """
    blockers: list[str] = []
    warnings: list[str] = []
    steps: list[PackageStep] = []
    wanted = release_version(release)
    missing_markers: list[str] = []
    published: list[str] | None = None

    def record(name: str, run: StepRun | None, outcome: StepOutcome, detail: str) -> None:
        steps.append(PackageStep(
            name=name,  # type: ignore[arg-type]  # name comes from STEP_ORDER
            outcome=outcome,
            command=list(run.command) if run else [],
            returncode=run.returncode if run else None,
            duration_seconds=max(run.duration_seconds, 0.0) if run else 0.0,
            detail=detail,
            output_tail=_tail(run) if run else "",
        ))
        if outcome == "not_run":
            blockers.append(f"package.{name}.not_run")

    for name in STEP_ORDER:
        run = facts.runs.get(name)
        if name == "version":
            # 5. judged from the wheel's metadata, not from a subprocess
            if facts.wheel_version is None:
                record(name, None, "not_run", "no wheel was built, so no version to compare")
            elif wanted is None:
                record(name, None, "failed", f"--release {release!r} is not a PEP 440 version")
                blockers.append("package.version_mismatch")
            elif _same_version(facts.wheel_version, wanted):
                record(name, None, "passed", f"wheel version {facts.wheel_version} = {release}")
            else:
                record(name, None, "failed",
                       f"wheel version {facts.wheel_version} != release {release}")
                blockers.append("package.version_mismatch")
            continue
        if run is None:
            record(name, None, "not_run", "not run (an earlier step failed)")
            continue
        if name == "index":
            # 6.
            outcome, detail, published = classify_index(run, wanted)
            record(name, run, outcome, detail)
            if outcome == "failed":
                blockers.append("package.already_published")
            elif outcome == "unreachable":
                (blockers if require_index else warnings).append("package.index_unreachable")
            continue
        ok, detail = _ran_ok(run)
        if ok and name == "build":
            # 1.
            kinds = sorted(f.type for f in facts.files)
            if kinds != ["sdist", "wheel"]:
                ok, detail = False, f"expected one sdist and one wheel, got {kinds or 'nothing'}"
        elif ok and name == "smoke_dpone_help" and "ops" not in run.stdout:
            ok, detail = False, "`dpone --help` does not list the ops group"
        elif ok and name == "smoke_ops_help" and "usage:" not in run.stdout:
            ok, detail = False, "`dpone ops --help` printed no usage"
        elif ok and name == "smoke_pytest_markers":
            # 4.
            missing_markers = [
                m for m in expected_markers if f"@pytest.mark.{m}" not in run.stdout
            ]
            if missing_markers:
                ok, detail = False, "markers not listed: " + ", ".join(missing_markers)
                blockers.extend(f"package.marker.{m}.missing" for m in missing_markers)
        record(name, run, "passed" if ok else "failed", detail)
        if not ok:
            blockers.append(f"package.{name}.failed")

    failed = sorted({s.name for s in steps if s.outcome in ("failed", "not_run")})
    if not failed:
        summary = f"{facts.distribution or 'package'} {facts.wheel_version} ready to publish"
        if warnings:
            summary += "; index not checked: " + ", ".join(warnings)
    else:
        summary = "package check failed at: " + ", ".join(failed)
    return PackageCheck.build(
        stamp,
        blockers=blockers,
        summary=summary,
        executed="build" in facts.runs,
        distribution=facts.distribution,
        expected_version=release,
        wheel_version=facts.wheel_version,
        files=list(facts.files),
        steps=steps,
        index_url=facts.index_url,
        published_versions=published,
        require_index=require_index,
        expected_markers=list(expected_markers),
        missing_markers=missing_markers,
        warnings=sorted(set(warnings)),
    )


def render_markdown(report: PackageCheck) -> str:
    """The package check as Markdown: verdict, steps, built files, index answer, runbook."""
    head = [
        f"- release: {md_escape(report.expected_version)}",
        f"- distribution: {md_escape(report.distribution or '—')} "
        f"{md_escape(report.wheel_version or '')}",
        f"- passed: {md_bool(report.passed)} ({report.evidence_status})",
        f"- index: {md_escape(report.index_url)}"
        + (" (required)" if report.require_index else " (unreachable index is a warning)"),
        f"- summary: {md_escape(report.summary)}",
    ]
    steps = ["## Steps", "", *md_table(
        ["step", "outcome", "seconds", "detail"],
        [[s.name, s.outcome, f"{s.duration_seconds:.1f}", s.detail] for s in report.steps],
    )]
    files = ["## Built files", "", *md_table(
        ["file", "type", "sha256", "bytes"],
        [[f.filename, f.type, f.sha256, f.size_bytes] for f in report.files],
    )] if report.files else ["## Built files", "", "- none"]
    warnings = ["## Warnings", ""]
    warnings += [f"- {md_code(code)}: {md_escape(WARNING_LINES.get(code, line_for(code)))}"
                 for code in report.warnings]
    if not report.warnings:
        warnings.append("- none")
    return md_document("Package check", [
        head, steps, files, warnings, md_blockers(report.blockers),
        markdown_section(report.blockers, general=RUNBOOK),
    ])
