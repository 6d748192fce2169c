"""A tiny ETL: copy tables between PostgreSQL and SQLite, with state kept in PostgreSQL."""

from __future__ import annotations

from quickstart_etl.copy import LoadResult, copy_pg_to_sqlite, copy_sqlite_to_pg
from quickstart_etl.state import PostgresState

STRATEGIES = ("full_refresh", "incremental_merge")

__all__ = ["STRATEGIES", "LoadResult", "PostgresState", "copy_pg_to_sqlite", "copy_sqlite_to_pg"]
