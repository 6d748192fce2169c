"""``dpone ops certify``: pytest, every gate, the chain and the pack for one project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dpone_ops import certify
from dpone_ops.writing import atomic_write_text, canonical_json, parse_format


def _format(value: str) -> str:
    return "text" if value.strip().lower() == "text" else parse_format(value)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "certify", help="run the whole release gate for a project (SPEC §5.2)",
        description="Run the project's marked tests with the plugin (driven by [tool.dpone] "
        "in its pyproject), then every gate, the evidence chain and the release evidence "
        "pack; print a one-screen verdict. Exit 0 go, 1 no-go, 2 unusable config or project.",
    )
    parser.add_argument("--project", type=Path, default=Path("."), metavar="DIR",
                        help="the project directory holding pyproject.toml (default: .)")
    parser.add_argument("--output-dir", type=Path, default=None, metavar="DIR",
                        help=f"where evidence and reports go (default: "
                        f"<project>/{certify.DEFAULT_OUTPUT})")
    parser.add_argument("--profile", help="overrides [tool.dpone] profile")
    parser.add_argument("--release", help="overrides [tool.dpone] release")
    parser.add_argument("--format", default="text", type=_format,
                        help="what to print: text (the one-screen verdict), json or markdown")
    parser.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                        help="an extra pytest argument (repeatable), e.g. --pytest-arg=-n2")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    target = certify.resolve_target(args.project, output_dir=args.output_dir,
                                    profile=args.profile, release=args.release,
                                    pytest_args=args.pytest_arg)
    # With a machine-readable format stdout carries only the report: pytest goes to stderr.
    sink = sys.stdout if args.format == "text" else sys.stderr
    try:
        result = certify.certify(target, sink=sink)
    except KeyboardInterrupt:
        # Interrupted is not passed; the partial evidence stays for inspection.
        print(f"dpone: certify interrupted; the evidence in {target.output_dir} is incomplete",
              file=sys.stderr)
        return 1
    json_text = canonical_json(result)
    markdown = certify.render_markdown(result)
    atomic_write_text(target.output_dir / f"{certify.NAME}.json", json_text)
    atomic_write_text(target.output_dir / f"{certify.NAME}.md", markdown)
    shown = {"text": certify.render_text(result), "json": json_text}.get(args.format, markdown)
    sys.stdout.write(("\n" if args.format == "text" else "") + shown)
    sys.stdout.flush()
    return 0 if result.passed else 1
