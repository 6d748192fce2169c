"""``merge-evidence`` and ``recover-evidence``: evidence dirs assembled from journals.

Both rebuild the artifacts with the plugin's own builders
(:mod:`dpone_ops.evidence_build`) from ``evidence_journal.jsonl`` files, so their output
has exactly the shape a live session writes.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dpone_ops import provenance
from dpone_ops.case_set import CaseSet
from dpone_ops.commands.common import add_output_args
from dpone_ops.errors import InputError, UsageError
from dpone_ops.evidence_build import ARTIFACT_FILES, JOURNAL_FILE, RunRecord
from dpone_ops.evidence_io import Journal, journal_text, read_journal, write_evidence
from dpone_ops.models.base import Artifact, Stamp
from dpone_ops.models.evidence import (
    AssembledArtifact,
    EvidenceMerge,
    EvidenceRecovery,
    ShardSource,
)
from dpone_ops.writing import (
    atomic_write_text,
    emit_report,
    md_blockers,
    md_bool,
    md_document,
    md_escape,
    md_table,
    parse_format,
)


def register(commands: Any) -> None:
    merge = commands.add_parser(
        "merge-evidence",
        help="merge CI shard evidence dirs into one (SPEC §4.6)",
        description="Merge the evidence dirs of a --dpone-shard matrix. Refuses (exit 1, "
        "blockers merge.*) missing, duplicate or foreign-commit shards, shards of a "
        "different collection, and a test reported by two shards with different outcomes; "
        "the merged artifacts are then written incomplete, so they cannot pass.",
    )
    merge.add_argument("--shard", action="append", required=True, type=Path, metavar="DIR",
                       help="a shard's evidence dir (repeat once per shard)")
    merge.add_argument("--expect-shards", required=True, type=int, metavar="N",
                       help="how many shards the matrix ran")
    add_output_args(merge)
    merge.set_defaults(handler=run_merge)

    recover = commands.add_parser(
        "recover-evidence",
        help="rebuild artifacts from the journal of a killed session (SPEC §4.5)",
        description="Rebuild the six artifacts from DIR/evidence_journal.jsonl. A journal "
        "without a footer (hard-killed session) gives complete: false, UNVERIFIED artifacts.",
    )
    recover.add_argument("dir", type=Path, metavar="DIR", help="the evidence dir")
    recover.add_argument("--output-dir", type=Path, default=None,
                         help="where to write (default: DIR itself)")
    recover.add_argument("--format", default="json", type=parse_format,
                         help="what to print on stdout: json or markdown (alias md)")
    recover.set_defaults(handler=run_recover)


def _stamp(run: RunRecord) -> Stamp:
    return Stamp(release=run.release, profile=run.profile, commit_sha=run.commit_sha,
                 generated_at=provenance.now())


def _assembled(artifacts: Mapping[str, Artifact]) -> list[AssembledArtifact]:
    return [
        AssembledArtifact(name=kind, file=ARTIFACT_FILES[kind],
                          evidence_status=model.evidence_status)
        for kind, model in artifacts.items()
    ]


def _journal(directory: Path) -> Journal:
    path = directory / JOURNAL_FILE
    if not path.is_file():
        raise InputError(f"{directory}: no {JOURNAL_FILE}; not a dpone evidence dir")
    return read_journal(path)


def evaluate_merge(
    journals: Sequence[tuple[str, Journal]], expect: int
) -> tuple[list[str], list[str], list[dict[str, Any]], dict[str, Any]]:
    """Steps: 1. every journal is a shard of the same matrix (count, commit, release,
    profile, collection digest); 2. indexes 0..N-1 each exactly once; 3. union the cases,
    a node id reported twice must agree; 4. the merged run facts.

    Returns (blockers, conflicting node ids, merged cases, merged run facts)."""
    blockers: list[str] = []
    runs = [j.run for _, j in journals]
    indexes: dict[int, int] = {}
    for _, journal in journals:
        shard = journal.run.shard
        if shard is None:
            blockers.append("merge.not_a_shard")
            continue
        if shard.count != expect:
            blockers.append("merge.shard_count_mismatch")
        indexes[shard.index] = indexes.get(shard.index, 0) + 1
    if any(n > 1 for n in indexes.values()):
        blockers.append("merge.shard_duplicate")
    if set(range(expect)) - set(indexes):
        blockers.append("merge.shard_missing")
    if len(journals) != expect:
        blockers.append("merge.shard_count_mismatch")
    commits = {r.commit_sha for r in runs}
    if None in commits:
        blockers.append("merge.commit_unknown")
    if len(commits) > 1:
        blockers.append("merge.commit_mismatch")
    for attr in ("release", "profile"):
        if len({getattr(r, attr) for r in runs}) > 1:
            blockers.append(f"merge.{attr}_mismatch")
    digests = {r.collection.collected_digest if r.collection else None for r in runs}
    if None in digests:
        blockers.append("merge.collection_unknown")
    if len(digests) > 1:
        blockers.append("merge.collection_mismatch")
    if not all(j.ended for _, j in journals):
        blockers.append("merge.shard_incomplete")
    merged: dict[str, dict[str, Any]] = {}
    conflicts: set[str] = set()
    for _, journal in journals:
        for case in journal.cases:
            seen = merged.get(case["node_id"])
            if seen is None:
                merged[case["node_id"]] = case
            elif seen["status"] != case["status"]:
                conflicts.add(case["node_id"])
    if conflicts:
        blockers.append("merge.outcome_conflict")
    cases = [merged[k] for k in sorted(merged)]
    first = min(runs, key=lambda r: r.shard.index if r.shard else expect)
    collection = None
    if first.collection is not None:
        selected = sum(r.collection.selected for r in runs if r.collection)
        collected = first.collection.collected_count
        collection = {**first.collection.model_dump(), "collected": collected,
                      "selected": selected, "deselected": max(collected - selected, 0)}
    statuses = [r.exit_status for r in runs]
    nonzero = [s for s in statuses if s != 0]
    facts = {
        **first.model_dump(),
        "shard": None,
        "argv": [],
        "collection": collection,
        "xdist_workers": max(r.xdist_workers for r in runs),
        "started_at": min(r.started_at for r in runs),
        "finished_at": max((r.finished_at or r.started_at) for r in runs),
        "duration_seconds": max(r.duration_seconds for r in runs),
        "exit_status": None if None in statuses else (nonzero[0] if nonzero else 0),
        "interrupted": any(r.interrupted for r in runs),
        "complete": all(r.complete for r in runs) and not blockers,
    }
    return sorted(set(blockers)), sorted(conflicts), cases, facts


def run_merge(args: argparse.Namespace) -> int:
    if args.expect_shards < 1:
        raise UsageError("--expect-shards must be >= 1")
    journals = [(str(d), _journal(d)) for d in args.shard]
    blockers, conflicts, cases, facts = evaluate_merge(journals, args.expect_shards)
    run = RunRecord.model_validate(facts, strict=False)
    out: Path = args.output_dir
    stamp = _stamp(run)
    atomic_write_text(out / JOURNAL_FILE, journal_text(run, cases))
    artifacts = write_evidence(out, CaseSet.of(cases), run, stamp)
    sources = [
        ShardSource(
            dir=name, id=j.run.shard.id if j.run.shard else None,
            index=j.run.shard.index if j.run.shard else None,
            count=j.run.shard.count if j.run.shard else None, commit_sha=j.run.commit_sha,
            collected_digest=j.run.collection.collected_digest if j.run.collection else None,
            cases=len(j.cases), ended=j.ended, complete=j.run.complete,
            exit_status=j.run.exit_status,
        )
        for name, j in journals
    ]
    all_blockers = blockers + [f"{k}.not_passed" for k, m in artifacts.items() if not m.passed]
    report = EvidenceMerge.build(
        stamp,
        blockers=all_blockers,
        summary=f"{len(journals)} of {args.expect_shards} shards merged into {len(cases)} "
        f"cases; {len(blockers)} merge blockers",
        expect_shards=args.expect_shards,
        shards=sources,
        conflicts=conflicts,
        artifacts=_assembled(artifacts),
        output_dir=str(out),
    )
    markdown = md_document("Evidence merge", [
        [f"- passed: {md_bool(report.passed)}", f"- summary: {md_escape(report.summary)}"],
        md_table(["shard", "index", "count", "commit", "cases", "complete", "dir"],
                 [[s.id, s.index, s.count, s.commit_sha, s.cases, md_bool(s.complete), s.dir]
                  for s in sources]),
        md_table(["artifact", "status"], [[a.name, a.evidence_status] for a in report.artifacts]),
        md_blockers(report.blockers),
    ])
    emit_report(report=report, markdown=markdown, output_dir=out, name="merge_evidence",
                fmt=args.format)
    return 0 if report.passed else 1


def run_recover(args: argparse.Namespace) -> int:
    journal = _journal(args.dir)
    out: Path = args.output_dir or args.dir
    stamp = _stamp(journal.run)
    if out.resolve() != args.dir.resolve():
        atomic_write_text(out / JOURNAL_FILE, (args.dir / JOURNAL_FILE).read_text("utf-8"))
    artifacts = write_evidence(out, CaseSet.of(journal.cases), journal.run, stamp)
    blockers = [f"{k}.not_passed" for k, m in artifacts.items() if not m.passed]
    report = EvidenceRecovery.build(
        stamp,
        blockers=blockers,
        complete=journal.ended,
        summary=f"{len(journal.cases)} cases recovered from "
        f"{'an ended' if journal.ended else 'an unfinished'} session",
        journal=str(args.dir / JOURNAL_FILE),
        cases=len(journal.cases),
        session_ended=journal.ended,
        torn_tail=journal.torn_tail,
        artifacts=_assembled(artifacts),
        output_dir=str(out),
    )
    markdown = md_document("Evidence recovery", [
        [f"- passed: {md_bool(report.passed)}", f"- summary: {md_escape(report.summary)}"],
        md_table(["artifact", "status"], [[a.name, a.evidence_status] for a in report.artifacts]),
        md_blockers(report.blockers),
    ])
    emit_report(report=report, markdown=markdown, output_dir=out, name="recover_evidence",
                fmt=args.format)
    return 0 if report.passed else 1
