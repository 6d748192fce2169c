"""Readiness probes speak each protocol; the wait around them is bounded and says why."""

from __future__ import annotations

import base64
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pytest_dpone.services import Endpoint, ServiceNotReady
from pytest_dpone.services.probes import (
    ClientMissing,
    kafka_metadata_brokers,
    probe_clickhouse,
    probe_kafka,
    probe_minio,
    probe_schema_registry,
    wait_ready,
)


def _endpoint(service: str, url: str, password: str | None = None) -> Endpoint:
    return Endpoint(service=service, provider="env", host="127.0.0.1", port=None, url=url,
                    redacted_url=url, password=password)


# --- Kafka: a fake broker that answers one Metadata v0 request -----------------------------

def _metadata_response(correlation: int, brokers: list[tuple[int, str, int]]) -> bytes:
    body = struct.pack(">ii", correlation, len(brokers))
    for node_id, host, port in brokers:
        raw = host.encode()
        body += struct.pack(">ih", node_id, len(raw)) + raw + struct.pack(">i", port)
    body += struct.pack(">i", 0)  # no topics
    return struct.pack(">i", len(body)) + body


@pytest.fixture
def fake_kafka() -> Iterator[tuple[int, list[bytes]]]:
    server = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            size = struct.unpack(">i", conn.recv(4))[0]
            request = conn.recv(size)
            requests.append(request)
            correlation = struct.unpack(">i", request[4:8])[0]
            conn.sendall(_metadata_response(correlation, [(1, "127.0.0.1", 59092)]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], requests
    thread.join(2)
    server.close()


def test_kafka_probe_sends_a_metadata_request_and_reads_the_brokers(
    fake_kafka: tuple[int, list[bytes]],
) -> None:
    port, requests = fake_kafka
    assert kafka_metadata_brokers("127.0.0.1", port, 2.0) == [(1, "127.0.0.1", 59092)]
    api_key, api_version = struct.unpack(">hh", requests[0][:4])
    assert (api_key, api_version) == (3, 0)


def test_kafka_probe_uses_the_first_bootstrap_server(fake_kafka: tuple[int, list[bytes]]) -> None:
    port, _ = fake_kafka
    endpoint = _endpoint("kafka", f"127.0.0.1:{port},127.0.0.1:1")
    assert probe_kafka(endpoint, 2.0) is None


def test_kafka_probe_rejects_a_server_that_hangs_up() -> None:
    server = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        conn, _ = server.accept()
        conn.recv(1024)
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    with pytest.raises(RuntimeError, match="connection closed"):
        kafka_metadata_brokers("127.0.0.1", server.getsockname()[1], 2.0)
    thread.join(2)
    server.close()


# --- HTTP: schema registry, MinIO, ClickHouse ----------------------------------------------

@pytest.fixture
def http_server() -> Iterator[tuple[str, dict[str, tuple[int, bytes]], list[dict[str, str]]]]:
    routes: dict[str, tuple[int, bytes]] = {}
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        server_version, sys_version = "MinIO", ""

        def do_GET(self) -> None:
            seen.append({"path": self.path, "auth": self.headers.get("Authorization", "")})
            status, body = routes.get(self.path.split("?")[0], (404, b"not found"))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", routes, seen
    server.shutdown()
    server.server_close()
    thread.join(2)


HttpServer = tuple[str, dict[str, tuple[int, bytes]], list[dict[str, str]]]


def test_schema_registry_probe_wants_a_json_list_of_subjects(http_server: HttpServer) -> None:
    address, routes, _ = http_server
    routes["/subjects"] = (200, b'["orders-value"]')
    assert probe_schema_registry(_endpoint("schema_registry", f"http://{address}"), 2.0) is None
    routes["/subjects"] = (503, b"starting")
    with pytest.raises(RuntimeError, match="HTTP 503"):
        probe_schema_registry(_endpoint("schema_registry", f"http://{address}"), 2.0)


def test_minio_probe_reads_the_live_health_endpoint(http_server: HttpServer) -> None:
    address, routes, _ = http_server
    routes["/minio/health/live"] = (200, b"")
    assert probe_minio(_endpoint("minio", address), 2.0) == "MinIO"


def test_clickhouse_http_probe_runs_select_1_with_basic_auth(http_server: HttpServer) -> None:
    address, routes, seen = http_server
    routes["/"] = (200, b"1\t24.3.1.1\n")
    endpoint = _endpoint("clickhouse", f"http://dpone:pw@{address}", password="pw")
    assert probe_clickhouse(endpoint, 2.0) == "24.3.1.1"
    assert "SELECT%201" in seen[0]["path"]
    assert seen[0]["auth"] == "Basic " + base64.b64encode(b"dpone:pw").decode()


# --- the bounded wait ----------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _failing(times: int, error: str = "connection refused") -> Callable[[Endpoint, float], str]:
    calls = {"n": 0}

    def probe(endpoint: Endpoint, timeout: float) -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise ConnectionRefusedError(error)
        return "1.0"

    return probe


def test_wait_ready_retries_until_the_service_answers() -> None:
    clock = FakeClock()
    version = wait_ready(_endpoint("postgres", "postgresql://h"), timeout=10, probe=_failing(3),
                         clock=clock, sleep=clock.sleep)
    assert version == "1.0"
    assert clock.now == pytest.approx(0.75)


def test_wait_ready_gives_up_at_the_deadline_with_the_last_error_and_no_password() -> None:
    clock = FakeClock()
    endpoint = _endpoint("postgres", "postgresql://dpone:***@h:1/db", password="hunter2")
    with pytest.raises(ServiceNotReady) as info:
        wait_ready(endpoint, timeout=2, probe=_failing(100, "auth hunter2 refused"),
                   clock=clock, sleep=clock.sleep)
    message = str(info.value)
    assert "not ready after 2s and 8 attempts" in message
    assert "ConnectionRefusedError: auth *** refused" in message
    assert "hunter2" not in message
    assert info.value.service == "postgres"


def test_a_missing_client_library_fails_at_once_with_the_package_to_install() -> None:
    def probe(endpoint: Endpoint, timeout: float) -> str:
        raise ClientMissing("the pytds client is not installed (pip install python-tds)")

    clock = FakeClock()
    with pytest.raises(ServiceNotReady, match="pip install python-tds"):
        wait_ready(_endpoint("mssql", "mssql://h"), timeout=30, probe=probe, clock=clock,
                   sleep=clock.sleep)
    assert clock.now == 0


def test_a_service_without_a_probe_is_taken_as_configured() -> None:
    assert wait_ready(_endpoint("bigquery", "bq://project"), timeout=1) is None
