"""Fixtures: a PostgreSQL schema per test on the marked service, a SQLite file, the state table.

``dpone_service`` resolves postgres from ``DPONE_IT_PG_*`` / ``DPONE_POSTGRES_URL`` when
set, else a testcontainer, else a throwaway local server started from the installed
PostgreSQL binaries, and records which one served the test.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from quickstart_etl import PostgresState


@dataclass
class Database:
    conn: Any
    schema: str

    def table(self, name: str) -> sql.Composable:
        return sql.Identifier(self.schema, name)

    def seed(self, name: str, rows: int) -> None:
        """``rows`` orders with ids and versions 1..rows."""
        self.conn.execute(sql.SQL(
            "CREATE TABLE {} (id int PRIMARY KEY, name text, amount bigint, version bigint)"
        ).format(self.table(name)))
        self.conn.execute(sql.SQL(
            "INSERT INTO {} SELECT g, 'order ' || g, g * 7 %% 1000, g "
            "FROM generate_series(1, %s) AS g"
        ).format(self.table(name)), (rows,))

    def count(self, name: str) -> int:
        row = self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self.table(name)))
        return int(row.fetchone()[0])


@pytest.fixture
def pg(dpone_service: Any) -> Iterator[Database]:
    """A fresh schema on the marked postgres, dropped afterwards (safe under xdist)."""
    schema = f"qs_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dpone_service.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            yield Database(conn, schema)
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def state(pg: Database) -> PostgresState:
    store = PostgresState(pg.conn, schema=pg.schema)
    store.ensure()
    return store


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "sink.sqlite3")
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def seed_sqlite(lite: sqlite3.Connection) -> Callable[[str, int], None]:
    """Create ``name`` in the SQLite file with ``rows`` orders (ids and versions 1..rows)."""

    def seed(name: str, rows: int) -> None:
        with lite:
            lite.execute(f'CREATE TABLE "{name}" (id INTEGER PRIMARY KEY, name TEXT, '
                         "amount INTEGER, version INTEGER)")
            lite.executemany(f'INSERT INTO "{name}" VALUES (?, ?, ?, ?)',
                             [(i, f"order {i}", i * 7 % 1000, i) for i in range(1, rows + 1)])

    return seed
