"""``quickstart-etl``: run one pipeline from the command line.

    quickstart-etl strategies
    quickstart-etl copy --direction pg-to-sqlite --pg URL --sqlite FILE --table orders \
        --strategy incremental_merge --pipeline orders
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Sequence

from quickstart_etl.copy import copy_pg_to_sqlite, copy_sqlite_to_pg
from quickstart_etl.state import PostgresState

STRATEGIES = ("full_refresh", "incremental_merge")
DIRECTIONS = ("pg-to-sqlite", "sqlite-to-pg")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quickstart-etl",
                                     description="Copy tables between PostgreSQL and SQLite.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("strategies", help="list the load strategies")
    copy = commands.add_parser("copy", help="run one pipeline and print its result as JSON")
    copy.add_argument("--direction", required=True, choices=DIRECTIONS)
    copy.add_argument("--pg", required=True, metavar="URL", help="PostgreSQL connection URL")
    copy.add_argument("--sqlite", required=True, metavar="FILE", help="SQLite database file")
    copy.add_argument("--table", required=True, help="table name on both sides")
    copy.add_argument("--schema", default="public", help="PostgreSQL schema (default public)")
    copy.add_argument("--strategy", required=True, choices=STRATEGIES)
    copy.add_argument("--pipeline", required=True, help="whose watermark to use and advance")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "strategies":
        print("\n".join(STRATEGIES))
        return 0
    import psycopg
    from psycopg import sql

    table = sql.Identifier(args.schema, args.table)
    with psycopg.connect(args.pg, autocommit=True) as pg:
        state = PostgresState(pg, schema=args.schema)
        state.ensure()
        lite = sqlite3.connect(args.sqlite)
        try:
            if args.direction == "pg-to-sqlite":
                result = copy_pg_to_sqlite(pg, lite, source=table, sink=args.table, state=state,
                                           pipeline=args.pipeline, strategy=args.strategy)
            else:
                result = copy_sqlite_to_pg(lite, pg, source=args.table, sink=table, state=state,
                                           pipeline=args.pipeline, strategy=args.strategy)
        finally:
            lite.close()
    print(json.dumps(result.__dict__, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
