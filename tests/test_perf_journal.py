"""The per-test journal after the overhead work: flushed per test, compact, still complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpone_ops.evidence_io import CaseLine, read_journal
from pytest_dpone.journal import JournalWriter, case_line
from tests._plugin_support import journal_cases, load_evidence, run

pytest_plugins = ["pytester"]


def test_a_finished_test_is_in_the_journal_before_the_next_test_starts(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_flush="""
        import json, pathlib

        def test_a_first():
            pass

        def test_b_reads_the_journal():
            text = pathlib.Path("evidence/evidence_journal.jsonl").read_text("utf-8")
            entries = [json.loads(line) for line in text.splitlines()]
            cases = [e["case"]["node_id"] for e in entries if e["type"] == "case"]
            assert cases == ["test_flush.py::test_a_first"]
    """)
    result = run(pytester)
    result.assert_outcomes(passed=2)
    assert [c["node_id"] for c in journal_cases(pytester.path / "evidence")] == [
        "test_flush.py::test_a_first", "test_flush.py::test_b_reads_the_journal"]


def test_a_plain_test_journals_only_non_default_fields_and_reads_back_whole(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="""
        import pytest

        def test_plain():
            pass

        @pytest.mark.service("postgres")
        def test_marked():
            pytest.skip("no server")
    """)
    run(pytester).assert_outcomes(passed=1, skipped=1)
    directory = pytester.path / "evidence"
    marked, plain = sorted(journal_cases(directory), key=lambda c: c["node_id"])
    assert set(plain) == {"node_id", "status", "duration_ms"}
    assert marked["marks"] == {"service": [{"name": "postgres"}]}
    assert marked["skip_reason"] == "Skipped: no server"
    recovered = read_journal(directory / "evidence_journal.jsonl").cases
    assert [CaseLine.model_validate(c) for c in recovered]  # defaults filled in
    assert {c["node_id"]: c["rerun"] for c in recovered} == {
        "test_plain.py::test_marked": 0, "test_plain.py::test_plain": 0}
    assert load_evidence(directory)["run_manifest"].totals.skipped == 1


@given(
    node_id=st.text(),
    status=st.sampled_from(["passed", "failed", "skipped"]),
    duration=st.floats(allow_nan=False, allow_infinity=False),
    worker=st.none() | st.text(min_size=1),
)
def test_the_plain_case_shortcut_writes_exactly_what_the_encoder_writes(
    node_id: str, status: str, duration: float, worker: str | None
) -> None:
    case: dict[str, object] = {"node_id": node_id, "status": status, "duration_ms": duration}
    if worker is not None:
        case["worker"] = worker
    expected = json.dumps({"type": "case", "case": case}, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False) + "\n"
    assert case_line(case) == expected.encode("utf-8")
    assert json.loads(case_line(case))["case"] == case


@given(
    node_id=st.text(),
    status=st.sampled_from(["passed", "failed", "error", "skipped", "xfailed", "xpassed"]),
    duration=st.floats(allow_nan=False, allow_infinity=False),
    worker=st.none() | st.text(min_size=1),
)
def test_the_recorders_plain_case_writer_writes_the_same_bytes_as_the_case_writer(
    tmp_path_factory: pytest.TempPathFactory, node_id: str, status: str, duration: float,
    worker: str | None,
) -> None:
    directory = tmp_path_factory.mktemp("journal")
    case: dict[str, object] = {"node_id": node_id, "status": status, "duration_ms": duration}
    if worker is not None:
        case["worker"] = worker
    general = JournalWriter(directory / "general.jsonl", {})
    general.case(case)
    general.close(None)
    plain = JournalWriter(directory / "plain.jsonl", {})
    plain.plain_case(node_id, status, duration, worker)
    plain.close(None)
    assert (directory / "plain.jsonl").read_bytes() == (directory / "general.jsonl").read_bytes()
    lines = (directory / "plain.jsonl").read_bytes().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1]) == {"type": "case", "case": case}


@pytest.mark.parametrize("duration", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_duration_is_refused_rather_than_written_as_invalid_json(
    tmp_path: Path, duration: float
) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        case_line({"node_id": "t", "status": "passed", "duration_ms": duration})
    writer = JournalWriter(tmp_path / "evidence_journal.jsonl", {})
    with pytest.raises(ValueError, match="not JSON compliant"):
        writer.plain_case("t", "passed", duration, None)
    writer.close(None)


def test_the_journal_writer_ends_every_line_and_the_footer_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "evidence_journal.jsonl"
    writer = JournalWriter(path, {"started_at": "2026-01-01T00:00:00Z"})
    writer.case({"node_id": "t.py::a", "status": "passed", "duration_ms": 1.0})
    assert path.read_bytes().endswith(b"\n")  # on disk before close: one write per line
    writer.close({"finished_at": "2026-01-01T00:00:01Z", "duration_seconds": 1.0,
                  "exit_status": 0, "interrupted": False, "complete": True})
    journal = read_journal(path)
    assert journal.ended
    assert not journal.torn_tail
    assert [c["node_id"] for c in journal.cases] == ["t.py::a"]
