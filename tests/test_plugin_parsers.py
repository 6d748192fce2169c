"""Parsers of the plugin: shard specs, marker aliases, argv redaction, the journal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops.errors import InputError
from dpone_ops.evidence_io import read_journal
from pytest_dpone.markers import parse_aliases
from pytest_dpone.recorder import redact_argv
from pytest_dpone.shards import collected_digest, parse_shard, shard_of


@given(st.lists(st.text(min_size=1), max_size=30), st.integers(min_value=1, max_value=9))
def test_every_node_id_lands_in_exactly_one_shard(node_ids: list[str], count: int) -> None:
    shards = [parse_shard(f"{i}/{count}", environ={}) for i in range(1, count + 1)]
    for node_id in node_ids:
        owners = [s.index for s in shards if s.keeps(node_id)]
        assert owners == [shard_of(node_id, count)]


@given(st.text())
def test_shard_parser_accepts_only_i_of_n(value: str) -> None:
    message = ""
    try:
        shard = parse_shard(value, environ={})
    except pytest.UsageError as exc:
        message, shard = str(exc), None
    if shard is None:
        assert message.startswith("--dpone-shard")
    else:
        assert 0 <= shard.index < shard.count


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12))
def test_redacted_argv_never_contains_the_secret(secret: str) -> None:
    argv = [f"--token={secret}", "--password", secret, f"https://me:{secret}@host/db"]
    redacted = redact_argv(argv)
    assert redacted == ["--token=***", "--password", "***", "https://me:***@host/db"]


def test_aliases_parse_each_kind() -> None:
    aliases = parse_aliases([
        "pg = service:postgres,kafka",
        "# a comment",
        "xmin = state_backend:postgres:xmin_state",
        "perf = performance",
    ])
    assert aliases["pg"].values == ({"name": "postgres"}, {"name": "kafka"})
    assert aliases["xmin"].values == ({"backend": "postgres", "check": "xmin_state"},)
    assert aliases["perf"].kind == "performance"


@pytest.mark.parametrize("line", ["pg = service:postgres\npg = service:kafka",
                                  "service = service:postgres"])
def test_alias_defined_twice_or_shadowing_a_marker_is_refused(line: str) -> None:
    with pytest.raises(pytest.UsageError, match="defined twice"):
        parse_aliases(line.splitlines())


def _journal(tmp_path: Path, lines: list[dict[str, object]], tail: str = "") -> Path:
    path = tmp_path / "evidence_journal.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + tail, "utf-8")
    return path


HEADER = {"type": "header", "format": "dpone.evidence_journal.v1",
          "run": {"started_at": "2026-01-01T00:00:00Z"}}


def test_journal_with_a_torn_last_line_is_read_without_it(tmp_path: Path) -> None:
    case = {"type": "case", "case": {"node_id": "t.py::a", "status": "passed"}}
    journal = read_journal(_journal(tmp_path, [HEADER, case], tail='{"type": "ca'))
    assert [c["node_id"] for c in journal.cases] == ["t.py::a"]
    assert journal.torn_tail
    assert not journal.ended
    assert not journal.run.complete


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [{"type": "case", "case": {"node_id": "a", "status": "passed"}}],
        [HEADER, {"type": "case", "case": {"node_id": "a", "status": "maybe"}}],
        [HEADER, {"type": "mystery"}],
    ],
)
def test_unusable_journal_is_an_input_error(tmp_path: Path, lines: list[dict[str, object]]) -> None:
    with pytest.raises(InputError):
        read_journal(_journal(tmp_path, lines))


@pytest.mark.parametrize(
    ("environ", "index", "count"),
    [
        ({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4"}, 1, 4),
        ({"CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "3"}, 0, 3),
    ],
)
def test_auto_shard_reads_the_ci_slot(environ: dict[str, str], index: int, count: int) -> None:
    shard = parse_shard("auto", environ=environ)
    assert (shard.index, shard.count) == (index, count)


def test_auto_shard_outside_ci_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError, match="--dpone-shard=auto"):
        parse_shard("auto", environ={})


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12), max_size=30))
def test_the_collected_digest_is_sha256_over_the_sorted_node_ids_one_per_line(
    node_ids: list[str],
) -> None:
    # The shards of one run compare this digest: its bytes are part of the contract.
    lines = b"".join(node_id.encode("utf-8") + b"\n" for node_id in sorted(node_ids))
    assert collected_digest(iter(node_ids)) == hashlib.sha256(lines).hexdigest()
