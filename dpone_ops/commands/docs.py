"""``dpone docs check-docs``: the documentation gate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dpone_ops import docs_check
from dpone_ops.commands.common import add_binding_args, stamp_from_args
from dpone_ops.errors import InputError
from dpone_ops.models.base import Stamp
from dpone_ops.models.docs import DocsCheck, DocsFinding
from dpone_ops.writing import (
    canonical_json,
    emit_report,
    md_blockers,
    md_bool,
    md_document,
    md_escape,
    md_table,
    parse_format,
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "check-docs",
        help="check that the docs' blocks parse and their links and commands resolve",
        description="Check every Markdown page under --docs-dir: fenced YAML/JSON/TOML "
        "blocks parse, artifact examples validate, internal links and anchors resolve, "
        "every `dpone ...` command shown parses, and the command reference pages match "
        "the parser. Exit 0 clean, 1 findings, 2 unusable input.",
    )
    parser.add_argument("--docs-dir", default=Path("docs"), type=Path,
                        help="the documentation directory (default: docs)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="also write docs_check.json and docs_check.md here")
    parser.add_argument("--format", default="markdown", type=parse_format,
                        help="what to print on stdout: markdown (default) or json (alias md)")
    add_binding_args(parser)
    parser.set_defaults(handler=run)


def evaluate(report: docs_check.DocsReport, *, docs_dir: str, stamp: Stamp) -> DocsCheck:
    """Turn the findings into the artifact.

    1. No pages at all is ``docs.empty`` (nothing checked never passes).
    2. Each rule with a finding contributes its blocker (``docs.broken_link``, ...).
    """
    blockers = {docs_check.RULE_BLOCKERS[f.rule] for f in report.findings}
    if report.files_checked == 0:
        blockers.add("docs.empty")
    count = len(report.findings)
    summary = (
        f"{report.files_checked} pages checked, no findings"
        if not blockers
        else f"{report.files_checked} pages checked, {count} finding(s)"
    )
    return DocsCheck.build(
        stamp,
        blockers=blockers,
        summary=summary,
        docs_dir=docs_dir,
        files_checked=report.files_checked,
        findings=[DocsFinding(path=f.path, line=f.line, rule=f.rule,  # type: ignore[arg-type]
                              message=f.message) for f in report.findings],
    )


def render_markdown(check: DocsCheck) -> str:
    rows = [[f"{f.path}:{f.line}", f.rule, f.message] for f in check.findings]
    return md_document(
        "Documentation check",
        [
            [f"- docs: {md_escape(check.docs_dir)}", f"- passed: {md_bool(check.passed)}",
             f"- summary: {md_escape(check.summary)}"],
            ["## Findings", "", *(md_table(["where", "rule", "finding"], rows) if rows
                                  else ["- none"])],
            md_blockers(check.blockers),
        ],
    )


def run(args: argparse.Namespace) -> int:
    docs_dir: Path = args.docs_dir
    if not docs_dir.is_dir():
        raise InputError(f"check-docs: {docs_dir} is not a directory")
    from dpone_ops.cli import build_parser
    from dpone_ops.models import KINDS

    pages, others = docs_check.read_docs(docs_dir)
    report = docs_check.check_pages(pages, parser=build_parser(), kinds=KINDS,
                                    other_files=others)
    check = evaluate(report, docs_dir=str(docs_dir), stamp=stamp_from_args(args))
    markdown = render_markdown(check)
    if args.output_dir is not None:
        emit_report(report=check, markdown=markdown, output_dir=args.output_dir,
                    name="docs_check", fmt=args.format)
    else:
        sys.stdout.write(canonical_json(check) if args.format == "json" else markdown)
    # One finding per line on stderr, so CI logs point straight at file:line.
    for finding in report.findings:
        print(f"{docs_dir / finding.path}:{finding.line}: [{finding.rule}] {finding.message}",
              file=sys.stderr)
    return 0 if check.passed else 1
