"""The five gates of SPEC §5: plan, performance, state, certification pack, checklist.

Each handler loads its inputs through artifact_validation, calls the gate's pure
``evaluate`` and emits ``<name>.json`` + ``<name>.md``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from dpone_ops import (
    certification_pack,
    live_certification,
    live_state_reconciliation,
    performance_certification,
    pre_release_checklist,
)
from dpone_ops.artifact_validation import Binding, LoadedArtifact, load_artifact
from dpone_ops.commands.common import (
    add_binding_args,
    add_output_args,
    check_name,
    parse_inline_json_object,
    parse_name_path,
    parse_name_paths,
    stamp_from_args,
)
from dpone_ops.errors import UsageError
from dpone_ops.metrics import DEFAULT_MAX_REGRESSION, Direction, current_machine
from dpone_ops.models.base import Stamp
from dpone_ops.models.gates import MetricsSource
from dpone_ops.writing import emit_report


def register(commands: Any) -> None:
    plan = commands.add_parser(
        "live-certification-plan", help="the commands that certify a profile, in order",
        description="Lay out the steps, services, commands, expected artifacts and required "
        "environment of a certification profile (local_live, real_local, vendor_live).",
    )
    add_binding_args(plan)
    _add_row_count(plan)
    plan.add_argument("--service", action="append", default=[], metavar="NAME",
                      help="a service to require in addition to the profile's")
    plan.add_argument("--credential-env", action="append", default=[], metavar="NAME",
                      help="a credential variable to check in addition to the profile's")
    plan.add_argument("--evidence-dir", default=live_certification.DEFAULT_EVIDENCE_DIR,
                      help="where the plugin writes evidence")
    plan.add_argument("--output-root", default=live_certification.DEFAULT_EVIDENCE_DIR,
                      help="under which the gates write their reports")
    plan.add_argument("--release-type", default="minor",
                      choices=pre_release_checklist.RELEASE_TYPES)
    plan.add_argument("--minimum-json", help="performance minimums for the plan's gate step")
    plan.add_argument("--maximum-json", help="performance maximums for the plan's gate step")
    add_output_args(plan)
    plan.set_defaults(handler=run_plan)

    perf = commands.add_parser(
        "performance-certification", help="judge metrics against thresholds and a baseline",
        description="Judge measured metrics (inline or from performance_metrics.json / raw "
        "pytest-benchmark JSON) against min/max thresholds and an optional baseline.",
    )
    add_binding_args(perf)
    _add_row_count(perf)
    source = perf.add_mutually_exclusive_group(required=True)
    source.add_argument("--metrics-json", help='inline JSON object {"metric": number}')
    source.add_argument("--metrics-file", type=Path,
                        help="performance_metrics.json or pytest --benchmark-json output")
    perf.add_argument("--minimum-json", help='inline JSON {"metric": minimum}')
    perf.add_argument("--maximum-json", help='inline JSON {"metric": maximum}')
    perf.add_argument("--baseline", type=Path, help="a benchmark_baseline.json to compare with")
    perf.add_argument("--max-regression", type=float, default=None,
                      help=f"allowed regression vs the baseline (default {DEFAULT_MAX_REGRESSION})")
    perf.add_argument("--allow-foreign-baseline", action="store_true",
                      help="compare with a baseline from another machine/profile/row count "
                      "(the differences are reported)")
    perf.add_argument("--direction", action="append", default=[], metavar="NAME=higher|lower",
                      help="direction of a metric the shared table does not know")
    add_output_args(perf)
    perf.set_defaults(handler=run_performance)

    state = commands.add_parser(
        "live-state-reconciliation", help="state advanced only after loads; deletes reconcile",
        description="Judge the plugin's state and reconciliation evidence.",
    )
    add_binding_args(state)
    state.add_argument("--artifact", action="append", default=[], metavar="name=path")
    state.add_argument("--require", action="append", default=[], metavar="NAME",
                       help="an input to require in addition to state and reconciliation")
    state.add_argument("--require-backend", action="append", default=[], metavar="BACKEND",
                       help="a state backend to require in addition to those in the evidence")
    add_output_args(state)
    state.set_defaults(handler=run_state)

    pack = commands.add_parser(
        "certification-pack", help="source->sink matrix coverage and run observability",
        description="Assemble the connector certification pack from certification_report.json "
        "plus optional performance, state and run-manifest artifacts.",
    )
    add_binding_args(pack)
    pack.add_argument("--artifact", action="append", default=[], metavar="name=path",
                      help=f"one of: {', '.join(certification_pack.KNOWN_INPUTS)}")
    pack.add_argument("--require", action="append", default=[], metavar="NAME",
                      help="an input to require in addition to certification_report")
    add_output_args(pack)
    pack.set_defaults(handler=run_pack)

    checklist = commands.add_parser(
        "pre-release-checklist", help="the checks a release type requires",
        description="Judge the pre-release checklist: each check proven by its tests "
        "(--evidence release_checks=PATH), by an artifact (--check-artifact) or asserted "
        "(--check). Evidence wins over an assertion; an assertion contradicting it blocks.",
    )
    add_binding_args(checklist, release_required=True)
    checklist.add_argument("--release-type", required=True,
                           choices=pre_release_checklist.RELEASE_TYPES)
    checklist.add_argument("--check", action="append", default=[], metavar="name=value",
                           help="assert a check (true/false); recorded as asserted, not "
                           "evidenced")
    checklist.add_argument("--check-artifact", action="append", default=[], metavar="name=path",
                           help="prove a check with a green artifact of a known kind")
    checklist.add_argument("--evidence", action="append", default=[], metavar="name=path",
                           help="derive checks from evidence: release_checks=PATH (the "
                           "plugin's release_checks.json)")
    checklist.add_argument("--require-evidence", action="store_true",
                           help="a required check only asserted is a blocker "
                           "(<check>.not_evidenced)")
    add_output_args(checklist)
    checklist.set_defaults(handler=run_checklist)


def _row_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise UsageError(f"--row-count must be an integer, got {value!r}") from None
    if not 1 <= count <= performance_certification.MAX_ROW_COUNT:
        raise UsageError(f"--row-count must be between 1 and "
                         f"{performance_certification.MAX_ROW_COUNT}, got {count}")
    return count


def _add_row_count(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--row-count", type=_row_count,
                        default=performance_certification.DEFAULT_ROW_COUNT,
                        help=f"rows per certification run "
                        f"(default {performance_certification.DEFAULT_ROW_COUNT})")


def _binding(stamp: Stamp) -> Binding:
    return Binding(release=stamp.release, commit_sha=stamp.commit_sha, profile=stamp.profile)


def _thresholds(value: str | None, flag: str) -> dict[str, float]:
    data = parse_inline_json_object(value, flag=flag)
    return performance_certification.parse_metric_values(data or {}, flag=flag)


def _safe_dir(value: str, flag: str) -> str:
    if not value.strip() or any(ch in value for ch in "\n\r`"):
        raise UsageError(f"{flag}: {value!r} is not a usable directory name")
    return value


def run_plan(args: argparse.Namespace) -> int:
    if not args.profile:
        raise UsageError("live-certification-plan: --profile is required "
                         f"({', '.join(live_certification.PROFILES)})")
    stamp = stamp_from_args(args)
    policy = live_certification.PlanPolicy(
        row_count=args.row_count, extra_services=tuple(args.service),
        extra_credentials=tuple(check_name(n, flag="--credential-env")
                                for n in args.credential_env),
        evidence_dir=_safe_dir(args.evidence_dir, "--evidence-dir"),
        output_root=_safe_dir(args.output_root, "--output-root"),
        release_type=args.release_type,
        minimum=_thresholds(args.minimum_json, "--minimum-json") if args.minimum_json
        else dict(live_certification.PLAN_MINIMUM),
        maximum=_thresholds(args.maximum_json, "--maximum-json") if args.maximum_json
        else dict(live_certification.PLAN_MAXIMUM),
    )
    # Names of set variables only: no credential value ever enters the plan.
    present = frozenset(name for name, value in os.environ.items() if value)
    report = live_certification.evaluate(args.profile, policy, present_env=present, stamp=stamp)
    emit_report(report=report, markdown=live_certification.render_markdown(report),
                output_dir=args.output_dir, name=live_certification.NAME, fmt=args.format)
    return 0 if report.passed else 1


def _directions(values: list[str]) -> dict[str, Direction]:
    result: dict[str, Direction] = {}
    for value in values:
        name, sep, way = value.partition("=")
        if not sep or way not in ("higher", "lower") or not name:
            raise UsageError(f"--direction expects NAME=higher|lower, got {value!r}")
        result[name] = "higher" if way == "higher" else "lower"
    return result


def run_performance(args: argparse.Namespace) -> int:
    stamp = stamp_from_args(args)
    baseline = None
    if args.baseline is None and (args.max_regression is not None or args.allow_foreign_baseline):
        raise UsageError("--max-regression and --allow-foreign-baseline need --baseline")
    if args.baseline is not None:
        # Baselines come from earlier releases and commits: bind nothing, compare below.
        baseline = performance_certification.BaselinePolicy(
            path=str(args.baseline),
            loaded=load_artifact("baseline", args.baseline, required=True),
            max_regression=DEFAULT_MAX_REGRESSION if args.max_regression is None
            else args.max_regression,
            allow_foreign=args.allow_foreign_baseline,
        )
    policy = performance_certification.PerformancePolicy(
        minimum=_thresholds(args.minimum_json, "--minimum-json"),
        maximum=_thresholds(args.maximum_json, "--maximum-json"),
        baseline=baseline, directions=_directions(args.direction),
    )
    if args.metrics_file is not None:
        measured = performance_certification.read_metrics_file(
            args.metrics_file, binding=_binding(stamp))
    else:
        data = parse_inline_json_object(args.metrics_json, flag="--metrics-json") or {}
        measured = performance_certification.Measured(
            metrics=performance_certification.parse_metric_values(data, flag="--metrics-json"),
            source=MetricsSource(kind="inline", path=None, sha256=None),
            machine=current_machine(),
        )
    report = performance_certification.evaluate(measured, policy, row_count=args.row_count,
                                                stamp=stamp)
    emit_report(report=report, markdown=performance_certification.render_markdown(report),
                output_dir=args.output_dir, name=performance_certification.NAME,
                fmt=args.format)
    return 0 if report.passed else 1


def _load_all(paths: dict[str, Path], required: set[str], stamp: Stamp
              ) -> dict[str, LoadedArtifact]:
    binding = _binding(stamp)
    return {name: load_artifact(name, path, required=name in required, binding=binding)
            for name, path in paths.items()}


def run_state(args: argparse.Namespace) -> int:
    stamp = stamp_from_args(args)
    required = {*live_state_reconciliation.DEFAULT_REQUIRED,
                *(check_name(n, flag="--require") for n in args.require)}
    paths = parse_name_paths(args.artifact)
    policy = live_state_reconciliation.StatePolicy(
        required=tuple(sorted(required)),
        extra_backends=tuple(check_name(b, flag="--require-backend")
                             for b in args.require_backend),
    )
    report = live_state_reconciliation.evaluate(_load_all(paths, required, stamp), policy,
                                                stamp=stamp)
    emit_report(report=report, markdown=live_state_reconciliation.render_markdown(report),
                output_dir=args.output_dir, name=live_state_reconciliation.NAME,
                fmt=args.format)
    return 0 if report.passed else 1


def run_pack(args: argparse.Namespace) -> int:
    stamp = stamp_from_args(args)
    known = certification_pack.KNOWN_INPUTS
    paths = parse_name_paths(args.artifact)
    for name in [*paths, *args.require]:
        if name not in known:
            raise UsageError(f"certification-pack: unknown input {name!r}; "
                             f"known: {', '.join(known)}")
    required = {*certification_pack.DEFAULT_REQUIRED, *args.require}
    policy = certification_pack.PackPolicy(required=tuple(sorted(required)))
    report = certification_pack.evaluate(_load_all(paths, required, stamp), policy, stamp=stamp)
    emit_report(report=report, markdown=certification_pack.render_markdown(report),
                output_dir=args.output_dir, name=certification_pack.NAME, fmt=args.format)
    return 0 if report.passed else 1


def run_checklist(args: argparse.Namespace) -> int:
    stamp = stamp_from_args(args)
    binding = _binding(stamp)
    evidence: dict[str, LoadedArtifact] = {}
    for value in args.evidence:
        name, path = parse_name_path(value, flag="--evidence")
        if name not in pre_release_checklist.EVIDENCE_NAMES:
            raise UsageError(f"--evidence: unknown evidence {name!r}; known: "
                             f"{', '.join(pre_release_checklist.EVIDENCE_NAMES)}")
        if name in evidence:
            raise UsageError(f"--evidence {name!r} given twice")
        evidence[name] = load_artifact(name, path, required=True, binding=binding)
    release_checks = evidence.get("release_checks")
    # Names the evidence proves (the eight, or the project's dpone_release_checks ini).
    known = set(pre_release_checklist.release_check_tallies(release_checks))
    asserted: dict[str, tuple[str, bool]] = {}
    for value in args.check:
        name, sep, raw = value.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--check expects name=value, got {value!r}")
        if name not in known:
            pre_release_checklist.check_name(name, flag="--check")
        if name in asserted:
            raise UsageError(f"--check {name!r} given twice")
        asserted[name] = (raw.strip(), pre_release_checklist.parse_check_value(name, raw))
    artifacts: dict[str, LoadedArtifact] = {}
    for value in args.check_artifact:
        name, path = parse_name_path(value, flag="--check-artifact")
        if name not in known:
            pre_release_checklist.check_name(name, flag="--check-artifact")
        if name in artifacts:
            raise UsageError(f"--check-artifact {name!r} given twice")
        artifacts[name] = load_artifact(name, path, required=True, binding=binding)
    answers: dict[str, pre_release_checklist.Answer] = {}
    for name in sorted(set(asserted) | set(artifacts)):
        raw, flag = asserted.get(name, (None, None))
        answers[name] = pre_release_checklist.Answer(
            source="evidence" if name in artifacts else "asserted",
            value=raw, asserted=flag, artifact=artifacts.get(name))
    report = pre_release_checklist.evaluate(
        args.release_type, answers, stamp=stamp, release_checks=release_checks,
        require_evidence=args.require_evidence)
    emit_report(report=report, markdown=pre_release_checklist.render_markdown(report),
                output_dir=args.output_dir, name=pre_release_checklist.NAME, fmt=args.format)
    return 0 if report.passed else 1
