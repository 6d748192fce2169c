"""Generate ``docs/artifacts/<kind>.md`` from the models, the committed schemas and examples.

Run ``python docs/gen_artifacts.py`` after adding or changing an artifact model (and after
``dpone ops schema --write-dir dpone_ops/schemas``); ``--check`` exits 1 and names every
page that is stale, missing its example, or missing from the table of producers below.
``tests/test_docs_coverage.py`` runs the check, so drift fails the build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ARTIFACT_DIR = DOCS / "artifacts"
EXAMPLE_DIR = ARTIFACT_DIR / "examples"
MKDOCS_YML = DOCS.parent / "mkdocs.yml"
NAV_BEGIN = "    # BEGIN generated artifact pages (python docs/gen_artifacts.py)"
NAV_END = "    # END generated artifact pages"

# kind -> (file it is written to, what writes it, the page that documents the writer).
PRODUCERS: dict[str, tuple[str, str, str]] = {
    "service_markers": ("service_markers.json", "the pytest plugin", "../plugin.md"),
    "state_evidence": ("state_evidence.json", "the pytest plugin", "../plugin.md"),
    "reconciliation_evidence": ("reconciliation_evidence.json", "the pytest plugin",
                                "../plugin.md"),
    "performance_metrics": ("performance_metrics.json", "the pytest plugin", "../plugin.md"),
    "certification_report": ("certification_report.json", "the pytest plugin", "../plugin.md"),
    "run_manifest": ("run_manifest.json", "the pytest plugin", "../plugin.md"),
    "release_checks": ("release_checks.json", "the pytest plugin", "../plugin.md"),
    "certification_run": ("certification_run.json", "dpone ops certify",
                          "../commands/certify.md"),
    "evidence_merge": ("merge_evidence.json", "dpone ops merge-evidence",
                       "../commands/merge-evidence.md"),
    "evidence_recovery": ("recover_evidence.json", "dpone ops recover-evidence",
                          "../commands/recover-evidence.md"),
    "live_certification_plan": ("live_certification_plan.json",
                                "dpone ops live-certification-plan",
                                "../commands/live-certification-plan.md"),
    "performance_certification": ("performance_certification.json",
                                  "dpone ops performance-certification",
                                  "../commands/performance-certification.md"),
    "live_state_reconciliation": ("live_state_reconciliation.json",
                                  "dpone ops live-state-reconciliation",
                                  "../commands/live-state-reconciliation.md"),
    "connector_certification_pack": ("connector_certification_pack.json",
                                     "dpone ops certification-pack",
                                     "../commands/certification-pack.md"),
    "pre_release_checklist": ("pre_release_checklist.json", "dpone ops pre-release-checklist",
                              "../commands/pre-release-checklist.md"),
    "evidence_chain_index": ("evidence_chain_index.json", "dpone ops evidence-chain",
                             "../commands/evidence-chain.md"),
    "evidence_chain_verification": ("evidence_chain_verification.json",
                                    "dpone ops evidence-chain-verify",
                                    "../commands/evidence-chain-verify.md"),
    "release_evidence_pack": ("release_evidence_pack.json", "dpone ops release-evidence-pack",
                              "../commands/release-evidence-pack.md"),
    "artifact_validation": ("artifact_validation.json", "dpone ops validate-artifact",
                            "../commands/validate-artifact.md"),
    "benchmark_slo_gate": ("benchmark_slo_gate.json", "dpone ops benchmark-slo-gate",
                           "../commands/benchmark-slo-gate.md"),
    "benchmark_baseline": ("the baseline file given to --baseline",
                           "dpone ops benchmark-baseline update",
                           "../commands/benchmark-baseline.md"),
    "package_check": ("package_check.json", "dpone ops package-check",
                      "../commands/package-check.md"),
    "docs_check": ("docs_check.json", "dpone docs check-docs", "../commands/check-docs.md"),
}


def _type(schema: dict[str, Any]) -> str:
    """A short, readable type for one JSON Schema fragment."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " or ".join(json.dumps(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " or ".join(_type(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"dict[str, {_type(extra)}]" if isinstance(extra, dict) else "object"
    names = {"string": "str", "integer": "int", "number": "float", "boolean": "bool",
             "null": "null"}
    return names.get(str(kind), "any") if kind else "any"


