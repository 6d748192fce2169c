"""The service broker without real servers: provider order, failures, sharing, Docker detection."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_dpone.services import Endpoint, ServiceNotReady, ServiceUnavailable, redact_url
from pytest_dpone.services.broker import ServiceBroker, endpoint_from_env
from pytest_dpone.services.containers import docker_engine_answers
from pytest_dpone.services.sharing import Launched, SharedServer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeLauncher:
    """Counts starts and stops; the endpoint answers nothing, so tests pass a probe-free service."""

    def __init__(self, provider: str = "local") -> None:
        self.provider = provider
        self.started: list[str] = []
        self.stopped: list[dict[str, Any]] = []

    def start(self, service: str) -> Launched:
        self.started.append(service)
        endpoint = Endpoint(service=service, provider=self.provider, host="127.0.0.1", port=1,
                            url="x://127.0.0.1:1", redacted_url="x://127.0.0.1:1")
        return Launched(endpoint=endpoint, handle={"n": len(self.started)})

    def stop(self, handle: Mapping[str, Any]) -> None:
        self.stopped.append(dict(handle))


# --- provider (1): environment --------------------------------------------------------------

@pytest.mark.parametrize(
    ("service", "environ", "redacted"),
    [
        ("postgres", {"DPONE_IT_PG_PORT": "55432"},
         "postgresql://dpone:***@127.0.0.1:55432/dpone_it"),
        ("postgres", {"DPONE_POSTGRES_URL": "postgresql://u:s3cret@db:5433/x"},
         "postgresql://u:***@db:5433/x"),
        ("mssql", {"DPONE_IT_MSSQL_HOST": "ms", "DPONE_IT_MSSQL_PASSWORD": "pw"},
         "mssql://sa:***@ms:1433"),
        ("clickhouse", {"DPONE_IT_CH_PORT": "59000", "DPONE_IT_CH_HTTP_PORT": "58123"},
         "http://default@127.0.0.1:58123"),
        ("kafka", {"DPONE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:59092,h2:9092"},
         "127.0.0.1:59092,h2:9092"),
        ("schema_registry", {"DPONE_SCHEMA_REGISTRY_URL": "http://127.0.0.1:58081"},
         "http://127.0.0.1:58081"),
        ("minio", {"DPONE_IT_MINIO_ENDPOINT": "127.0.0.1:59090"}, "127.0.0.1:59090"),
    ],
)
def test_env_vars_name_the_endpoint_without_leaking_the_password(
    service: str, environ: dict[str, str], redacted: str
) -> None:
    found = endpoint_from_env(service, environ)
    assert found is not None
    assert found.provider == "env"
    assert found.redacted_url == redacted
    assert "s3cret" not in repr(found)
    assert "s3cret" not in json.dumps(found.facts())


def test_no_env_var_means_no_env_endpoint() -> None:
    assert all(endpoint_from_env(s, {}) is None for s in ("postgres", "kafka", "minio", "mssql"))


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_malformed_port_is_an_error_not_a_skip(port: str) -> None:
    with pytest.raises(ServiceNotReady, match="DPONE_IT_PG_PORT"):
        endpoint_from_env("postgres", {"DPONE_IT_PG_PORT": port})


def test_redact_url_keeps_user_host_and_port() -> None:
    assert redact_url("postgresql://a:b@h:1/d?x=1") == "postgresql://a:***@h:1/d?x=1"
    assert redact_url("http://h:1/") == "http://h:1/"


def test_env_endpoint_on_a_closed_port_raises_not_ready_within_the_bounded_wait(
    tmp_path: Path,
) -> None:
    port = _closed_port()
    broker = ServiceBroker(tmp_path, environ={"DPONE_IT_PG_PORT": str(port)}, ready_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ServiceNotReady) as info:
        broker.endpoint("postgres")
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "provider env" in message
    assert "not ready after 1s" in message
    assert "dpone:***@" in message
    # The failure is remembered: the next test of this process does not wait again.
    started = time.monotonic()
    with pytest.raises(ServiceNotReady):
        broker.endpoint("postgres")
    assert time.monotonic() - started < 0.1
    broker.close()


# --- provider order and the skip ------------------------------------------------------------

def test_without_docker_a_kafka_request_is_unavailable_in_well_under_a_second(
    tmp_path: Path,
) -> None:
    broker = ServiceBroker(tmp_path, environ={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as info:
        broker.endpoint("kafka")
    assert time.monotonic() - started < 1.0
    assert "DPONE_KAFKA_BOOTSTRAP_SERVERS" in info.value.reason
    assert "no Docker socket" in info.value.reason
    broker.close()


def test_unavailable_reason_names_why_every_provider_was_passed_over(tmp_path: Path) -> None:
    environ = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock", "DPONE_PG_BINDIR": str(tmp_path)}
    broker = ServiceBroker(tmp_path, environ=environ)
    with pytest.raises(ServiceUnavailable) as info:
        broker.endpoint("postgres")
    reason = info.value.reason
    assert "DPONE_IT_PG_HOST" in reason
    assert "no env var set" in reason
    assert "no Docker socket" in reason
    assert "no PostgreSQL server binaries" in reason


def test_env_wins_over_the_starting_providers(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    broker = ServiceBroker(tmp_path, environ={"DPONE_MYSQL_URL": "mysql://h:3306"},
                           launchers={"local": launcher})
    assert broker.endpoint("mysql").provider == "env"
    assert launcher.started == []


def test_providers_can_be_restricted_by_env(tmp_path: Path) -> None:
    broker = ServiceBroker(tmp_path, environ={"DPONE_SERVICE_PROVIDERS": "env"})
    with pytest.raises(ServiceUnavailable, match="no env var set"):
        broker.endpoint("postgres")
    with pytest.raises(ValueError, match="unknown provider"):
        ServiceBroker(tmp_path, environ={"DPONE_SERVICE_PROVIDERS": "env,cloud"})


def test_a_provider_that_cannot_start_its_server_errors_instead_of_skipping(
    tmp_path: Path,
) -> None:
    class Broken(FakeLauncher):
        def start(self, service: str) -> Launched:
            raise RuntimeError("initdb exited 1: disk full")

    broker = ServiceBroker(tmp_path, environ={}, providers=["local"],
                           launchers={"local": Broken()})
    with pytest.raises(ServiceNotReady, match=r"local provider could not start postgres.*disk"):
        broker.endpoint("postgres")


# --- sharing across processes (simulated pids) ----------------------------------------------

def _server(root: Path, launcher: FakeLauncher, pid: int, alive: set[int]) -> SharedServer:
    return SharedServer(root, "postgres", launcher, pid=pid, member=f"gw{pid}",
                        is_alive=lambda p: p in alive, poll_seconds=0.01)


def test_the_first_process_starts_the_server_and_the_others_join_it(tmp_path: Path) -> None:
    launcher, alive = FakeLauncher(), {1, 2, 3}
    endpoints = [_server(tmp_path, launcher, pid, alive).acquire() for pid in (1, 2, 3)]
    assert launcher.started == ["postgres"]
    assert len(set(endpoints)) == 1
    state = json.loads((tmp_path / "services/postgres/state.json").read_text())
    assert state["owner_pid"] == 1
    assert sorted(state["users"]) == ["1", "2", "3"]
    assert (tmp_path / "services/postgres/state.json").stat().st_mode & 0o077 == 0


def test_the_starter_stops_the_server_only_after_the_others_left(tmp_path: Path) -> None:
    launcher, alive = FakeLauncher(), {1, 2}
    owner, other = _server(tmp_path, launcher, 1, alive), _server(tmp_path, launcher, 2, alive)
    owner.acquire()
    other.acquire()
    waiting = threading.Thread(target=owner.release)
    waiting.start()
    time.sleep(0.1)
    assert waiting.is_alive()
    assert launcher.stopped == []
    other.release()
    waiting.join(5)
    assert not waiting.is_alive()
    assert launcher.stopped == [{"n": 1}]
    assert not (tmp_path / "services/postgres/state.json").exists()


def test_a_non_starter_leaving_never_stops_the_server(tmp_path: Path) -> None:
    launcher, alive = FakeLauncher(), {1, 2}
    _server(tmp_path, launcher, 1, alive).acquire()
    other = _server(tmp_path, launcher, 2, alive)
    other.acquire()
    other.release()
    other.release()  # idempotent
    assert launcher.stopped == []


def test_a_crashed_worker_does_not_keep_the_starter_waiting(tmp_path: Path) -> None:
    launcher, alive = FakeLauncher(), {1, 2}
    owner = _server(tmp_path, launcher, 1, alive)
    owner.acquire()
    _server(tmp_path, launcher, 2, alive).acquire()
    alive.discard(2)
    owner.release()
    assert launcher.stopped == [{"n": 1}]


def test_an_orphaned_server_is_adopted_and_stopped_by_its_next_user(tmp_path: Path) -> None:
    launcher, alive = FakeLauncher(), {1, 2}
    _server(tmp_path, launcher, 1, alive).acquire()
    alive.discard(1)  # the starter crashed
    adopter = _server(tmp_path, launcher, 2, alive)
    adopter.acquire()
    assert launcher.started == ["postgres"]
    adopter.release()
    assert launcher.stopped == [{"n": 1}]


def test_the_starter_gives_up_waiting_at_its_deadline(tmp_path: Path) -> None:
    launcher, alive = FakeLauncher(), {1, 2}
    owner = SharedServer(tmp_path, "postgres", launcher, pid=1, is_alive=lambda p: p in alive,
                         poll_seconds=0.01, wait_for_users_seconds=0.05)
    owner.acquire()
    _server(tmp_path, launcher, 2, alive).acquire()
    owner.release()
    assert launcher.stopped == [{"n": 1}]


def test_broker_falls_back_to_the_local_provider_and_close_stops_it(tmp_path: Path) -> None:
    launcher = FakeLauncher()
    broker = ServiceBroker(
        tmp_path, environ={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}, worker_id="gw0",
        launchers={"local": launcher}, probes={"postgres": lambda endpoint, timeout: "15.9"},
    )
    found = broker.endpoint("postgres")
    assert (found.provider, found.server_version) == ("local", "15.9")
    assert broker.endpoint("postgres") is found
    broker.close()
    broker.close()
    assert launcher.started == ["postgres"]
    assert launcher.stopped == [{"n": 1}]


# --- Docker detection ----------------------------------------------------------------------

@pytest.fixture
def ping_socket(tmp_path: Path) -> Iterator[tuple[Path, list[bytes]]]:
    """A unix socket that answers like a Docker engine (or with whatever ``replies`` holds)."""
    path = tmp_path / "docker.sock"
    replies = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(1024)
                conn.sendall(replies[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path, replies
    stop.set()
    thread.join(2)
    server.close()


def test_a_docker_engine_that_answers_ping_is_detected(
    ping_socket: tuple[Path, list[bytes]],
) -> None:
    path, _ = ping_socket
    status = docker_engine_answers({"DOCKER_HOST": f"unix://{path}"})
    assert status.answers, status.detail


def test_a_socket_that_answers_ping_with_an_error_is_not_an_engine(
    ping_socket: tuple[Path, list[bytes]],
) -> None:
    path, replies = ping_socket
    replies[0] = b"HTTP/1.1 500 Internal Server Error\r\n\r\n"
    assert not docker_engine_answers({"DOCKER_HOST": f"unix://{path}"}).answers


@pytest.mark.parametrize(
    ("docker_host", "detail"),
    [
        ("unix:///nonexistent/docker.sock", "no Docker socket"),
        ("tcp://127.0.0.1:{closed}", "no Docker engine answers"),
        ("ssh://somewhere", "is not unix:// or tcp://"),
    ],
)
def test_no_docker_engine_is_detected_fast(docker_host: str, detail: str) -> None:
    started = time.monotonic()
    status = docker_engine_answers({"DOCKER_HOST": docker_host.format(closed=_closed_port())})
    assert time.monotonic() - started < 0.5
    assert not status.answers
    assert detail in status.detail


def test_a_silent_socket_is_given_up_on_within_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        started = time.monotonic()
        status = docker_engine_answers({"DOCKER_HOST": f"unix://{path}"}, timeout=0.2)
    assert time.monotonic() - started < 0.6
    assert not status.answers
