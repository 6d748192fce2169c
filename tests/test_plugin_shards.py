"""CI shards: deterministic slices, and merge-evidence equal to the unsharded run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dpone_ops.cli import main
from dpone_ops.models.evidence import EvidenceMerge
from pytest_dpone.shards import parse_shard, shard_of
from tests._plugin_support import journal_cases, load_evidence, normalized, run

SUITE = """
import pytest

@pytest.mark.service("postgres")
@pytest.mark.parametrize("n", range(8))
def test_pg(n):
    pass

@pytest.mark.service("kafka")
@pytest.mark.state_backend("kafka", check="kafka_offsets")
def test_offsets(dpone_evidence):
    dpone_evidence.record_state("kafka", "kafka_offsets", 1, 2, True, True)

@pytest.mark.reconciliation("physical_delete")
def test_deletes(dpone_evidence):
    dpone_evidence.record_reconciliation("physical_delete", deleted_at_source=3, deleted_at_sink=3)

@pytest.mark.certification(source="postgres", sink="clickhouse", strategy="append")
def test_cell():
    pass

@pytest.mark.service("minio")
def test_minio_skips():
    pytest.skip("no minio")

def test_fails():
    assert False
"""


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("DPONE_SHARD_ID", raising=False)


@pytest.fixture
def sharded(pytester: pytest.Pytester) -> Path:
    """The suite run unsharded into ``full`` and as 3 shards into ``shard1..3``."""
    pytester.makepyfile(test_suite=SUITE)
    run(pytester, "-p", "no:xdist", evidence="full")
    for i in (1, 2, 3):
        run(pytester, "-p", "no:xdist", f"--dpone-shard={i}/3", evidence=f"shard{i}")
    return pytester.path


def merge(root: Path, *shards: str, expect: int = 3, out: str = "merged") -> int:
    args = ["ops", "merge-evidence", "--expect-shards", str(expect), "--output-dir",
            str(root / out)]
    for shard in shards:
        args += ["--shard", str(root / shard)]
    return main(args)


def merge_report(root: Path, out: str = "merged") -> EvidenceMerge:
    return EvidenceMerge.model_validate_json((root / out / "merge_evidence.json").read_bytes())


def test_shards_partition_the_suite_and_merge_to_the_unsharded_evidence(
    sharded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node_ids = [sorted(c["node_id"] for c in journal_cases(sharded / f"shard{i}"))
                for i in (1, 2, 3)]
    assert all(node_ids), "every shard ran something"
    everything = sorted(c["node_id"] for c in journal_cases(sharded / "full"))
    assert sorted(n for ids in node_ids for n in ids) == everything
    for i, ids in enumerate(node_ids):
        shard = load_evidence(sharded / f"shard{i + 1}")["run_manifest"].shard
        assert shard is not None
        assert (shard.index, shard.count) == (i, 3)
        assert shard.id == f"shard-{i + 1}-of-3"
        assert all(shard_of(n, 3) == i for n in ids)
    # The test suite fails one test, so the merged evidence is red, exactly like the full run.
    assert merge(sharded, "shard1", "shard2", "shard3") == 1
    report = merge_report(sharded)
    assert [b for b in report.blockers if b.startswith("merge.")] == []
    assert normalized(sharded / "merged") == normalized(sharded / "full")
    assert '"evidence_merge"' in capsys.readouterr().out


def _copy_with_journal(source: Path, target: Path, extra: dict[str, Any] | None = None,
                       commit: str | None = None) -> None:
    shutil.copytree(source, target)
    path = target / "evidence_journal.jsonl"
    entries = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    for entry in entries:
        if entry["type"] == "header" and commit is not None:
            entry["run"]["commit_sha"] = commit
    if extra is not None:
        entries.insert(-1, {"type": "case", "case": extra})
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), "utf-8")


def test_merge_refuses_missing_duplicate_foreign_and_conflicting_shards(sharded: Path) -> None:
    _copy_with_journal(sharded / "shard2", sharded / "foreign", commit="f" * 40)
    stolen = journal_cases(sharded / "shard1")[0]
    flipped = {**stolen, "status": "failed" if stolen["status"] != "failed" else "passed"}
    _copy_with_journal(sharded / "shard2", sharded / "liar", extra=flipped)
    cases = {
        "missing": (("shard1", "shard3"), "merge.shard_missing"),
        "duplicate": (("shard1", "shard2", "shard2", "shard3"), "merge.shard_duplicate"),
        "foreign": (("shard1", "foreign", "shard3"), "merge.commit_mismatch"),
        "conflict": (("shard1", "liar", "shard3"), "merge.outcome_conflict"),
    }
    for out, (shards, blocker) in cases.items():
        assert merge(sharded, *shards, out=out) == 1, out
        report = merge_report(sharded, out)
        assert blocker in report.blockers, out
        merged = load_evidence(sharded / out)
        assert all(not m.passed and not m.complete for m in merged.values()), out
    assert merge_report(sharded, "conflict").conflicts == [stolen["node_id"]]


def test_merge_of_a_dir_without_a_journal_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ops", "merge-evidence", "--expect-shards", "1", "--shard", str(tmp_path),
                 "--output-dir", str(tmp_path / "out")]) == 2
    assert "no evidence_journal.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "index", "count"), [("1/3", 0, 3), (" 3 / 3 ", 2, 3),
                                                        ("1/1", 0, 1)])
def test_shard_spec_is_one_based(value: str, index: int, count: int) -> None:
    shard = parse_shard(value, environ={"GITHUB_RUN_ID": "77"})
    assert (shard.index, shard.count) == (index, count)
    assert shard.id == f"77:shard-{index + 1}-of-{count}"
