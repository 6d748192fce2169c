"""``dpone ops certify``: the whole release gate for one project, in one command (SPEC §5.2).

Driven by the project's ``[tool.dpone]`` (:mod:`dpone_ops.certify_config`):

1. pytest with the plugin, as a subprocess in the project directory, its output streamed
   line by line; the evidence lands in the output directory.
2. Every gate, in-process through the same handlers as its ``dpone ops`` command:
   performance-certification, live-state-reconciliation, certification-pack,
   pre-release-checklist (from the tests' ``release_check`` evidence, never assertions),
   evidence-chain and release-evidence-pack. All six run whatever the release type, so
   the pack judges everything that was produced.
3. A one-screen verdict: each artifact's status, each blocker with its runbook line,
   where the pack is; ``certification_run.json`` / ``.md`` record it.

The output directory follows the conventional layout (contract-reference §1): the
plugin's evidence at its root, each gate's report in its own sub-directory.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dpone_ops import provenance, runbook
from dpone_ops.artifact_validation import Binding, LoadedArtifact, load_artifact
from dpone_ops.certify_config import CertifyConfig, load_config
from dpone_ops.errors import UsageError
from dpone_ops.models.base import Stamp
from dpone_ops.models.certify import (
    BlockerLine,
    CertificationRun,
    CertifyStep,
    PytestRun,
    StepStatus,
)
from dpone_ops.models.pack import ReleaseEvidencePack
from dpone_ops.models.status import ArtifactStatus
from dpone_ops.writing import md_blockers, md_bool, md_code, md_document, md_escape, md_table

NAME = "certification_run"
DEFAULT_OUTPUT = Path("test_artifacts/live_certification")
# What the plugin writes into the evidence dir (slot name -> file).
EVIDENCE_FILES: dict[str, str] = {
    "service_markers": "service_markers.json",
    "state": "state_evidence.json",
    "reconciliation": "reconciliation_evidence.json",
    "performance_metrics": "performance_metrics.json",
    "certification_report": "certification_report.json",
    "run_manifest": "run_manifest.json",
    "release_checks": "release_checks.json",
}
JOURNAL_FILE = "evidence_journal.jsonl"
# Each gate's report: slot name -> (sub-directory, file stem), as in the plan.
REPORTS: dict[str, tuple[str, str]] = {
    "performance_certification": ("performance-certification", "performance_certification"),
    "live_state_reconciliation": ("live-state-reconciliation", "live_state_reconciliation"),
    "certification_pack": ("certification-pack", "connector_certification_pack"),
    "pre_release_checklist": ("pre-release", "pre_release_checklist"),
    "evidence_chain": ("evidence-chain", "evidence_chain_index"),
    "release_evidence_pack": ("release-evidence-pack", "release_evidence_pack"),
}
PACK = "release_evidence_pack"
# The pack judges these; run_manifest is added as required so that a red pytest exit
# (recorded there) can never sit under a green pack.
PACK_ARTIFACTS = ("service_markers", "certification_pack", "performance_certification",
                  "live_state_reconciliation", "pre_release_checklist", "run_manifest")
CHAINED = ("service_markers", "state", "reconciliation", "performance_metrics",
           "certification_report", "run_manifest", "release_checks",
           "performance_certification", "live_state_reconciliation", "certification_pack",
           "pre_release_checklist")
AUTOLOAD_OFF = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class Target:
    """Everything certify needs, resolved once: flags win over ``[tool.dpone]``."""

    project: Path
    output_dir: Path
    config: CertifyConfig
    release: str
    profile: str
    commit_sha: str | None
    pytest_args: tuple[str, ...]

    def evidence(self, name: str) -> Path:
        return self.output_dir / EVIDENCE_FILES[name]

    def report(self, name: str) -> Path:
        directory, stem = REPORTS[name]
        return self.output_dir / directory / f"{stem}.json"

    def path(self, name: str) -> Path:
        return self.evidence(name) if name in EVIDENCE_FILES else self.report(name)


def resolve_target(
    project: Path, *, output_dir: Path | None, profile: str | None, release: str | None,
    pytest_args: Sequence[str] = (),
) -> Target:
    """Read the project's config and merge the flags; unusable input raises (exit 2)."""
    project = project.resolve()
    config = load_config(project)
    chosen_profile = profile or config.profile
    if chosen_profile is None:
        raise UsageError("certify: no profile: set [tool.dpone] profile or pass --profile")
    if chosen_profile not in ("local_live", "real_local", "vendor_live"):
        raise UsageError(f"--profile must be one of local_live, real_local, vendor_live, "
                         f"got {chosen_profile!r}")
    chosen_release = release or config.release
    if not chosen_release:
        raise UsageError("certify: no release: set [tool.dpone] release or pass --release")
    # The evidence must carry the commit of the project, not of wherever certify runs.
    commit = provenance.resolve_commit_sha(None, cwd=str(project))
    out = (output_dir if output_dir is not None else project / DEFAULT_OUTPUT).resolve()
    return Target(project=project, output_dir=out, config=config, release=chosen_release,
                  profile=chosen_profile, commit_sha=commit,
                  pytest_args=(*config.pytest_args, *pytest_args))


