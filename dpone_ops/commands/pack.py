"""``release-evidence-pack``: the final go/no-go."""

from __future__ import annotations

import argparse
from typing import Any

from dpone_ops import release_evidence_pack as pack
from dpone_ops.artifact_validation import Binding, LoadedArtifact, load_artifact
from dpone_ops.commands.common import (
    add_binding_args,
    add_output_args,
    check_name,
    parse_name_paths,
    stamp_from_args,
)
from dpone_ops.writing import emit_report


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "release-evidence-pack",
        help="judge every release artifact into the final go/no-go pack",
        description="Validate each artifact fail-closed, bind it to the release, commit and "
        "profile, and decide go/no-go. Exit 0 go, 1 no-go, 2 unusable input.",
    )
    add_binding_args(parser, release_required=True)
    parser.set_defaults(profile=None)
    parser.add_argument(
        "--release-type",
        choices=["patch-docs", "patch", "minor", "major"],
        help="what kind of release; decides the required artifacts (default: the six)",
    )
    parser.add_argument(
        "--artifact", action="append", default=[], metavar="name=path",
        help="an artifact to judge (repeatable)",
    )
    parser.add_argument(
        "--require", action="append", default=[], metavar="name",
        help="an extra required artifact (repeatable; adds to the defaults)",
    )
    parser.add_argument(
        "--external-providers-affected", action="store_true",
        help="major releases then also require vendor_live evidence",
    )
    add_output_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.profile:
        from dpone_ops.errors import UsageError

        raise UsageError("release-evidence-pack: --profile is required")
    provided = parse_name_paths(args.artifact)
    extra = [check_name(name.strip(), flag="--require") for name in args.require]
    stamp = stamp_from_args(args)
    policy = pack.PackPolicy(
        release=args.release,
        profile=args.profile,
        release_type=args.release_type,
        extra_required=extra,
        external_providers_affected=args.external_providers_affected,
    )
    required = set(pack.required_artifacts(policy))
    binding = Binding(release=stamp.release, commit_sha=stamp.commit_sha, profile=stamp.profile)
    loaded: dict[str, LoadedArtifact] = {}
    for name, path in provided.items():
        slot_binding = binding
        if name == pack.VENDOR_LIVE_SLOT:
            slot_binding = Binding(binding.release, binding.commit_sha, profile="vendor_live")
        loaded[name] = load_artifact(name, path, required=name in required, binding=slot_binding)
    json_path = args.output_dir / f"{pack.PACK_NAME}.json"
    md_path = args.output_dir / f"{pack.PACK_NAME}.md"
    output = pack.PackOutput(str(args.output_dir), str(json_path), str(md_path))
    report = pack.evaluate(loaded, policy, stamp=stamp, output=output)
    emit_report(report=report, markdown=pack.render_markdown(report),
                output_dir=args.output_dir, name=pack.PACK_NAME, fmt=args.format)
    return 0 if report.passed else 1
