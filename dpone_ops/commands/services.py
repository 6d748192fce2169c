"""``compose-check``: the disposable-services compose file, validated offline."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from dpone_ops.compose_check import evaluate, find_compose_schema, load_document, load_schema
from dpone_ops.errors import InputError

DEFAULT_COMPOSE_FILE = Path("docker/docker-compose.integration.yml")


def register(commands: Any) -> None:
    check = commands.add_parser(
        "compose-check",
        help="validate the integration compose file offline",
        description="Check a compose file against the disposable-services contract (services, "
        "images, healthchecks, overridable ports, healthy dependencies) and, when available, "
        "the Compose JSON Schema. Exit 0 valid, 1 findings, 2 unreadable input.",
    )
    check.add_argument("file", nargs="?", type=Path, default=DEFAULT_COMPOSE_FILE,
                       help=f"compose file (default {DEFAULT_COMPOSE_FILE})")
    check.add_argument("--schema", type=Path,
                       help="Compose JSON Schema file (default: DPONE_COMPOSE_SCHEMA, else the "
                       "compose_spec.json shipped by the docker-compose distribution)")
    check.add_argument("--require-schema", action="store_true",
                       help="exit 2 when no Compose JSON Schema can be found")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(handler=run_compose_check)


def run_compose_check(args: argparse.Namespace) -> int:
    schema_path = args.schema or find_compose_schema(os.environ)
    if schema_path is None and args.require_schema:
        raise InputError(
            "compose-check --require-schema: no Compose JSON Schema found; pip install "
            "--no-deps docker-compose==1.29.2 or set DPONE_COMPOSE_SCHEMA"
        )
    schema = load_schema(schema_path) if schema_path is not None else None
    verdict = evaluate(load_document(args.file), environ=os.environ, schema=schema,
                       schema_name=str(schema_path) if schema_path else None)
    if args.format == "json":
        print(json.dumps({
            "file": str(args.file), "passed": verdict.passed, "blockers": verdict.blockers,
            "findings": [{"code": f.code, "message": f.message} for f in verdict.findings],
            "schema": verdict.schema_used, "services": verdict.services,
        }, indent=2, sort_keys=True))
    else:
        schema_line = verdict.schema_used or "none found (structural checks only)"
        print(f"compose-check {args.file}: {'valid' if verdict.passed else 'INVALID'}")
        print(f"schema: {schema_line}")
        for finding in verdict.findings:
            print(f"- {finding.code}: {finding.message}")
    return 0 if verdict.passed else 1
