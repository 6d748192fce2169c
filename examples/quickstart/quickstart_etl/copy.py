"""Copy one ``(id, name, amount, version)`` table between PostgreSQL and SQLite.

Strategies: ``full_refresh`` replaces the sink; ``incremental_merge`` upserts rows whose
``version`` is above the pipeline's watermark and deletes sink rows whose id vanished at
the source (physical-delete propagation). The watermark advances only after the sink
write committed: PostgreSQL→SQLite commits SQLite first, then the state; SQLite→PostgreSQL
writes sink and state in one PostgreSQL transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from quickstart_etl.state import PostgresState

Row = tuple[int, str, int, int]
COLUMNS = ("id", "name", "amount", "version")


@dataclass(frozen=True)
class LoadResult:
    pipeline: str
    strategy: str
    rows_written: int
    rows_deleted: int
    watermark_before: int
    watermark_after: int


def _check_strategy(strategy: str) -> None:
    if strategy not in ("full_refresh", "incremental_merge"):
        raise ValueError(f"unknown strategy {strategy!r}")


def _pg_rows(conn: Any, table: sql.Composable, above: int) -> list[Row]:
    cur = conn.execute(
        sql.SQL("SELECT id, name, amount, version FROM {} WHERE version > %s ORDER BY id")
        .format(table), (above,))
    return [tuple(row) for row in cur.fetchall()]


def _pg_ids(conn: Any, table: sql.Composable) -> set[int]:
    return {row[0] for row in conn.execute(sql.SQL("SELECT id FROM {}").format(table))}


def copy_pg_to_sqlite(
    pg: Any, lite: sqlite3.Connection, *, source: sql.Composable, sink: str,
    state: PostgresState, pipeline: str, strategy: str,
    fail_load: Callable[[], None] | None = None,
) -> LoadResult:
    """Copy a PostgreSQL table into SQLite; ``fail_load`` raises mid-load (tests use it)."""
    _check_strategy(strategy)
    lite.execute(f'CREATE TABLE IF NOT EXISTS "{sink}" (id INTEGER PRIMARY KEY, name TEXT, '
                 "amount INTEGER, version INTEGER)")
    before = state.watermark(pipeline)
    above = before if strategy == "incremental_merge" else -1
    rows = _pg_rows(pg, source, above)
    deleted = 0
    with lite:  # one SQLite transaction: all or nothing
        if strategy == "full_refresh":
            deleted = lite.execute(f'DELETE FROM "{sink}"').rowcount
        else:
            live = _pg_ids(pg, source)
            sink_ids = {row[0] for row in lite.execute(f'SELECT id FROM "{sink}"')}
            gone = sorted(sink_ids - live)
            lite.executemany(f'DELETE FROM "{sink}" WHERE id = ?', [(i,) for i in gone])
            deleted = len(gone)
        lite.executemany(f'INSERT OR REPLACE INTO "{sink}" VALUES (?, ?, ?, ?)', rows)
        if fail_load is not None:
            fail_load()
    after = max([before, *(row[3] for row in rows)])
    with pg.transaction():
        state.advance(pipeline, after)
    return LoadResult(pipeline, strategy, len(rows), deleted, before, after)


def copy_sqlite_to_pg(
    lite: sqlite3.Connection, pg: Any, *, source: str, sink: sql.Composable,
    state: PostgresState, pipeline: str, strategy: str,
    fail_load: Callable[[], None] | None = None,
) -> LoadResult:
    """Copy a SQLite table into PostgreSQL; sink rows and state commit together."""
    _check_strategy(strategy)
    before = state.watermark(pipeline)
    above = before if strategy == "incremental_merge" else -1
    rows: Sequence[Row] = lite.execute(
        f'SELECT id, name, amount, version FROM "{source}" WHERE version > ? ORDER BY id',
        (above,),
    ).fetchall()
    source_ids = {row[0] for row in lite.execute(f'SELECT id FROM "{source}"')}
    with pg.transaction():
        pg.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id int PRIMARY KEY, name text, "
                           "amount bigint, version bigint)").format(sink))
        if strategy == "full_refresh":
            deleted = pg.execute(sql.SQL("DELETE FROM {}").format(sink)).rowcount
        else:
            gone = sorted(_pg_ids(pg, sink) - source_ids)
            if gone:
                pg.execute(sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(sink), (gone,))
            deleted = len(gone)
        with pg.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} (id, name, amount, version) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
                        "amount = EXCLUDED.amount, version = EXCLUDED.version").format(sink),
                rows,
            )
        after = max([before, *(row[3] for row in rows)])
        if fail_load is not None:
            fail_load()
        state.advance(pipeline, after)
    return LoadResult(pipeline, strategy, len(rows), deleted, before, after)
