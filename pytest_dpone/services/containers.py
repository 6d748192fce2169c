"""Provider (2): testcontainers, used only when a Docker engine answers.

Detecting "no Docker" must cost well under a second, so :func:`docker_engine_answers`
never imports the docker SDK: it checks that the socket exists and that ``GET /_ping``
answers within a fraction of a second. Images match ``docker/docker-compose.integration.yml``
(a test keeps the two in sync).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pytest_dpone.services import Endpoint, redact_url
from pytest_dpone.services.sharing import Launched

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

IMAGES: dict[str, str] = {
    "postgres": "postgres:16-alpine",
    "mssql": "mcr.microsoft.com/mssql/server:2022-latest",
    "clickhouse": "clickhouse/clickhouse-server:24.3",
    "kafka": "confluentinc/cp-kafka:7.6.1",
    "minio": "minio/minio:latest",
}

# A throwaway container's credentials; the password never reaches the evidence.
USER, PASSWORD, DATABASE = "dpone", "dpone", "dpone_it"
MSSQL_PASSWORD = "Dpone_It_Passw0rd!"
MINIO_KEY, MINIO_SECRET = "dpone", "dpone-secret"


@dataclass(frozen=True)
class DockerStatus:
    answers: bool
    detail: str


def _ping_request(sock: socket.socket) -> bool:
    sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    status_line = sock.recv(64).split(b"\r\n", 1)[0]
    return status_line.startswith(b"HTTP/1.") and b" 200" in status_line


def docker_engine_answers(environ: Mapping[str, str], *, timeout: float = 0.3) -> DockerStatus:
    """Whether a Docker engine answers ``GET /_ping`` at ``DOCKER_HOST`` (or the default socket)."""
    host = environ.get("DOCKER_HOST", "").strip() or DEFAULT_DOCKER_HOST
    parts = urlsplit(host)
    try:
        if parts.scheme == "unix":
            path = parts.path or "/var/run/docker.sock"
            if not os.path.exists(path):
                return DockerStatus(False, f"no Docker socket at {path}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(path)
                ok = _ping_request(sock)
        elif parts.scheme in ("tcp", "http") and parts.hostname:
            with socket.create_connection((parts.hostname, parts.port or 2375), timeout) as sock:
                sock.settimeout(timeout)
                if environ.get("DOCKER_TLS_VERIFY"):
                    return DockerStatus(True, f"Docker engine port open at {host} (TLS)")
                ok = _ping_request(sock)
        else:
            return DockerStatus(False, f"DOCKER_HOST={host!r} is not unix:// or tcp://")
    except OSError as exc:
        return DockerStatus(False, f"no Docker engine answers at {host} ({exc.strerror or exc})")
    if not ok:
        return DockerStatus(False, f"Docker engine at {host} did not answer /_ping with 200")
    return DockerStatus(True, f"Docker engine answers at {host}")


class ContainerLauncher:
    """Starts one container per service with testcontainers; stops it by container id."""

    provider = "testcontainers"
    supported = ("postgres", "mssql", "clickhouse", "kafka", "minio")

    def start(self, service: str) -> Launched:
        container, endpoint = self._create(service)
        wrapped = container.get_wrapped_container()
        return Launched(endpoint=endpoint, handle={"container_id": wrapped.id})

    def stop(self, handle: Mapping[str, Any]) -> None:
        import importlib

        docker: Any = importlib.import_module("docker")
        client = docker.from_env()
        try:
            client.containers.get(str(handle["container_id"])).remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        finally:
            client.close()

    def _create(self, service: str) -> tuple[Any, Endpoint]:
        if service == "postgres":
            from testcontainers.postgres import PostgresContainer

            pg = PostgresContainer(IMAGES[service], username=USER, password=PASSWORD,
                                   dbname=DATABASE)
            pg.with_command("postgres -c wal_level=logical").start()
            host, port = pg.get_container_host_ip(), int(pg.get_exposed_port(5432))
            url = f"postgresql://{USER}:{PASSWORD}@{host}:{port}/{DATABASE}"
            return pg, _endpoint(service, host, port, url, USER, PASSWORD, DATABASE)
        if service == "mssql":
            from testcontainers.mssql import SqlServerContainer

            ms = SqlServerContainer(IMAGES[service], password=MSSQL_PASSWORD).start()
            host, port = ms.get_container_host_ip(), int(ms.get_exposed_port(1433))
            url = f"mssql://sa:{MSSQL_PASSWORD}@{host}:{port}/master"
            return ms, _endpoint(service, host, port, url, "sa", MSSQL_PASSWORD, "master")
        if service == "clickhouse":
            from testcontainers.clickhouse import ClickHouseContainer

            ch = ClickHouseContainer(IMAGES[service], username=USER, password=PASSWORD,
                                     dbname=DATABASE).start()
            host, port = ch.get_container_host_ip(), int(ch.get_exposed_port(8123))
            url = f"http://{USER}:{PASSWORD}@{host}:{port}"
            return ch, _endpoint(service, host, port, url, USER, PASSWORD, DATABASE)
        if service == "kafka":
            from testcontainers.kafka import KafkaContainer

            kafka = KafkaContainer(IMAGES[service]).with_kraft().start()
            bootstrap = kafka.get_bootstrap_server()
            parts = urlsplit(f"tcp://{bootstrap}")
            return kafka, _endpoint(service, parts.hostname or "localhost", parts.port,
                                    bootstrap, None, None, None)
        if service == "minio":
            from testcontainers.core.container import DockerContainer

            minio = (
                DockerContainer(IMAGES[service])
                .with_env("MINIO_ROOT_USER", MINIO_KEY)
                .with_env("MINIO_ROOT_PASSWORD", MINIO_SECRET)
                .with_command("server /data")
                .with_exposed_ports(9000)
                .start()
            )
            host, port = minio.get_container_host_ip(), int(minio.get_exposed_port(9000))
            url = f"http://{host}:{port}"
            return minio, _endpoint(service, host, port, url, MINIO_KEY, MINIO_SECRET, None)
        raise ValueError(f"testcontainers provider does not start {service}")


def _endpoint(service: str, host: str, port: int | None, url: str, user: str | None,
              password: str | None, database: str | None) -> Endpoint:
    return Endpoint(service=service, provider="testcontainers", host=host, port=port, url=url,
                    redacted_url=redact_url(url), user=user, password=password,
                    database=database)