# --- step 1: pytest --------------------------------------------------------------------------

def pytest_argv(target: Target, *, environ: Mapping[str, str]) -> list[str]:
    """The plan's pytest step for this project."""
    argv = [sys.executable, "-m", "pytest"]
    if environ.get(AUTOLOAD_OFF):
        argv += ["-p", "pytest_dpone.plugin"]  # entry points are off: load the plugin by name
    argv += [*target.config.test_paths,
             "--dpone-evidence-dir", str(target.output_dir),
             "--dpone-profile", target.profile, "--dpone-release", target.release]
    if target.commit_sha:
        argv += ["--dpone-commit-sha", target.commit_sha]
    for service in target.config.required_services:
        argv += ["--dpone-require-service", service]
    if target.config.required_state:
        argv += ["-o", "dpone_required_state_checks=" + "\n".join(target.config.required_state)]
    return [*argv, *target.pytest_args]


def pytest_env(target: Target, environ: Mapping[str, str]) -> dict[str, str]:
    # A certify run started from inside a pytest worker must not look like one to its child.
    env = {k: v for k, v in environ.items()
           if not k.startswith("PYTEST_XDIST_") and k != "PYTEST_CURRENT_TEST"}
    env.update({"DPONE_RUN_INTEGRATION": "1", "DPONE_ROW_COUNT": str(target.config.row_count),
                # line-buffered child output, so the stream below really streams
                "PYTHONUNBUFFERED": "1"})
    return env


def run_pytest(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], sink: TextIO) -> int:
    """Run pytest and copy its output to ``sink`` line by line; return its exit status."""
    with subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", bufsize=1) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                sink.write(line)
                sink.flush()
        except KeyboardInterrupt:
            # The child got the same SIGINT: let it write its (incomplete) evidence.
            proc.wait()
            raise
        return proc.wait()


def clear_stale(target: Target) -> None:
    """Remove what an earlier run left, so nothing old can be judged as this run's."""
    stale = [target.output_dir / f for f in (*EVIDENCE_FILES.values(), JOURNAL_FILE)]
    for name in REPORTS:
        report = target.report(name)
        stale += [report, report.with_suffix(".md")]
    stale += [target.output_dir / f"{NAME}.json", target.output_dir / f"{NAME}.md"]
    for path in stale:
        if path.is_file() or path.is_symlink():
            path.unlink()


# --- step 2: the gates -----------------------------------------------------------------------

def _out(target: Target, name: str) -> list[str]:
    return ["--output-dir", str(target.report(name).parent), "--format", "json"]


