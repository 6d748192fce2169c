"""Real PostgreSQL: the env provider against the system cluster, the local provider, xmin state.

The system cluster (Debian ``pg_ctlcluster``) is started by a session fixture when
``DPONE_IT_PG_PORT`` is not already set, through the same lock/state protocol the broker
uses, so the tests pass locally, in CI and under ``-n 2`` without skipping; a cluster
this session started is stopped again at its end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dpone_ops.models.evidence import ServiceMarkers, StateEvidence
from pytest_dpone.services import Endpoint
from pytest_dpone.services.broker import ServiceBroker
from pytest_dpone.services.sharing import Launched, SharedServer

PG_VERSION, CLUSTER = "15", "main"
ROLE, PASSWORD, DATABASE = "dpone", "dpone", "dpone_it"


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=120,
                          stdin=subprocess.DEVNULL, cwd="/")


def _psql(sql: str) -> str:
    return _run("runuser", "-u", "postgres", "--", "psql", "-XAtq", "-c", sql).stdout.strip()


class SystemCluster:
    """Starts the Debian cluster (when down) and creates the test role and database."""

    provider = "env"

    def start(self, service: str) -> Launched:
        running = _run("pg_ctlcluster", PG_VERSION, CLUSTER, "status", check=False)
        if running.returncode != 0:
            _run("pg_ctlcluster", PG_VERSION, CLUSTER, "start")
        if _psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'") != "1":
            _psql(f"CREATE ROLE {ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        if _psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
            _psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        port = int(_run("pg_conftool", "-s", PG_VERSION, CLUSTER, "show", "port").stdout)
        url = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"
        endpoint = Endpoint(service=service, provider="env", host="127.0.0.1", port=port,
                            url=url, redacted_url=url)
        return Launched(endpoint=endpoint, handle={"stop": running.returncode != 0})

    def stop(self, handle: Mapping[str, Any]) -> None:
        if handle.get("stop"):
            _run("pg_ctlcluster", PG_VERSION, CLUSTER, "stop", check=False)


@pytest.fixture(scope="session")
def system_pg_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``DPONE_IT_PG_*`` for a running server: the caller's, else the system cluster's."""
    if os.environ.get("DPONE_IT_PG_PORT"):
        yield {k: v for k, v in os.environ.items() if k.startswith("DPONE_IT_PG_")}
        return
    assert shutil.which("pg_ctlcluster"), "set DPONE_IT_PG_PORT or install postgresql-common"
    base = tmp_path_factory.getbasetemp()
    # xdist workers' basetemps are siblings: their parent is this session's shared root.
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = SharedServer(root, "system-postgres", SystemCluster())
    endpoint = shared.acquire()
    try:
        yield {"DPONE_IT_PG_HOST": endpoint.host, "DPONE_IT_PG_PORT": str(endpoint.port),
               "DPONE_IT_PG_USER": ROLE, "DPONE_IT_PG_PASSWORD": PASSWORD,
               "DPONE_IT_PG_DB": DATABASE}
    finally:
        shared.release()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_env_provider_connects_to_the_configured_server_and_reads_its_version(
    system_pg_env: dict[str, str], tmp_path: Path,
) -> None:
    broker = ServiceBroker(tmp_path, environ=system_pg_env, ready_timeout=10)
    try:
        found = broker.endpoint("postgres")
        assert found.provider == "env"
        assert found.server_version
        assert found.server_version.split(".")[0].isdigit()
        assert found.facts()["endpoint"] == (
            f"postgresql://{system_pg_env.get('DPONE_IT_PG_USER', 'dpone')}:***@"
            f"{found.host}:{found.port}/{found.database}"
        )
        with psycopg.connect(found.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        broker.close()
    # Closing the broker never stops a server it did not start.
    assert found.port is not None
    assert _port_open(found.port)


def test_local_provider_runs_a_throwaway_server_unprivileged_and_removes_it_at_close(
    tmp_path: Path,
) -> None:
    broker = ServiceBroker(tmp_path, environ={}, providers=["local"], ready_timeout=20)
    try:
        found = broker.endpoint("postgres")
        assert found.provider == "local"
        assert found.server_version
        assert found.server_version.startswith("1")
        with psycopg.connect(found.url) as conn:
            data_dir, wal_level = conn.execute(
                "SELECT current_setting('data_directory'), current_setting('wal_level')"
            ).fetchone() or ("", "")
        assert wal_level == "logical"
        assert Path(data_dir).exists()
        if os.geteuid() == 0:
            assert Path(data_dir).stat().st_uid != 0
        assert found.password
        assert found.password not in found.redacted_url
    finally:
        broker.close()
    assert found.port is not None
    assert not _port_open(found.port)
    assert not Path(data_dir).parent.exists()
    assert not (tmp_path / "services/postgres/state.json").exists()


SHARE_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from pytest_dpone.services.broker import ServiceBroker

    root, worker, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    broker = ServiceBroker(root, worker_id=worker, environ={}, providers=["local"])
    found = broker.endpoint("postgres")
    print(json.dumps({"port": found.port, "provider": found.provider}), flush=True)
    while not go.exists():
        time.sleep(0.02)
    broker.close()
    print("closed", flush=True)
""")


def test_two_workers_share_one_local_server_and_its_starter_stops_it_last(
    tmp_path: Path,
) -> None:
    go_a, go_b = tmp_path / "go-a", tmp_path / "go-b"

    def spawn(worker: str, go: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", SHARE_SCRIPT, str(tmp_path), worker, str(go)],
            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )

    starter = spawn("gw0", go_a)
    joiner: subprocess.Popen[str] | None = None
    try:
        assert starter.stdout is not None
        first = json.loads(starter.stdout.readline())
        joiner = spawn("gw1", go_b)
        assert joiner.stdout is not None
        second = json.loads(joiner.stdout.readline())
        assert first == second == {"port": first["port"], "provider": "local"}
        go_a.touch()  # the starter finishes first ...
        state = tmp_path / "services/postgres/state.json"
        _wait_for(lambda: sorted(json.loads(state.read_text())["users"]) == [str(joiner.pid)])
        assert _port_open(first["port"])  # ... and must not stop the server under gw1
        go_b.touch()
        assert joiner.wait(30) == 0
        assert starter.wait(30) == 0
        assert not _port_open(first["port"])
        assert not state.exists()
    finally:
        go_a.touch()
        go_b.touch()
        for process in (starter, joiner):
            if process is not None:
                if process.poll() is None:
                    process.wait(30)
                if process.stdout is not None:
                    process.stdout.close()


def _wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# --- the xmin state backend, recorded by the real plugin --------------------------------------

XMIN_SUITE = """
import uuid

import psycopg
import pytest


class LoadFailed(Exception):
    pass


def state_xmin(conn, table):
    row = conn.execute(f"SELECT xmin::text::bigint FROM {table} WHERE pipeline = 'orders'")
    return int(row.fetchone()[0])


@pytest.mark.service("postgres")
@pytest.mark.state_backend("postgres", check="xmin_state")
@pytest.mark.parametrize("fail", [False, True], ids=["committed", "rolled_back"])
def test_load(dpone_service, dpone_evidence, fail):
    suffix = uuid.uuid4().hex[:10]
    state, target = f"dpone_state_{suffix}", f"dpone_orders_{suffix}"
    with psycopg.connect(dpone_service.url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {state} (pipeline text PRIMARY KEY, watermark bigint)")
        conn.execute(f"CREATE TABLE {target} (id int PRIMARY KEY, body text)")
        conn.execute(f"INSERT INTO {state} VALUES ('orders', 0)")
        before = state_xmin(conn, state)
        succeeded = True
        try:
            # Copy and advance the watermark in one transaction; a failure aborts both.
            with conn.transaction():
                conn.execute(f"INSERT INTO {target} SELECT g, 'row ' || g "
                             "FROM generate_series(1, 50) AS g")
                conn.execute(f"UPDATE {state} SET watermark = 50 WHERE pipeline = 'orders'")
                if fail:
                    raise LoadFailed("sink rejected the batch")
        except LoadFailed:
            succeeded = False
        after = state_xmin(conn, state)
        loaded = conn.execute(f"SELECT count(*) FROM {target}").fetchone()
        dpone_evidence.record_state("postgres", "xmin_state", before, after,
                                    load_succeeded=succeeded, committed_after_load=succeeded)
        conn.execute(f"DROP TABLE {state}, {target}")
    assert loaded == ((0,) if fail else (50,))
"""


def test_xmin_state_advances_only_with_a_committed_load(
    system_pg_env: dict[str, str], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in system_pg_env.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_xmin=XMIN_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark",
                                "--dpone-evidence-dir=evidence",
                                "--dpone-require-service=postgres")
    result.assert_outcomes(passed=2)
    evidence = pytester.path / "evidence"
    state = StateEvidence.model_validate_json((evidence / "state_evidence.json").read_bytes())
    assert state.passed
    assert state.blockers == []
    assert [(c.backend, c.check) for c in state.covered] == [("postgres", "xmin_state")]
    seen = {o.node_id.rsplit("[", 1)[1].rstrip("]"): o for o in state.observations}
    assert set(seen) == {"committed", "rolled_back"}
    committed, rolled_back = seen["committed"], seen["rolled_back"]
    assert committed.load_succeeded
    assert committed.advanced
    assert committed.before != committed.after
    assert not rolled_back.load_succeeded
    assert not rolled_back.advanced
    assert rolled_back.before == rolled_back.after
    markers = ServiceMarkers.model_validate_json((evidence / "service_markers.json").read_bytes())
    assert markers.passed
    assert markers.services["postgres"].provider == "env"


# --- the quickstart example's pipelines, on the same real server ---------------------------

def test_quickstart_pipelines_merge_deletes_and_keep_state_on_a_failed_load(
    system_pg_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sqlite3

    from psycopg import sql

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "examples/quickstart"))
    from quickstart_etl import (  # type: ignore[import-not-found]  # the example, on sys.path
        PostgresState,
        copy_pg_to_sqlite,
        copy_sqlite_to_pg,
    )

    broker = ServiceBroker(tmp_path, environ=system_pg_env, ready_timeout=10)
    schema = f"qs_{uuid.uuid4().hex[:10]}"
    lite = sqlite3.connect(tmp_path / "sink.sqlite3")
    try:
        with psycopg.connect(broker.endpoint("postgres").url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            try:
                state = PostgresState(conn, schema=schema)
                state.ensure()
                conn.execute(f"CREATE TABLE {schema}.orders (id int PRIMARY KEY, name text, "
                             "amount bigint, version bigint)")
                conn.execute(f"INSERT INTO {schema}.orders SELECT g, 'o', g, g "
                             "FROM generate_series(1, 100) g")
                source = sql.Identifier(schema, "orders")
                kwargs: dict[str, Any] = {"source": source, "sink": "orders", "state": state,
                                          "pipeline": "p", "strategy": "incremental_merge"}
                copy_pg_to_sqlite(conn, lite, **kwargs)
                conn.execute(f"DELETE FROM {schema}.orders WHERE id <= 30")
                second = copy_pg_to_sqlite(conn, lite, **kwargs)
                assert (second.rows_written, second.rows_deleted) == (0, 30)
                assert lite.execute("SELECT count(*) FROM orders").fetchone() == (70,)

                def reject() -> None:
                    raise RuntimeError("sink rejected the batch")

                before = (state.xmin("back"), state.watermark("back"))
                with pytest.raises(RuntimeError, match="rejected"):
                    copy_sqlite_to_pg(lite, conn, source="orders",
                                      sink=sql.Identifier(schema, "copy"), state=state,
                                      pipeline="back", strategy="full_refresh", fail_load=reject)
                assert (state.xmin("back"), state.watermark("back")) == before == (None, 0)
                done = copy_sqlite_to_pg(lite, conn, source="orders",
                                         sink=sql.Identifier(schema, "copy"), state=state,
                                         pipeline="back", strategy="full_refresh")
                assert (done.rows_written, done.watermark_after) == (70, 100)
                assert state.xmin("back") is not None
            finally:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        lite.close()
        broker.close()
