"""Pipeline state (the high-water mark of each pipeline) in a PostgreSQL table.

The row's ``xmin`` is the id of the transaction that last wrote it, so comparing it
before and after a load proves whether the state was really committed.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql


class PostgresState:
    """``<schema>.pipeline_state(pipeline, watermark)``; writes join the caller's transaction."""

    def __init__(self, conn: Any, *, schema: str = "public") -> None:
        self.conn = conn
        self.table = sql.Identifier(schema, "pipeline_state")

    def ensure(self) -> None:
        self.conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (pipeline text PRIMARY KEY, watermark bigint NOT NULL)"
        ).format(self.table))

    def watermark(self, pipeline: str) -> int:
        row = self.conn.execute(
            sql.SQL("SELECT watermark FROM {} WHERE pipeline = %s").format(self.table), (pipeline,)
        ).fetchone()
        return int(row[0]) if row else 0

    def xmin(self, pipeline: str) -> int | None:
        """The id of the transaction that last committed this pipeline's state row."""
        row = self.conn.execute(
            sql.SQL("SELECT xmin::text::bigint FROM {} WHERE pipeline = %s").format(self.table),
            (pipeline,),
        ).fetchone()
        return int(row[0]) if row else None

    def advance(self, pipeline: str, watermark: int) -> None:
        self.conn.execute(
            sql.SQL(
                "INSERT INTO {} (pipeline, watermark) VALUES (%s, %s) "
                "ON CONFLICT (pipeline) DO UPDATE SET watermark = EXCLUDED.watermark"
            ).format(self.table),
            (pipeline, watermark),
        )
