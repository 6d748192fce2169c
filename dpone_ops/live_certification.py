"""``live-certification-plan``: the commands that certify a profile, in order.

The plan is a report like any other: it passes when it can be executed as written (for
``vendor_live``: every credential variable is set). Credential *values* are never read
into it, only whether each named variable is set.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dpone_ops.errors import UsageError
from dpone_ops.metrics import PLAN_MAXIMUM as PLAN_MAXIMUM
from dpone_ops.metrics import PLAN_MINIMUM as PLAN_MINIMUM
from dpone_ops.models.base import Stamp
from dpone_ops.models.gates import LiveCertificationPlan, PlanStep
from dpone_ops.runbook import PLAN_GENERAL, markdown_section
from dpone_ops.writing import md_blockers, md_bool, md_code, md_document, md_escape, md_table

NAME = "live_certification_plan"
COMPOSE_FILE = "docker/docker-compose.integration.yml"
DEFAULT_EVIDENCE_DIR = "test_artifacts/live_certification"
ROW_COUNT_ENV = "DPONE_ROW_COUNT"
RELEASE_ENV = "DPONE_RELEASE"
# The six services docker/docker-compose.integration.yml runs, and their compose names.
DISPOSABLE_SERVICES: dict[str, str] = {
    "postgres": "postgres",
    "mssql": "mssql",
    "clickhouse": "clickhouse",
    "kafka": "kafka",
    "schema_registry": "schema-registry",
    "minio": "minio",
}
# The plugin's service vocabulary (pytest_dpone.services.KNOWN_SERVICES); repeated here
# because dpone_ops never imports the plugin.
KNOWN_SERVICES = (*DISPOSABLE_SERVICES, "mysql", "bigquery")
# Managed providers need credentials; the plan reports which of these names are set.
VENDOR_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "bigquery": ("GOOGLE_APPLICATION_CREDENTIALS", "DPONE_BIGQUERY_PROJECT"),
    "kafka": ("DPONE_KAFKA_BOOTSTRAP_SERVERS", "DPONE_KAFKA_SASL_USERNAME",
              "DPONE_KAFKA_SASL_PASSWORD"),
}


@dataclass(frozen=True)
class Profile:
    services: tuple[str, ...]
    compose: bool  # services come from the compose file
    compose_required: bool
    vendor: bool


PROFILES: dict[str, Profile] = {
    # feature level: the project's own services; env vars, testcontainers or the local
    # postgres can serve them, so starting compose is optional
    "local_live": Profile(("postgres",), compose=True, compose_required=False, vendor=False),
    "real_local": Profile(tuple(DISPOSABLE_SERVICES), compose=True, compose_required=True,
                          vendor=False),
    "vendor_live": Profile(tuple(VENDOR_CREDENTIALS), compose=False, compose_required=False,
                           vendor=True),
}
EVIDENCE_FILES = (
    "service_markers.json",
    "state_evidence.json",
    "reconciliation_evidence.json",
    "performance_metrics.json",
    "certification_report.json",
    "run_manifest.json",
)
# The real_local plan's benchmark-slo-gate: the committed baseline and the hard SLOs.
BASELINE_FILE = "benchmarks/benchmark_baseline.json"
SLO_OBJECTIVES_MAX: dict[str, float] = {"failure_rate": 0}
CHECKLIST_ASSERTED = ("cli_commands", "run_cli", "run_python_api", "hierarchical_lineage",
                      "contracts_guardrails", "documentation", "package")


@dataclass(frozen=True)
class PlanPolicy:
    row_count: int
    extra_services: tuple[str, ...] = ()
    extra_credentials: tuple[str, ...] = ()
    evidence_dir: str = DEFAULT_EVIDENCE_DIR
    output_root: str = DEFAULT_EVIDENCE_DIR
    release_type: str = "minor"
    minimum: Mapping[str, float] = field(default_factory=lambda: dict(PLAN_MINIMUM))
    maximum: Mapping[str, float] = field(default_factory=lambda: dict(PLAN_MAXIMUM))


def _shell(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """One copy-pasteable shell line; the release variable stays expandable."""
    words = [f"{k}={shlex.quote(v)}" for k, v in sorted((env or {}).items())]
    for arg in argv:
        words.append(f'"${{{RELEASE_ENV}}}"' if arg == f"${RELEASE_ENV}" else shlex.quote(arg))
    return " ".join(words)


def _json(data: Mapping[str, float], *, key: str | None = None) -> str:
    values = {k: (int(v) if float(v).is_integer() else v) for k, v in data.items()}
    nested = {k: {key: v} for k, v in values.items()} if key else values
    return json.dumps(nested, sort_keys=True, separators=(",", ":"))


def evaluate(
    profile: str, policy: PlanPolicy, *, present_env: frozenset[str], stamp: Stamp
) -> LiveCertificationPlan:
    """Lay out the plan.

    1. The profile names its services (unknown profile: usage error); ``--service`` adds.
    2. The steps: start services (compose profiles), the marked tests with
       ``--dpone-evidence-dir``, each gate, the evidence chain, the release pack, stop.
    3. ``vendor_live``: each credential variable of its services (plus
       ``--credential-env``) is present or ``env.<NAME>.missing``.
    """
    # 1.
    spec = PROFILES.get(profile)
    if spec is None:
        raise UsageError(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    unknown = [s for s in policy.extra_services if s not in KNOWN_SERVICES]
    if unknown:
        raise UsageError(f"--service: unknown service {unknown[0]!r}; "
                         f"known: {', '.join(KNOWN_SERVICES)}")
    services = list(dict.fromkeys([*spec.services, *policy.extra_services]))
    # 2.
    ev, out = policy.evidence_dir.rstrip("/"), policy.output_root.rstrip("/")
    release = stamp.release or f"${RELEASE_ENV}"
    required_env = [] if stamp.release else [RELEASE_ENV]
    dirs = {g: f"{out}/{g}" for g in ("performance-certification", "live-state-reconciliation",
                                      "certification-pack", "pre-release", "evidence-chain",
                                      "release-evidence-pack", "benchmark-slo-gate")}
    perf = f"{dirs['performance-certification']}/performance_certification.json"
    state = f"{dirs['live-state-reconciliation']}/live_state_reconciliation.json"
    pack = f"{dirs['certification-pack']}/connector_certification_pack.json"
    checklist = f"{dirs['pre-release']}/pre_release_checklist.json"
    chain = f"{dirs['evidence-chain']}/evidence_chain_index.json"
    final = f"{dirs['release-evidence-pack']}/release_evidence_pack.json"
    fmt = ["--format", "json"]

    def report(path: str) -> list[str]:
        return [path, path[: -len(".json")] + ".md"]

    steps: list[PlanStep] = []
    compose_services = [DISPOSABLE_SERVICES[s] for s in services if s in DISPOSABLE_SERVICES]
    if spec.compose and compose_services:
        steps.append(PlanStep(
            name="start_services",
            command=_shell(["docker", "compose", "-f", COMPOSE_FILE, "up", "-d", "--wait",
                            *compose_services]),
            env={}, expected_artifacts=[], required=spec.compose_required,
            note=None if spec.compose_required else
            "optional: the plugin uses DPONE_IT_* variables, testcontainers or a local "
            "postgres first",
        ))
    test_env = {"DPONE_RUN_INTEGRATION": "1", ROW_COUNT_ENV: str(policy.row_count)}
    pytest_argv = ["python", "-m", "pytest", "--dpone-evidence-dir", ev,
                   "--dpone-profile", profile, "--dpone-release", release]
    for service in services:
        pytest_argv += ["--dpone-require-service", service]
    steps.append(PlanStep(
        name="run_marked_tests", command=_shell(pytest_argv, test_env), env=test_env,
        expected_artifacts=[f"{ev}/{name}" for name in EVIDENCE_FILES], required=True,
        note="skipped tests count as not passed; the run must exit 0",
    ))
    steps.append(PlanStep(
        name="performance_certification",
        command=_shell(["dpone", "ops", "performance-certification", "--profile", profile,
                        "--row-count", str(policy.row_count), "--metrics-file",
                        f"{ev}/performance_metrics.json", "--minimum-json",
                        _json(policy.minimum), "--maximum-json", _json(policy.maximum),
                        "--output-dir", dirs["performance-certification"], *fmt]),
        env={}, expected_artifacts=report(perf), required=True,
    ))
    slo_gate = f"{dirs['benchmark-slo-gate']}/benchmark_slo_gate.json"
    if profile == "real_local":
        # The release candidate also answers to the reviewed baseline and the SLOs.
        steps.append(PlanStep(
            name="benchmark_slo_gate",
            command=_shell(["dpone", "ops", "benchmark-slo-gate", "--profile", profile,
                            "--release", release, "--metrics-file",
                            f"{ev}/performance_metrics.json", "--baseline", BASELINE_FILE,
                            "--objectives-json", _json(SLO_OBJECTIVES_MAX, key="max"),
                            "--output-dir", dirs["benchmark-slo-gate"], *fmt]),
            env={}, expected_artifacts=report(slo_gate), required=True,
            note=f"{BASELINE_FILE} is committed and changed only by `dpone ops "
                 "benchmark-baseline update` (loosening needs --reason)",
        ))
    steps.append(PlanStep(
        name="live_state_reconciliation",
        command=_shell(["dpone", "ops", "live-state-reconciliation", "--profile", profile,
                        "--artifact", f"state={ev}/state_evidence.json",
                        "--artifact", f"reconciliation={ev}/reconciliation_evidence.json",
                        "--require", "state", "--require", "reconciliation",
                        "--output-dir", dirs["live-state-reconciliation"], *fmt]),
        env={}, expected_artifacts=report(state), required=True,
    ))
    steps.append(PlanStep(
        name="certification_pack",
        command=_shell(["dpone", "ops", "certification-pack", "--profile", profile,
                        "--artifact", f"certification_report={ev}/certification_report.json",
                        "--artifact", f"performance_certification={perf}",
                        "--artifact", f"live_state_reconciliation={state}",
                        "--artifact", f"run_manifest={ev}/run_manifest.json",
                        "--output-dir", dirs["certification-pack"], *fmt]),
        env={}, expected_artifacts=report(pack), required=True,
    ))
    checklist_argv = ["dpone", "ops", "pre-release-checklist", "--release", release,
                      "--release-type", policy.release_type, "--profile", profile,
                      "--check-artifact", f"source_sink_matrix={pack}"]
    for name in CHECKLIST_ASSERTED:
        checklist_argv += ["--check", f"{name}=<true|false>"]
    steps.append(PlanStep(
        name="pre_release_checklist",
        command=_shell([*checklist_argv, "--output-dir", dirs["pre-release"], *fmt]),
        env={}, expected_artifacts=report(checklist), required=True,
        note="answer each <true|false> only after verifying that item; the command refuses "
             "the placeholder",
    ))
    chained = [("service_markers", f"{ev}/service_markers.json"), ("certification_pack", pack),
               ("performance_certification", perf), ("live_state_reconciliation", state),
               ("pre_release_checklist", checklist)]
    if profile == "real_local":
        chained.append(("benchmark_slo_gate", slo_gate))
    chain_argv = ["dpone", "ops", "evidence-chain", "--release", release]
    for name, path in chained:
        chain_argv += ["--artifact", f"{name}={path}"]
    steps.append(PlanStep(
        name="evidence_chain",
        command=_shell([*chain_argv, "--output-dir", dirs["evidence-chain"], *fmt]),
        env={}, expected_artifacts=report(chain), required=True,
    ))
    pack_argv = ["dpone", "ops", "release-evidence-pack", "--release", release, "--profile",
                 profile, "--release-type", policy.release_type]
    for name, path in [*chained, ("evidence_chain", chain)]:
        pack_argv += ["--artifact", f"{name}={path}"]
    steps.append(PlanStep(
        name="release_evidence_pack",
        command=_shell([*pack_argv, "--output-dir", dirs["release-evidence-pack"], *fmt]),
        env={}, expected_artifacts=report(final), required=True,
    ))
    if spec.compose and compose_services:
        steps.append(PlanStep(
            name="stop_services",
            command=_shell(["docker", "compose", "-f", COMPOSE_FILE, "down", "-v"]),
            env={}, expected_artifacts=[], required=False, note="run it even when a step failed",
        ))
    # 3.
    credentials: list[str] = []
    if spec.vendor:
        for service in services:
            credentials.extend(VENDOR_CREDENTIALS.get(service, ()))
    credentials = list(dict.fromkeys([*credentials, *policy.extra_credentials]))
    present = sorted(n for n in credentials if n in present_env)
    absent = sorted(n for n in credentials if n not in present_env)
    blockers = [f"env.{name}.missing" for name in absent]
    summary = (f"{profile}: {len(steps)} steps over {len(services)} services at "
               f"{policy.row_count} rows" + (f"; {len(absent)} credential variables missing"
                                             if absent else ""))
    return LiveCertificationPlan.build(
        stamp, blockers=blockers, summary=summary, row_count=policy.row_count,
        services=services, evidence_dir=ev, output_root=out,
        compose_file=COMPOSE_FILE if spec.compose and compose_services else None,
        steps=steps, required_env=sorted({*required_env, *credentials}),
        credentials_present=present, credentials_missing=absent,
    )


def render_markdown(plan: LiveCertificationPlan) -> str:
    """The Markdown twin of the plan: steps as a numbered runbook, then blockers."""
    head = [
        f"- profile: {md_escape(plan.profile or 'none')}",
        f"- row count: {plan.row_count}",
        f"- passed: {md_bool(plan.passed)}",
        f"- services: {md_escape(', '.join(plan.services))}",
        f"- evidence dir: {md_code(plan.evidence_dir)}",
        f"- required env: {md_escape(', '.join(plan.required_env) or 'none')}",
        f"- credentials present: {md_escape(', '.join(plan.credentials_present) or 'none')}",
        f"- credentials missing: {md_escape(', '.join(plan.credentials_missing) or 'none')}",
        f"- summary: {md_escape(plan.summary)}",
    ]
    steps = ["## Steps", ""]
    for number, step in enumerate(plan.steps, 1):
        flag = "required" if step.required else "optional"
        steps.append(f"{number}. **{md_escape(step.name)}** ({flag})")
        steps.extend(["", "   ```sh", f"   {step.command}", "   ```", ""])
        if step.note:
            steps.append(f"   {md_escape(step.note)}")
            steps.append("")
    artifacts = ["## Expected artifacts", "", *md_table(
        ["step", "artifact"],
        [[s.name, a] for s in plan.steps for a in s.expected_artifacts],
    )]
    return md_document("Live certification plan", [
        head, steps, artifacts, md_blockers(plan.blockers),
        markdown_section(list(plan.blockers), general=PLAN_GENERAL),
    ])
