"""``release-evidence-pack``: the final go/no-go."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from dpone_ops import evidence_chain, intoto
from dpone_ops import release_evidence_pack as pack
from dpone_ops.artifact_validation import Binding, LoadedArtifact, load_artifact
from dpone_ops.commands.common import (
    add_binding_args,
    add_output_args,
    check_name,
    parse_name_paths,
    read_name_path_list,
    stamp_from_args,
)
from dpone_ops.errors import InputError
from dpone_ops.models.base import Stamp
from dpone_ops.models.chain import EvidenceChainVerification
from dpone_ops.signing import KEY_ENV, ChainKey, resolve_key
from dpone_ops.writing import atomic_write_bytes, canonical_bytes, emit_report


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
        "--artifact-list", type=Path, metavar="FILE",
        help="a file of name=path lines (paths relative to the file), in addition to "
        "--artifact; for packs of thousands of artifacts",
    )
    parser.add_argument(
        "--require", action="append", default=[], metavar="name",
        help="an extra required artifact (repeatable; adds to the defaults)",
    )
    parser.add_argument(
        "--external-providers-affected", action="store_true",
        help="major releases then also require vendor_live evidence",
    )
    parser.add_argument(
        "--chain-key-file", type=Path, metavar="F",
        help="HMAC secret or Ed25519 PEM public key the evidence chain must be signed with "
        f"(default: {KEY_ENV}; without either, the signature is not required)",
    )
    parser.add_argument(
        "--intoto", type=Path, metavar="OUT",
        help="also write an in-toto Statement v1 over the artifacts' digests to OUT",
    )
    add_output_args(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.profile:
        from dpone_ops.errors import UsageError

        raise UsageError("release-evidence-pack: --profile is required")
    listed = []
    if args.artifact_list is not None:
        listed = read_name_path_list(args.artifact_list, flag="--artifact-list")
    provided = parse_name_paths([*args.artifact, *listed])
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
        result = load_artifact(name, path, required=name in required, binding=slot_binding)
        # Keep the verdict only: the evaluator reads no artifact's content except the
        # checklist's, and keeping every parsed payload would grow memory with the pack.
        loaded[name] = result if name in pack.CONTENT_SLOTS else LoadedArtifact(result.status)
    chain = None
    if pack.CHAIN_SLOT in provided:
        key = resolve_key(args.chain_key_file, flag="--chain-key-file")
        chain = verify_chain_artifact(provided[pack.CHAIN_SLOT], stamp=stamp, key=key)
    json_path = args.output_dir / f"{pack.PACK_NAME}.json"
    md_path = args.output_dir / f"{pack.PACK_NAME}.md"
    output = pack.PackOutput(str(args.output_dir), str(json_path), str(md_path))
    report = pack.evaluate(loaded, policy, stamp=stamp, output=output, chain=chain)
    emit_report(report=report, markdown=pack.render_markdown(report),
                output_dir=args.output_dir, name=pack.PACK_NAME, fmt=args.format)
    if args.intoto is not None:
        digest = hashlib.sha256(canonical_bytes(report)).hexdigest()
        statement = intoto.statement(report, pack_name=json_path.name, pack_sha256=digest)
        atomic_write_bytes(args.intoto, canonical_bytes(statement.to_json_dict()))
    return 0 if report.passed else 1


def verify_chain_artifact(
    index_path: Path, *, stamp: Stamp, key: ChainKey | None
) -> EvidenceChainVerification | None:
    """Verify the chain bound to the pack's release; None when the index is unusable."""
    try:
        index, data, digest = evidence_chain.read_index(index_path)
    except InputError:
        return None  # load_artifact already reports it (missing / invalid)
    seen = evidence_chain.observe(index, index_path=index_path, index_sha256=digest,
                                  index_data=data)
    chain_stamp = Stamp(release=stamp.release, profile=index.profile,
                        commit_sha=index.commit_sha, generated_at=stamp.generated_at)
    return evidence_chain.verify_chain(index, seen, stamp=chain_stamp,
                                       expected_release=stamp.release, key=key)
