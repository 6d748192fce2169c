"""``evidence-chain`` and ``evidence-chain-verify`` (SPEC §5.1)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dpone_ops import evidence_chain as chain
from dpone_ops.commands.common import (
    add_output_args,
    check_name,
    parse_name_paths,
    stamp_from_args,
)
from dpone_ops.errors import InputError, UsageError
from dpone_ops.hashing import hash_files
from dpone_ops.models.base import Stamp
from dpone_ops.models.chain import EvidenceChainIndex, EvidenceChainVerification
from dpone_ops.provenance import now
from dpone_ops.signing import KEY_ENV, resolve_key
from dpone_ops.writing import emit_report, md_blockers, md_bool, md_document, md_escape, md_table

RUNBOOK = [
    "## Runbook",
    "",
    "- `<name>.digest_mismatch`: the artifact changed after it was chained. Never re-chain "
    "an edited artifact to make this pass: regenerate it at its gate, then rebuild the chain.",
    "- `<name>.missing`: the chained file is not where the index says (paths are relative "
    "to the index file); restore the evidence directory layout.",
    "- `chain.hash_mismatch` / `chain.link_broken` / `chain.order_broken` / "
    "`chain.entry_count_mismatch` / `chain.root_mismatch` / `chain.duplicate_name`: the index "
    "itself was edited; rebuild it with `dpone ops evidence-chain` from the artifacts.",
    "- `chain.signature_missing` / `chain.signature_invalid`: the index is unsigned or was "
    f"changed after signing, or the wrong key was used (`{KEY_ENV}`, `--key-file`).",
    "- `chain.release_mismatch`: the index belongs to another release.",
    "- `chain.previous_missing` / `chain.previous_mismatch`: provide the previous release's "
    "index at the recorded path, unchanged.",
]


def register(commands: Any) -> None:
    build = commands.add_parser(
        "evidence-chain",
        help="chain artifacts into a tamper-evident, optionally signed index",
        description="Hash each name=path artifact, link the entries into a hash chain, "
        "compute an RFC 6962 Merkle root and sign the index (HMAC from "
        f"{KEY_ENV} or a key file; Ed25519 with a PEM key).",
    )
    build.add_argument("--release", required=True, help="release label, e.g. v0.7.1")
    build.add_argument("--profile", help="certification profile")
    build.add_argument("--commit-sha", help="commit (default: git rev-parse HEAD, else CI env)")
    build.add_argument("--artifact", action="append", required=True, metavar="name=path",
                       help="an artifact to chain (repeatable; chained in the given order)")
    build.add_argument("--previous", type=Path, metavar="INDEX",
                       help="the previous release's evidence_chain_index.json to link to")
    build.add_argument("--signing-key-file", type=Path, metavar="F",
                       help=f"HMAC secret or Ed25519 PEM private key (default: {KEY_ENV})")
    build.add_argument("--workers", type=int, help="hashing threads (default: CPU count)")
    add_output_args(build)
    build.set_defaults(handler=run_build)

    verify = commands.add_parser(
        "evidence-chain-verify",
        help="recompute every digest, link, the Merkle root and the signature",
        description="Verify an evidence chain index and report every problem. Exit 0 "
        "verified, 1 broken, 2 unusable input.",
    )
    verify.add_argument("--index", type=Path, required=True, metavar="F",
                        help="the evidence_chain_index.json to verify")
    verify.add_argument("--release", help="the release the index must belong to")
    verify.add_argument("--key-file", "--key", type=Path, metavar="F",
                        help=f"HMAC secret or Ed25519 PEM public key (default: {KEY_ENV})")
    verify.add_argument("--prove", metavar="NAME",
                        help="print and check the Merkle inclusion proof of this artifact")
    verify.add_argument("--root", type=Path, metavar="DIR",
                        help="refuse entries whose files resolve outside this directory")
    verify.add_argument("--workers", type=int, help="hashing threads (default: CPU count)")
    add_output_args(verify)
    verify.set_defaults(handler=run_verify)


def _workers(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise UsageError(f"--workers must be at least 1, got {value}")
    return value


def run_build(args: argparse.Namespace) -> int:
    stamp = stamp_from_args(args)
    workers = _workers(args.workers)
    artifacts = parse_name_paths(args.artifact)
    key = resolve_key(args.signing_key_file, flag="--signing-key-file")
    output_dir: Path = args.output_dir
    previous = None
    if args.previous is not None:
        previous = chain.previous_reference(args.previous, index_dir=output_dir)
    digests = hash_files(list(artifacts.values()), workers=workers)
    problems = [f"{name}={d.path}: {d.problem}"
                for name, d in zip(artifacts, digests, strict=True) if not d.ok]
    if problems:
        raise InputError("evidence-chain: cannot hash " + "; ".join(problems))
    members = [
        chain.Member(name=name, path=chain.relative_posix(path, output_dir, flag="--artifact"),
                     sha256=d.sha256 or "", size_bytes=d.size_bytes or 0)
        for (name, path), d in zip(artifacts.items(), digests, strict=True)
    ]
    index = chain.build_index(members, stamp=stamp, previous=previous, key=key)
    emit_report(report=index, markdown=render_index(index), output_dir=output_dir,
                name=chain.INDEX_FILENAME.removesuffix(".json"), fmt=args.format)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    workers = _workers(args.workers)
    if args.prove is not None:
        check_name(args.prove, flag="--prove")
    key = resolve_key(args.key_file, flag="--key-file")
    index, data, digest = chain.read_index(args.index)
    seen = chain.observe(index, index_path=args.index, index_sha256=digest, index_data=data,
                         root=args.root, workers=workers)
    stamp = Stamp(release=args.release or index.release, profile=index.profile,
                  commit_sha=index.commit_sha, generated_at=now())
    report = chain.verify_chain(index, seen, stamp=stamp, expected_release=args.release,
                                key=key, prove=args.prove)
    emit_report(report=report, markdown=render_verification(report), output_dir=args.output_dir,
                name=chain.VERIFICATION_NAME, fmt=args.format)
    return 0 if report.passed else 1


def render_index(index: EvidenceChainIndex) -> str:
    sig = index.signature
    head = [
        f"- release: {md_escape(index.release)}",
        f"- commit: {md_escape(index.commit_sha or 'unknown')}",
        f"- entries: {index.entry_count}",
        f"- latest chain hash: {md_escape(index.latest_chain_hash or 'none')}",
        f"- Merkle root (RFC 6962): {md_escape(index.root)}",
        "- signature: " + (f"{md_escape(sig.algorithm)} by key {md_escape(sig.key_id)}"
                           if sig else "unsigned"),
        "- previous index: " + (f"{md_escape(index.previous.path)} "
                                f"({md_escape(index.previous.release)}, head "
                                f"{md_escape(index.previous.latest_chain_hash)})"
                                if index.previous else "none"),
    ]
    table = md_table(
        ["#", "artifact", "sha256", "bytes", "chain hash", "path"],
        [[e.index, e.name, e.sha256, e.size_bytes, e.chain_hash, e.path] for e in index.entries],
    )
    return md_document("Evidence chain index", [head, table])


def render_verification(report: EvidenceChainVerification) -> str:
    sig = report.signature
    head = [
        f"- verified: {md_bool(report.verified)}",
        f"- index: {md_escape(report.index_path)} (sha256 {md_escape(report.index_sha256)})",
        f"- release: {md_escape(report.release)}",
        f"- entries: {report.actual_entry_count} (recorded {report.entry_count})",
        f"- Merkle root: recorded {md_escape(report.recorded_root)}, "
        f"computed {md_escape(report.computed_root)}",
        "- signature: " + ("absent" if not sig.present else
                           f"{md_escape(sig.algorithm)} by key {md_escape(sig.key_id)}")
        + ", " + ("not checked (no key given)" if sig.verified is None
                  else f"verified: {md_bool(sig.verified)}"),
        f"- summary: {md_escape(report.summary)}",
    ]
    table = md_table(
        ["#", "artifact", "passed", "expected sha256", "actual sha256", "problems", "path"],
        [[e.index, e.name, md_bool(e.passed), e.expected_sha256, e.actual_sha256 or "",
          ", ".join(e.blockers), e.path] for e in report.entries],
    )
    findings = ["## Findings", ""] + (
        [f"- `{f.code}`: {md_escape(f.message)}" for f in report.findings] or ["- none"]
    )
    sections: list[list[str]] = [head, table, findings]
    if report.proof is not None:
        p = report.proof
        sections.append([
            "## Inclusion proof", "",
            f"- artifact: {md_escape(p.name)} (sha256 {md_escape(p.sha256)})",
            f"- leaf index: {p.leaf_index} of {p.tree_size}",
            f"- leaf hash: {md_escape(p.leaf_hash)}",
            f"- root: {md_escape(p.root)}",
            f"- verified: {md_bool(p.verified)}",
            "- audit path:",
            *[f"  {n}. {md_escape(h)}" for n, h in enumerate(p.audit_path, 1)],
        ])
    sections += [md_blockers(report.blockers), RUNBOOK]
    return md_document("Evidence chain verification", sections)
