"""Broken journals through recover-evidence and merge-evidence: exit 2, one line, no writes.

The journal is what a hard-killed session leaves; these commands rebuild artifacts from
it, so it gets the same strict reading as an artifact (SPEC §3.3, §4.5).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from dpone_ops.cli import main

COMMIT = "a" * 40
RUN = {"release": None, "profile": None, "commit_sha": COMMIT, "required_services": [],
       "min_passed": 1, "max_skipped": 0, "required_state": [], "shard": None,
       "argv": ["-q"], "versions": {"python": "3.11.7", "pytest": "9.0.3", "plugin": "0.1.0"},
       "xdist_workers": 0, "started_at": "2026-01-01T00:00:00Z", "dirty": None, "ci": {}}
CASE = {"node_id": "test_x.py::test_a", "status": "passed", "duration_ms": 0.9, "worker": None,
        "skip_reason": None, "longrepr": None, "attempts": [], "rerun": 0,
        "marks": {"service": [{"name": "postgres"}]}, "facts": {}}
FOOTER = {"finished_at": "2026-01-01T00:00:03Z", "duration_seconds": 3.0, "exit_status": 0,
          "interrupted": False, "complete": True}


def line(entry: object) -> bytes:
    return json.dumps(entry).encode("utf-8") + b"\n"


HEADER = line({"type": "header", "format": "dpone.evidence_journal.v1", "run": RUN})
GOOD = HEADER + line({"type": "case", "case": CASE}) + line({"type": "footer", "footer": FOOTER})

BROKEN: dict[str, bytes] = {
    "empty": b"",
    "byte order mark": b"\xef\xbb\xbf" + GOOD,
    "invalid UTF-8": GOOD.replace(b"pytest", b"\xff\xfe", 1),
    "a line that is not JSON": HEADER + b"not json\n",
    "a top-level array line": b"[1, 2]\n",
    "a null line": b"null\n",
    "duplicate key": HEADER[:-2] + b', "type": "case"}\n',
    "NaN in a case": HEADER + line({"type": "case", "case": CASE}).replace(b"0.9", b"NaN"),
    "1e999 in a case": HEADER + line({"type": "case", "case": CASE}).replace(b"0.9", b"1e999"),
    "run is a list": line({"type": "header", "format": "dpone.evidence_journal.v1",
                           "run": [1, 2]}),
    "run is a string": line({"type": "header", "format": "dpone.evidence_journal.v1",
                             "run": "x"}),
    "two headers": HEADER + HEADER,
    "no header": line({"type": "case", "case": CASE}),
    "a future journal format": GOOD.replace(b"evidence_journal.v1", b"evidence_journal.v2"),
    "case is a list": HEADER + line({"type": "case", "case": [1]}),
    "negative rerun count": HEADER + line({"type": "case", "case": {**CASE, "rerun": -5}}),
    "negative duration": HEADER + line({"type": "case", "case": {**CASE, "duration_ms": -1}}),
    "unknown case status": HEADER + line({"type": "case", "case": {**CASE, "status": "ok"}}),
    "footer is a list": HEADER + line({"type": "footer", "footer": [1]}),
    "footer exit status is text": HEADER + line({"type": "footer",
                                                 "footer": {**FOOTER, "exit_status": "0"}}),
    "nested 100000 levels": HEADER + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "unknown entry type": HEADER + line({"type": "verdict", "passed": True}),
}


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["ops", *argv])
    return code, err.getvalue()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture(autouse=True)
def _epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def test_the_well_formed_journal_recovers(tmp_path: Path) -> None:
    (tmp_path / "evidence_journal.jsonl").write_bytes(GOOD)
    code, err = _run(["recover-evidence", str(tmp_path), "--output-dir", str(tmp_path / "o")])
    assert code in (0, 1), err
    assert (tmp_path / "o" / "run_manifest.json").is_file()


@pytest.mark.parametrize("payload", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_journal_is_refused_with_one_line_and_nothing_written(
    tmp_path: Path, payload: bytes
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "evidence_journal.jsonl").write_bytes(payload)
    # Recovery writes into the evidence dir itself by default: what is there must survive.
    (evidence / "run_manifest.json").write_text('{"previous": true}\n', encoding="utf-8")
    before = _snapshot(evidence)
    code, err = _run(["recover-evidence", str(evidence)])
    assert code == 2, err
    assert err.startswith("dpone: error: ")
    assert err.count("\n") == 1
    assert _snapshot(evidence) == before


@pytest.mark.parametrize("payload", BROKEN.values(), ids=BROKEN.keys())
def test_merge_refuses_a_shard_with_a_broken_journal(tmp_path: Path, payload: bytes) -> None:
    shard = tmp_path / "shard"
    shard.mkdir()
    (shard / "evidence_journal.jsonl").write_bytes(payload)
    out = tmp_path / "out"
    code, err = _run(["merge-evidence", "--shard", str(shard), "--expect-shards", "1",
                      "--output-dir", str(out)])
    assert code == 2, err
    assert err.count("\n") == 1
    assert not out.exists()