def _binding_args(target: Target) -> list[str]:
    args = ["--release", target.release, "--profile", target.profile]
    return args + (["--commit-sha", target.commit_sha] if target.commit_sha else [])


def _artifacts(target: Target, names: Sequence[str], *, existing_only: bool = False
               ) -> list[str]:
    args: list[str] = []
    for name in names:
        if existing_only and not target.path(name).is_file():
            continue
        args += ["--artifact", f"{name}={target.path(name)}"]
    return args


def gate_argvs(target: Target) -> list[tuple[str, list[str]]]:
    """Each gate's ``dpone`` argv, in order (the chain's inputs are decided when it runs)."""
    cfg, bind = target.config, _binding_args(target)
    thresholds = cfg.thresholds
    perf = ["ops", "performance-certification", *bind, "--row-count", str(cfg.row_count),
            "--metrics-file", str(target.evidence("performance_metrics"))]
    if thresholds.minimum:
        perf += ["--minimum-json", _inline(thresholds.minimum)]
    if thresholds.maximum:
        perf += ["--maximum-json", _inline(thresholds.maximum)]
    state = ["ops", "live-state-reconciliation", *bind,
             *_artifacts(target, ("state", "reconciliation"))]
    for backend in cfg.state_backends:
        state += ["--require-backend", backend]
    matrix = ["ops", "certification-pack", *bind,
              *_artifacts(target, ("certification_report", "performance_certification",
                                   "live_state_reconciliation", "run_manifest")),
              "--require", "run_manifest"]
    checklist = ["ops", "pre-release-checklist", *bind, "--release-type", cfg.release_type,
                 "--evidence", f"release_checks={target.evidence('release_checks')}",
                 "--require-evidence"]
    pack = ["ops", "release-evidence-pack", *bind, "--release-type", cfg.release_type,
            *_artifacts(target, (*PACK_ARTIFACTS, "evidence_chain")),
            "--require", "run_manifest"]
    return [
        ("performance_certification", perf + _out(target, "performance_certification")),
        ("live_state_reconciliation", state + _out(target, "live_state_reconciliation")),
        ("certification_pack", matrix + _out(target, "certification_pack")),
        ("pre_release_checklist", checklist + _out(target, "pre_release_checklist")),
        ("evidence_chain", []),  # built from whatever exists once the gates above ran
        (PACK, pack + _out(target, PACK)),
    ]


def chain_argv(target: Target) -> list[str]:
    """Chain every artifact of this run that exists (a missing one is the pack's blocker)."""
    return ["ops", "evidence-chain", *_binding_args(target),
            *_artifacts(target, CHAINED, existing_only=True), *_out(target, "evidence_chain")]


def _inline(values: Mapping[str, float]) -> str:
    from dpone_ops.commands.common import dump_json

    return dump_json({k: (int(v) if float(v).is_integer() else v) for k, v in values.items()})


def run_gate(argv: Sequence[str]) -> tuple[int, str | None]:
    """One gate through ``dpone_ops.cli.main``; its printed report is not needed here."""
    from dpone_ops import cli  # cli imports the command modules, which import this one

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    message = " ".join(err.getvalue().split()) or None
    return code, message if code not in (0, 1) else None


def _binding(target: Target) -> Binding:
    return Binding(release=target.release, commit_sha=target.commit_sha,
                   profile=target.profile)


def step_record(target: Target, name: str, argv: Sequence[str], code: int,
                error: str | None) -> CertifyStep:
    """What one gate left behind, read back like any consumer reads it."""
    path = target.report(name)
    loaded = load_artifact(name, path, required=True, binding=_binding(target))
    status: StepStatus
    if error is not None:
        status = "ERROR"
    elif not loaded.status.exists:
        status = "MISSING"
    elif loaded.model is not None:
        status = loaded.model.evidence_status
    else:
        status = "FAIL"
    summary = loaded.model.summary if loaded.model is not None else loaded.status.summary
    return CertifyStep(name=name, argv=["dpone", *argv], exit_code=code, status=status,
                       report=str(path), summary=error or summary, error=error)


