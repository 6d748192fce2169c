"""``benchmark-slo-gate``, ``benchmark-baseline update`` and ``package-check``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dpone_ops import baseline as ratchet
from dpone_ops import benchmark_slo_gate as slo
from dpone_ops import package_check
from dpone_ops.artifact_validation import Binding, load_artifact, read_file
from dpone_ops.commands.common import (
    add_binding_args,
    add_output_args,
    parse_inline_json_object,
    stamp_from_args,
)
from dpone_ops.errors import InputError, UsageError
from dpone_ops.metrics import DEFAULT_MAX_REGRESSION, Direction, current_machine
from dpone_ops.models.baseline import BenchmarkBaseline
from dpone_ops.models.gates import MetricsSource
from dpone_ops.models.release_gates import BaselineUsed
from dpone_ops.performance_certification import Measured, parse_metric_values, read_metrics_file
from dpone_ops.writing import emit_report, write_json

BASELINE_SLOT = "benchmark_baseline"


def register(commands: Any) -> None:
    gate = commands.add_parser(
        "benchmark-slo-gate",
        help="judge metrics against a reviewed baseline and SLO objectives",
        description="Compare measured metrics with a baseline (throughput higher is better; "
        "duration, memory and failure rate lower is better) and with SLO objectives. "
        "A missing metric never passes. Exit 0 passed, 1 not passed, 2 unusable input.",
    )
    _add_metrics_args(gate)
    source = gate.add_mutually_exclusive_group()
    source.add_argument("--baseline", type=Path, metavar="FILE",
                        help="a benchmark_baseline file (see benchmark-baseline update)")
    source.add_argument("--baseline-json", metavar="JSON",
                        help='inline baseline values, e.g. {"duration_seconds": 60}')
    gate.add_argument("--objectives-json", metavar="JSON",
                      help='SLO objectives, e.g. {"failure_rate": {"max": 0}}')
    gate.add_argument("--allowed-regression-ratio", type=slo.parse_ratio,
                      default=DEFAULT_MAX_REGRESSION, metavar="R",
                      help="how much worse than baseline is tolerated (default 0.10)")
    _add_direction_arg(gate)
    add_binding_args(gate)
    add_output_args(gate)
    gate.set_defaults(handler=run_gate)

    group = commands.add_parser(
        "benchmark-baseline", help="maintain the benchmark baseline (a ratchet)",
        description="Maintain the benchmark baseline file and its history.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    upd = actions.add_parser(
        "update",
        help="record new baseline values; loosening any metric needs --reason",
        description="Write the measured metrics as the new baseline and append a history "
        "entry (values, commit, date, reason). Lower throughput or higher duration, memory "
        "or failure rate, a dropped metric, or a changed metric of unknown direction is "
        "refused (exit 1, file untouched) unless --reason explains the reviewed change.",
    )
    _add_metrics_args(upd)
    upd.add_argument("--baseline", type=Path, required=True, metavar="FILE",
                     help="the baseline file to create or update")
    upd.add_argument("--reason", help="why this update is accepted (required to loosen)")
    upd.add_argument("--row-count", type=_positive_int, metavar="N",
                     help="rows per run the metrics were measured at (kept when omitted)")
    _add_direction_arg(upd)
    add_binding_args(upd)
    upd.set_defaults(handler=run_baseline_update)

    pkg = commands.add_parser(
        "package-check",
        help="build, twine check, fresh-venv install smoke and unpublished-version check",
        description="Build sdist and wheel with `python -m build`, run `twine check --strict`, "
        "install the wheel into a fresh venv and smoke-run `dpone --help`, `dpone ops --help` "
        "and `pytest --markers`, compare the wheel's version with --release and ask the "
        "index whether that version is already published. An unreachable index is the "
        "warning package.index_unreachable (a blocker with --require-index), never a pass.",
    )
    add_binding_args(pkg, release_required=True)
    pkg.add_argument("--project-dir", type=Path, default=Path("."),
                     help="the project to build (default: current directory)")
    pkg.add_argument("--dist-dir", type=Path, help="also keep the built files here")
    pkg.add_argument("--index-url", default=package_check.DEFAULT_INDEX_URL,
                     help="the index the release is published to (default: PyPI)")
    pkg.add_argument("--require-index", action="store_true",
                     help="an unreachable index blocks instead of warning")
    pkg.add_argument("--no-build-isolation", action="store_true",
                     help="build with the installed backend (python -m build --no-isolation)")
    pkg.add_argument("--wheelhouse", type=Path,
                     help="install dependencies only from this directory (offline)")
    add_output_args(pkg)
    pkg.set_defaults(handler=run_package_check)


def _add_metrics_args(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--metrics-file", type=Path, metavar="FILE",
                        help="performance_metrics.json or pytest-benchmark JSON")
    source.add_argument("--metrics-json", metavar="JSON",
                        help='inline metrics, e.g. {"throughput_rows_per_second": 1200}')


def _add_direction_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--direction", action="append", default=[], metavar="METRIC=higher|lower",
                        help="which way is better for a metric the built-in table does not know")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"--row-count must be a positive integer, got {value!r}") from None
    if number < 1:
        raise UsageError(f"--row-count must be a positive integer, got {value!r}")
    return number


def _directions(values: list[str]) -> dict[str, Direction]:
    result: dict[str, Direction] = {}
    for value in values:
        metric, _, way = value.partition("=")
        if not metric.strip() or way not in ("higher", "lower"):
            raise UsageError(f"--direction expects METRIC=higher|lower, got {value!r}")
        result[metric.strip()] = "higher" if way == "higher" else "lower"
    return result


def _metrics(args: argparse.Namespace, binding: Binding) -> tuple[Measured, list[str]]:
    """The measured values and the blockers from reading them (the file's own status)."""
    if args.metrics_json is not None:
        data = parse_inline_json_object(args.metrics_json, flag="--metrics-json") or {}
        source = MetricsSource(kind="inline", path=None, sha256=None)
        return Measured(parse_metric_values(data, flag="--metrics-json"), source, None), []
    measured = read_metrics_file(args.metrics_file, binding=binding)
    status = measured.artifact.status if measured.artifact is not None else None
    return measured, list(status.blockers) if status is not None else []


def _gate_baseline(args: argparse.Namespace) -> tuple[slo.BaselineInput | None, list[str]]:
    if args.baseline_json is not None:
        data = parse_inline_json_object(args.baseline_json, flag="--baseline-json") or {}
        used = BaselineUsed(source="inline", path=None, sha256=None, entry_index=None,
                            recorded_at=None, commit_sha=None, reason=None)
        return slo.BaselineInput(parse_metric_values(data, flag="--baseline-json"), used), []
    if args.baseline is None:
        return None, []
    loaded = load_artifact(BASELINE_SLOT, args.baseline, required=True,
                           expected_kind=BenchmarkBaseline.KIND)
    status = loaded.status
    if isinstance(loaded.model, BenchmarkBaseline) and status.passed:
        used = ratchet.entry_used(loaded.model, path=str(args.baseline), sha256=status.sha256)
        return slo.BaselineInput(dict(loaded.model.metrics), used, loaded.model.history), []
    # An unusable baseline compares nothing and says why; it never passes.
    used = BaselineUsed(source="file", path=str(args.baseline), sha256=status.sha256,
                        entry_index=None, recorded_at=None, commit_sha=None, reason=None)
    return slo.BaselineInput({}, used), list(status.blockers)


def run_gate(args: argparse.Namespace) -> int:
    objectives = slo.parse_objectives(
        parse_inline_json_object(args.objectives_json, flag="--objectives-json"))
    if args.baseline is None and args.baseline_json is None and not objectives:
        raise UsageError("benchmark-slo-gate: give --baseline or --baseline-json and/or "
                         "--objectives-json; a gate without thresholds judges nothing")
    stamp = stamp_from_args(args)
    measured, read_blockers = _metrics(args, Binding(stamp.release, stamp.commit_sha,
                                                     stamp.profile))
    baseline, baseline_blockers = _gate_baseline(args)
    policy = slo.GatePolicy(baseline=baseline, objectives=objectives,
                            allowed_regression_ratio=args.allowed_regression_ratio,
                            directions=_directions(args.direction))
    report = slo.evaluate(measured.metrics, policy, stamp=stamp, metrics_source=measured.source,
                          input_blockers=[*read_blockers, *baseline_blockers])
    emit_report(report=report, markdown=slo.render_markdown(report),
                output_dir=args.output_dir, name=slo.REPORT_NAME, fmt=args.format)
    return 0 if report.passed else 1


def _current_baseline(path: Path) -> BenchmarkBaseline | None:
    if not read_file(path).exists:
        return None
    loaded = load_artifact(BASELINE_SLOT, path, required=True,
                           expected_kind=BenchmarkBaseline.KIND)
    if not isinstance(loaded.model, BenchmarkBaseline) or not loaded.status.passed:
        raise InputError(f"--baseline {path}: {loaded.status.summary}")
    return loaded.model


def run_baseline_update(args: argparse.Namespace) -> int:
    stamp = stamp_from_args(args)
    measured, read_blockers = _metrics(args, Binding(stamp.release, stamp.commit_sha,
                                                     stamp.profile))
    if read_blockers:
        summary = measured.artifact.status.summary if measured.artifact else ""
        raise InputError(f"--metrics-file {args.metrics_file}: not usable for a baseline "
                         f"({', '.join(read_blockers)}): {summary}")
    current = _current_baseline(args.baseline)
    result = ratchet.update(current, measured.metrics, reason=args.reason, stamp=stamp,
                            machine=measured.machine or current_machine(),
                            directions=_directions(args.direction), row_count=args.row_count)
    if result.refused:
        listed = "; ".join(item.describe() for item in result.loosened)
        print(f"dpone: benchmark-baseline update refused: it loosens {listed}. A baseline is "
              "only loosened by a reviewed update: re-run with --reason explaining why.",
              file=sys.stderr)
        return 1
    if not result.changed or result.baseline is None:
        print(f"{args.baseline}: unchanged (the metrics equal the current baseline)")
        return 0
    write_json(args.baseline, result.baseline)
    print(f"{args.baseline}: {result.baseline.summary}")
    return 0


def run_package_check(args: argparse.Namespace) -> int:
    # Imported here: only this command spawns processes.
    from dpone_ops.package_runner import RunnerOptions
    from dpone_ops.package_runner import run_package_check as run_steps

    if package_check.release_version(args.release) is None:
        raise UsageError(f"--release {args.release!r} is not a version (vX.Y.Z or PEP 440)")
    project = args.project_dir.resolve()
    if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
        raise UsageError(f"--project-dir {args.project_dir}: no pyproject.toml or setup.py")
    if args.wheelhouse is not None and not args.wheelhouse.is_dir():
        raise UsageError(f"--wheelhouse {args.wheelhouse}: not a directory")
    stamp = stamp_from_args(args)
    facts = run_steps(RunnerOptions(
        project_dir=project, index_url=args.index_url,
        build_isolation=not args.no_build_isolation,
        wheelhouse=args.wheelhouse.resolve() if args.wheelhouse else None,
        keep_dist_dir=args.dist_dir,
    ))
    report = package_check.evaluate(facts, release=args.release,
                                    require_index=args.require_index, stamp=stamp)
    emit_report(report=report, markdown=package_check.render_markdown(report),
                output_dir=args.output_dir, name="package_check", fmt=args.format)
    return 0 if report.passed else 1
