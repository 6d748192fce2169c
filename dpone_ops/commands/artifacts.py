"""``validate-artifact`` and ``schema``: the contracts, exposed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dpone_ops.artifact_validation import Binding, load_artifact
from dpone_ops.commands.common import (
    add_binding_args,
    add_output_args,
    parse_name_path,
    stamp_from_args,
)
from dpone_ops.errors import UsageError
from dpone_ops.models import KINDS
from dpone_ops.models.pack import ArtifactValidation
from dpone_ops.schema_export import rendered_schemas, schema_filename
from dpone_ops.writing import (
    atomic_write_text,
    emit_report,
    md_blockers,
    md_bool,
    md_document,
    md_escape,
    md_table,
)


def register(commands: Any) -> None:
    validate = commands.add_parser(
        "validate-artifact",
        help="validate artifacts fail-closed (SPEC §3.3)",
        description="Validate each name=path artifact: strict JSON, its kind's model, "
        "the fail-closed rule for generic artifacts, and release/commit/profile binding.",
    )
    validate.add_argument("artifacts", nargs="+", metavar="name=path")
    add_binding_args(validate)
    add_output_args(validate)
    validate.set_defaults(handler=run_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of an artifact kind")
    schema.add_argument("kind", nargs="?", help="an artifact kind; omit to list the kinds")
    schema.add_argument(
        "--write-dir", help="write every kind's schema into this directory instead"
    )
    schema.set_defaults(handler=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    stamp = stamp_from_args(args, resolve_commit=False)
    binding = Binding(release=stamp.release, commit_sha=stamp.commit_sha, profile=stamp.profile)
    seen: set[str] = set()
    statuses = []
    for value in args.artifacts:
        name, path = parse_name_path(value, flag="validate-artifact")
        if name in seen:
            raise UsageError(f"validate-artifact: {name!r} given twice")
        seen.add(name)
        statuses.append(load_artifact(name, path, required=True, binding=binding).status)
    blockers = [code for s in statuses for code in s.blockers]
    red = sum(not s.passed for s in statuses)
    report = ArtifactValidation.build(
        stamp,
        blockers=blockers,
        summary=f"{len(statuses) - red} of {len(statuses)} artifacts valid and passed",
        artifacts=statuses,
    )
    markdown = md_document(
        "Artifact validation",
        [
            [f"- passed: {md_bool(report.passed)}", f"- summary: {md_escape(report.summary)}"],
            md_table(
                ["artifact", "passed", "kind", "sha256", "summary", "path"],
                [
                    [s.name, md_bool(s.passed), s.kind or "", s.sha256 or "", s.summary, s.path]
                    for s in statuses
                ],
            ),
            md_blockers(report.blockers),
        ],
    )
    emit_report(report=report, markdown=markdown, output_dir=args.output_dir,
                name="artifact_validation", fmt=args.format)
    return 0 if report.passed else 1


def run_schema(args: argparse.Namespace) -> int:
    schemas = rendered_schemas()
    if args.write_dir:
        from pathlib import Path

        for filename, text in schemas.items():
            atomic_write_text(Path(args.write_dir) / filename, text)
        return 0
    if args.kind is None:
        sys.stdout.write("".join(f"{kind}\n" for kind in sorted(KINDS)))
        return 0
    if args.kind not in KINDS:
        raise UsageError(f"schema: unknown kind {args.kind!r}; known: {', '.join(sorted(KINDS))}")
    sys.stdout.write(schemas[schema_filename(args.kind)])
    return 0
