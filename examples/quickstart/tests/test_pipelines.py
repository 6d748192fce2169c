"""The quickstart's pipelines, each test one piece of release evidence.

Every test runs against a real PostgreSQL (``service("postgres")``); the markers say what
each one proves: a source→sink matrix cell (and with it the ``source_sink_matrix``
release check), the xmin state backend, physical-delete reconciliation, or throughput.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from quickstart_etl import PostgresState, copy_pg_to_sqlite, copy_sqlite_to_pg

pytestmark = pytest.mark.service("postgres")

ROWS = 2000


class SinkRejected(Exception):
    """A load that fails half-way (the sink refuses the batch)."""


def _reject() -> None:
    raise SinkRejected("sink rejected the batch")


def _sqlite_count(lite: sqlite3.Connection, table: str) -> int:
    return int(lite.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


@pytest.mark.certification(source="postgres", sink="sqlite", strategy="full_refresh")
@pytest.mark.release_check("source_sink_matrix")
def test_full_refresh_copies_every_postgres_row_into_sqlite(
    pg: Any, lite: sqlite3.Connection, state: PostgresState,
) -> None:
    pg.seed("orders", ROWS)
    result = copy_pg_to_sqlite(pg.conn, lite, source=pg.table("orders"), sink="orders",
                               state=state, pipeline="orders_full", strategy="full_refresh")
    assert result.rows_written == ROWS
    assert _sqlite_count(lite, "orders") == ROWS
    total = lite.execute("SELECT sum(amount) FROM orders").fetchone()[0]
    expected = pg.conn.execute(f'SELECT sum(amount) FROM "{pg.schema}".orders').fetchone()[0]
    assert total == expected


@pytest.mark.certification(source="postgres", sink="sqlite", strategy="incremental_merge")
@pytest.mark.release_check("source_sink_matrix")
@pytest.mark.reconciliation(kind="physical_delete")
def test_incremental_merge_propagates_physical_deletes_to_sqlite(
    pg: Any, lite: sqlite3.Connection, state: PostgresState, dpone_evidence: Any,
) -> None:
    pg.seed("orders", ROWS)
    copy_pg_to_sqlite(pg.conn, lite, source=pg.table("orders"), sink="orders", state=state,
                      pipeline="orders_inc", strategy="incremental_merge")
    pg.conn.execute(f'DELETE FROM "{pg.schema}".orders WHERE id % 10 = 0')
    pg.conn.execute(f'UPDATE "{pg.schema}".orders SET amount = -1, version = {ROWS} + id '
                    "WHERE id % 10 = 1")
    result = copy_pg_to_sqlite(pg.conn, lite, source=pg.table("orders"), sink="orders",
                               state=state, pipeline="orders_inc", strategy="incremental_merge")
    source_rows = pg.count("orders")
    sink_rows = _sqlite_count(lite, "orders")
    mismatched = len(
        {tuple(r) for r in pg.conn.execute(f'SELECT id, amount FROM "{pg.schema}".orders')}
        ^ set(lite.execute("SELECT id, amount FROM orders"))
    )
    dpone_evidence.record_reconciliation(
        kind="physical_delete", source_rows=source_rows, sink_rows=sink_rows,
        deleted_at_source=ROWS // 10, deleted_at_sink=result.rows_deleted,
        mismatched_rows=mismatched,
    )
    assert result.rows_written == ROWS // 10  # only the updated rows moved
    assert result.rows_deleted == ROWS // 10
    assert (source_rows, mismatched) == (sink_rows, 0)


@pytest.mark.certification(source="sqlite", sink="postgres", strategy="incremental_merge")
@pytest.mark.release_check("source_sink_matrix")
def test_incremental_merge_from_sqlite_only_moves_new_versions(
    pg: Any, lite: sqlite3.Connection, state: PostgresState,
    seed_sqlite: Callable[[str, int], None],
) -> None:
    seed_sqlite("orders", ROWS)
    first = copy_sqlite_to_pg(lite, pg.conn, source="orders", sink=pg.table("orders"),
                              state=state, pipeline="orders_back", strategy="incremental_merge")
    with lite:
        lite.execute("UPDATE orders SET amount = 0, version = version + ? WHERE id <= 5", (ROWS,))
    second = copy_sqlite_to_pg(lite, pg.conn, source="orders", sink=pg.table("orders"),
                               state=state, pipeline="orders_back", strategy="incremental_merge")
    assert (first.rows_written, second.rows_written) == (ROWS, 5)
    assert second.watermark_after == ROWS + 5
    assert pg.count("orders") == ROWS
    zeroed = pg.conn.execute(f'SELECT count(*) FROM "{pg.schema}".orders WHERE amount = 0')
    assert zeroed.fetchone()[0] >= 5


@pytest.mark.certification(source="sqlite", sink="postgres", strategy="full_refresh")
@pytest.mark.release_check("source_sink_matrix")
def test_full_refresh_into_postgres_replaces_the_sink(
    pg: Any, lite: sqlite3.Connection, state: PostgresState,
    seed_sqlite: Callable[[str, int], None],
) -> None:
    seed_sqlite("orders", ROWS)
    pg.seed("orders", 10)
    result = copy_sqlite_to_pg(lite, pg.conn, source="orders", sink=pg.table("orders"),
                               state=state, pipeline="orders_back_full", strategy="full_refresh")
    assert (result.rows_deleted, result.rows_written) == (10, ROWS)
    assert pg.count("orders") == ROWS


@pytest.mark.state_backend("postgres", check="xmin_state")
@pytest.mark.parametrize("fails", [False, True], ids=["committed", "failed"])
def test_state_xmin_advances_only_when_the_load_commits(
    pg: Any, lite: sqlite3.Connection, state: PostgresState, dpone_evidence: Any,
    seed_sqlite: Callable[[str, int], None], fails: bool,
) -> None:
    seed_sqlite("orders", ROWS)
    state.advance("orders_state", 0)
    before = state.xmin("orders_state")
    succeeded = True
    try:
        copy_sqlite_to_pg(lite, pg.conn, source="orders", sink=pg.table("orders"), state=state,
                          pipeline="orders_state", strategy="incremental_merge",
                          fail_load=_reject if fails else None)
    except SinkRejected:
        succeeded = False
    after = state.xmin("orders_state")
    dpone_evidence.record_state("postgres", "xmin_state", before, after,
                                load_succeeded=succeeded, committed_after_load=succeeded)
    assert succeeded is not fails
    assert (after != before) is succeeded
    assert state.watermark("orders_state") == (0 if fails else ROWS)


@pytest.mark.performance
def test_postgres_to_sqlite_throughput(
    pg: Any, lite: sqlite3.Connection, state: PostgresState, dpone_evidence: Any,
) -> None:
    rows = 20_000
    pg.seed("orders", rows)
    with dpone_evidence.measure(rows=rows):
        result = copy_pg_to_sqlite(pg.conn, lite, source=pg.table("orders"), sink="orders",
                                   state=state, pipeline="orders_perf", strategy="full_refresh")
    assert result.rows_written == rows


@pytest.mark.performance
def test_full_refresh_benchmark(
    pg: Any, lite: sqlite3.Connection, state: PostgresState, benchmark: Any,
) -> None:
    pg.seed("orders", ROWS)
    benchmark.extra_info["rows"] = ROWS
    result = benchmark.pedantic(
        copy_pg_to_sqlite, args=(pg.conn, lite),
        kwargs={"source": pg.table("orders"), "sink": "orders", "state": state,
                "pipeline": "orders_bench", "strategy": "full_refresh"},
        rounds=5, iterations=1,
    )
    assert result.rows_written == ROWS