def _constraints(schema: dict[str, Any]) -> str:
    parts = []
    if "pattern" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    for key, label in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
                       ("maxLength", "max length")):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    for option in schema.get("anyOf", []):
        sub = _constraints(option)
        if sub:
            parts.append(sub)
    if "default" in schema:
        parts.append(f"default `{json.dumps(schema['default'])}`")
    return "; ".join(parts)


def _fields_table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| field | type | required | constraints |", "|---|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        rows.append(f"| `{name}` | `{_type(prop)}` | {'yes' if name in required else 'no'} | "
                    f"{_constraints(prop)} |")
    return rows


def render_page(kind: str, schema_text: str, example: str | None) -> str:
    from dpone_ops.models import KINDS

    model = KINDS[kind]
    schema = json.loads(schema_text)
    file_name, writer, link = PRODUCERS.get(kind, ("", "", ""))
    doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
    lines = [
        f"# `{kind}`",
        "",
        "<!-- Generated by docs/gen_artifacts.py from the model, its committed JSON Schema "
        "and docs/artifacts/examples; edit those, then re-run the script. -->",
        "",
        doc,
        "",
        f"* Schema version: `dpone.{kind}.v1` "
        f"(file `dpone_ops/schemas/dpone.{kind}.v1.schema.json`, or `dpone ops schema {kind}`)",
        f"* Model: `{model.__module__}.{model.__qualname__}`",
    ]
    if writer:
        lines.append(f"* Written as `{file_name}` by [{writer}]({link})"
                     if file_name.endswith(".json") else f"* Written to {file_name} by "
                     f"[{writer}]({link})")
    lines += [
        "* Every artifact carries the [common header](index.md#the-common-header) and is read "
        "[fail-closed](../security.md#reading-is-fail-closed).",
        "",
        "## Fields",
        "",
        *_fields_table(schema),
    ]
    for name, definition in schema.get("$defs", {}).items():
        if definition.get("type") == "object" and "properties" in definition:
            lines += ["", f"### {name}", ""]
            summary = (definition.get("description") or "").strip().splitlines()
            if summary:
                lines += [summary[0], ""]
            lines += _fields_table(definition)
    lines += ["", "## Example", ""]
    if example is not None:
        lines += ["```json", example.rstrip("\n"), "```"]
    else:
        lines += [f"No example yet: add `docs/artifacts/examples/{kind}.json` (a real output of "
                  "its producer) and re-run `python docs/gen_artifacts.py`."]
    lines += ["", "## JSON Schema", "", "```json", schema_text.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def render_index(kinds: list[str]) -> str:
    lines = [
        "# Artifacts",
        "",
        "<!-- Generated by docs/gen_artifacts.py; edit the script, then re-run it. -->",
        "",
        "Every file pytest-dpone writes is a JSON artifact of one *kind*, with a pydantic model "
        "that is at once its schema, its validator and its serializer. The JSON Schemas are "
        "committed in `dpone_ops/schemas/` and printed by `dpone ops schema KIND`.",
        "",
        "## The common header",
        "",
        "| field | type | meaning |",
        "|---|---|---|",
        "| `schema_version` | str | `dpone.<kind>.v1` |",
        "| `kind` | str | the artifact kind, e.g. `service_markers` |",
        "| `producer` | object | `{name, version}` of the package that wrote it |",
        "| `release` | str or null | release label, e.g. `v0.7.1` |",
        "| `profile` | str or null | certification profile: `local_live`, `real_local`, "
        "`vendor_live` |",
        "| `commit_sha` | str or null | 40 or 64 lowercase hex: the option, else "
        "`git rev-parse HEAD`, else the CI environment |",
        "| `generated_at` | str | ISO-8601 UTC; `SOURCE_DATE_EPOCH` when set, so rebuilds are "
        "byte-identical |",
        "| `passed` | bool | the verdict of this artifact |",
        "| `evidence_status` | str | `PASS` (passed and complete), `FAIL`, or `UNVERIFIED` "
        "(incomplete or nothing executed) |",
        "| `blockers` | list[str] | sorted, unique, stable codes `<subject>.<reason>`; empty "
        "if and only if passed |",
        "| `summary` | str | one human line |",
        "",
        "Files are written atomically (temporary file, fsync, rename) as canonical JSON: sorted "
        "keys, 2-space indent, UTF-8, trailing newline, never NaN or Infinity. Every report "
        "command writes `<name>.json` and `<name>.md` side by side.",
        "",
        "## Kinds",
        "",
        "| kind | file | written by |",
        "|---|---|---|",
    ]
    for kind in kinds:
        file_name, writer, link = PRODUCERS.get(kind, ("", "", ""))
        shown = f"`{file_name}`" if file_name.endswith(".json") else file_name
        by = f"[{writer}]({link})" if writer else ""
        lines.append(f"| [`{kind}`]({kind}.md) | {shown} | {by} |")
    lines.append("")
    return "\n".join(lines)


def expected_files() -> dict[Path, str]:
    """Every generated file and the text it must have."""
    from dpone_ops.models import KINDS
    from dpone_ops.schema_export import rendered_schemas, schema_filename

    schemas = rendered_schemas()
    kinds = sorted(KINDS)
    files = {ARTIFACT_DIR / "index.md": render_index(kinds)}
    for kind in kinds:
        example_path = EXAMPLE_DIR / f"{kind}.json"
        example = example_path.read_text(encoding="utf-8") if example_path.is_file() else None
        files[ARTIFACT_DIR / f"{kind}.md"] = render_page(
            kind, schemas[schema_filename(kind)], example)
    return files


def expected_nav(kinds: list[str]) -> str:
    lines = [NAV_BEGIN, "    - artifacts/index.md"]
    lines += [f"    - {kind}: artifacts/{kind}.md" for kind in kinds]
    return "\n".join([*lines, NAV_END])


def mkdocs_with_nav(text: str, kinds: list[str]) -> str:
    start, end = text.index(NAV_BEGIN), text.index(NAV_END) + len(NAV_END)
    return text[:start] + expected_nav(kinds) + text[end:]


def problems() -> list[str]:
    """What is stale or missing; empty when the generated docs match the code."""
    from dpone_ops.models import KINDS

    found = []
    for path, text in expected_files().items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            found.append(f"{path.relative_to(DOCS.parent)} is stale or missing")
    yml = MKDOCS_YML.read_text(encoding="utf-8")
    if mkdocs_with_nav(yml, sorted(KINDS)) != yml:
        found.append("mkdocs.yml: the generated artifact nav is stale")
    for kind in sorted(KINDS):
        if kind not in PRODUCERS:
            found.append(f"{kind}: add its file and producer to PRODUCERS in docs/gen_artifacts.py")
        if not (EXAMPLE_DIR / f"{kind}.json").is_file():
            found.append(f"{kind}: add docs/artifacts/examples/{kind}.json")
    for stale in sorted(ARTIFACT_DIR.glob("*.md")):
        if stale.stem != "index" and stale.stem not in KINDS:
            found.append(f"{stale.relative_to(DOCS.parent)} documents an unknown kind")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    from dpone_ops.models import KINDS
    from dpone_ops.writing import atomic_write_text

    for path, text in expected_files().items():
        atomic_write_text(path, text)
    atomic_write_text(MKDOCS_YML, mkdocs_with_nav(MKDOCS_YML.read_text(encoding="utf-8"),
                                                  sorted(KINDS)))
    for line in problems():
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