# --- step 3: the verdict ---------------------------------------------------------------------

def _inner_blockers(status: ArtifactStatus) -> list[str]:
    """The red artifact's own blockers: the root causes behind ``<name>.not_passed``."""
    if status.passed or not status.exists or not status.path:
        return []
    loaded = load_artifact(status.name, Path(status.path), required=True)
    return list(loaded.model.blockers) if loaded.model is not None else []


def evaluate(
    *, target: Target, pytest_run: PytestRun, steps: Sequence[CertifyStep],
    pack: LoadedArtifact, causes_by_artifact: Mapping[str, Sequence[str]], stamp: Stamp,
) -> CertificationRun:
    """Decide the run. Pure: no I/O, no clock.

    1. The pack's own status (missing, invalid, mismatched, red) and its blockers.
    2. Behind each red artifact of the pack, its own blockers (the root causes).
    3. A gate that could not run is ``<gate>.error``.
    4. A pytest exit status other than 0 is ``pytest.exit_status``, whatever the pack says.
    5. Each blocker gets its runbook line; the run passes only with none.
    """
    found: dict[str, str] = {}

    def add(code: str, source: str) -> None:
        found.setdefault(code, source)

    for code in pack.status.blockers:  # 1.
        add(code, PACK)
    model = pack.model if isinstance(pack.model, ReleaseEvidencePack) else None
    for code in (model.blockers if model is not None else []):
        add(code, PACK)
    for name, codes in causes_by_artifact.items():  # 2.
        for code in codes:
            add(code, name)
    for step in steps:  # 3.
        if step.error is not None:
            add(f"{step.name}.error", step.name)
    if pytest_run.exit_status != 0:  # 4.
        add("pytest.exit_status", "pytest")
    # Root causes first, in the order the run met them; the pack's own codes last.
    rank = {name: i for i, name in enumerate(("pytest", *ORDER))}
    causes = [BlockerLine(code=code, source=found[code], runbook=runbook.line_for(code))
              for code in sorted(found, key=lambda c: (rank.get(found[c], len(rank) - 1), c))]
    # 5.
    verdict = "GO" if not found else "NO-GO"
    summary = (f"{target.release} ({target.profile}, {target.config.release_type}): {verdict}"
               + (f", {len(found)} blocker(s)" if found else "")
               + f"; pytest exit {pytest_run.exit_status}")
    return CertificationRun.build(
        stamp, blockers=list(found), summary=summary, project=str(target.project),
        output_dir=str(target.output_dir), release_type=target.config.release_type,
        pytest=pytest_run, steps=list(steps), pack=pack.status,
        artifacts=list(model.artifacts) if model is not None else [], causes=causes,
    )


def certify(target: Target, *, sink: TextIO, environ: Mapping[str, str] | None = None
            ) -> CertificationRun:
    """Run steps 1-3 of the module docstring and return the recorded run."""
    env = os.environ if environ is None else environ
    target.output_dir.mkdir(parents=True, exist_ok=True)
    clear_stale(target)
    argv = pytest_argv(target, environ=env)
    started = time.monotonic()
    exit_status = run_pytest(argv, cwd=target.project, env=pytest_env(target, env), sink=sink)
    pytest_run = PytestRun(argv=argv, cwd=str(target.project), exit_status=exit_status,
                           duration_seconds=round(time.monotonic() - started, 3))
    steps: list[CertifyStep] = []
    for name, gate in gate_argvs(target):
        gate = gate or chain_argv(target)
        code, error = run_gate(gate)
        steps.append(step_record(target, name, gate, code, error))
    pack = load_artifact(PACK, target.report(PACK), required=True, binding=_binding(target))
    causes: dict[str, list[str]] = {}
    if isinstance(pack.model, ReleaseEvidencePack):
        for status in pack.model.artifacts:
            causes[status.name] = _inner_blockers(status)
    stamp = Stamp(release=target.release, profile=target.profile,
                  commit_sha=target.commit_sha, generated_at=provenance.now())
    return evaluate(target=target, pytest_run=pytest_run, steps=steps, pack=pack,
                    causes_by_artifact=causes, stamp=stamp)


