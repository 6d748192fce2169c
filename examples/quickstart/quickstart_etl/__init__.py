"""A tiny ETL: copy tables between PostgreSQL and SQLite, with state kept in PostgreSQL."""

from __future__ import annotations

from quickstart_etl.cli import STRATEGIES
from quickstart_etl.copy import LoadResult, copy_pg_to_sqlite, copy_sqlite_to_pg
from quickstart_etl.state import PostgresState

__version__ = "0.1.0"

__all__ = ["STRATEGIES", "LoadResult", "PostgresState", "__version__", "copy_pg_to_sqlite",
           "copy_sqlite_to_pg"]