# --- rendering -------------------------------------------------------------------------------

# The verdict lists the run in the order it happened.
ORDER = ("service_markers", "run_manifest", "performance_certification",
         "live_state_reconciliation", "certification_pack", "pre_release_checklist",
         "evidence_chain", PACK)
MAX_SHOWN = 12  # blockers on the one screen; the rest are in the Markdown and JSON


def render_text(run: CertificationRun) -> str:
    """The one-screen verdict."""
    verdict = "GO" if run.passed else "NO-GO"
    lines = [
        f"dpone certify: {verdict} — release {run.release} · profile {run.profile} · "
        f"release type {run.release_type} · commit {(run.commit_sha or 'unknown')[:12]}",
        f"  {'pytest':<28} {'PASS' if run.pytest.exit_status == 0 else 'FAIL':<10} "
        f"exit status {run.pytest.exit_status} in {run.pytest.duration_seconds:.1f}s",
    ]
    gates = {s.name: s for s in run.steps}
    packed = {a.name: a for a in run.artifacts}
    for name in [*ORDER, *(n for n in packed if n not in ORDER)]:
        step, status = gates.get(name), packed.get(name)
        if step is not None:
            lines.append(f"  {name:<28} {step.status:<10} {_clip(step.summary)}")
        elif status is not None:
            word = "PASS" if status.passed else ("MISSING" if not status.exists else "FAIL")
            lines.append(f"  {name:<28} {word:<10} {_clip(status.summary)}")
    if run.causes:
        lines.append(f"Blockers ({len(run.causes)}):")
        for cause in run.causes[:MAX_SHOWN]:
            lines.append(f"  {cause.code} [{cause.source}]")
            lines.append(f"      -> {cause.runbook}")
        if len(run.causes) > MAX_SHOWN:
            lines.append(f"  ... {len(run.causes) - MAX_SHOWN} more in "
                         f"{Path(run.output_dir) / (NAME + '.md')}")
    lines.append(f"Pack: {run.pack.path or '(not written)'}")
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_markdown(run: CertificationRun) -> str:
    head = [
        f"- verdict: {'GO' if run.passed else 'NO-GO'}",
        f"- release: {md_escape(run.release)}",
        f"- profile: {md_escape(run.profile)}",
        f"- release type: {md_escape(run.release_type)}",
        f"- commit: {md_escape(run.commit_sha or 'unknown')}",
        f"- project: {md_code(run.project)}",
        f"- pytest exit status: {run.pytest.exit_status} "
        f"({run.pytest.duration_seconds:.1f}s)",
        f"- pack: {md_code(run.pack.path)} (passed: {md_bool(run.pack.passed)})",
        f"- summary: {md_escape(run.summary)}",
    ]
    steps = ["## Gates", "", *md_table(
        ["gate", "status", "exit", "summary", "report"],
        [[s.name, s.status, s.exit_code, s.summary, s.report] for s in run.steps],
    )]
    artifacts = ["## Pack artifacts", "", *md_table(
        ["artifact", "required", "exists", "passed", "summary"],
        [[a.name, md_bool(a.required), md_bool(a.exists), md_bool(a.passed), a.summary]
         for a in run.artifacts],
    )]
    book = ["## Runbook", "", *(
        [f"- `{c.code}` ({md_escape(c.source)}): {md_escape(c.runbook)}" for c in run.causes]
        or ["- nothing to do: the pack is green"]
    ), *(f"- {md_escape(rule)}" for rule in runbook.GENERAL)]
    return md_document(f"Certification run {run.release or ''}".strip(),
                       [head, steps, artifacts, md_blockers(run.blockers), book])
