"""One object per pytest process that hands out service endpoints and cleans up after.

The plugin creates a :class:`ServiceBroker` per session (controller and each xdist
worker), asks it for endpoints from the ``dpone_service`` fixture and closes it at
session end. Providers are tried in SPEC §7 order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlsplit

from pytest_dpone.services import (
    ENV_VARS,
    Endpoint,
    ServiceNotReady,
    ServiceUnavailable,
    redact_url,
    unavailable_reason,
)
from pytest_dpone.services.probes import Probe, wait_ready
from pytest_dpone.services.sharing import Launcher, SharedServer

DEFAULT_PORTS = {
    "postgres": 5432,
    "mssql": 1433,
    "clickhouse": 9000,
    "kafka": 9092,
    "schema_registry": 8081,
    "minio": 9000,
    "mysql": 3306,
}


def _port(raw: str | None, *, var: str, service: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ServiceNotReady(service, f"dpone: {var}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ServiceNotReady(service, f"dpone: {var}={raw!r} is out of the port range")
    return port


def endpoint_from_env(service: str, environ: Mapping[str, str]) -> Endpoint | None:
    """Provider (1): an endpoint named by environment variables, or None when none are set."""
    user: str | None
    password: str | None
    database: str | None
    url_var = f"DPONE_{service.upper()}_URL"
    url = environ.get(url_var, "").strip()
    if url:
        parts = urlsplit(url if "://" in url else f"tcp://{url}")
        return Endpoint(
            service=service, provider="env", host=parts.hostname or "localhost",
            port=parts.port, url=url, redacted_url=redact_url(url), user=parts.username,
            password=parts.password, database=parts.path.lstrip("/") or None,
        )
    if service == "postgres":
        host = environ.get("DPONE_IT_PG_HOST", "").strip()
        port = _port(environ.get("DPONE_IT_PG_PORT"), var="DPONE_IT_PG_PORT", service=service)
        if not host and port is None:
            return None
        host = host or "127.0.0.1"
        port = port or DEFAULT_PORTS["postgres"]
        user = environ.get("DPONE_IT_PG_USER", "dpone")
        password = environ.get("DPONE_IT_PG_PASSWORD", "dpone")
        database = environ.get("DPONE_IT_PG_DB", "dpone_it")
        auth = f"{quote(user, safe='')}:{quote(password, safe='')}"
        url = f"postgresql://{auth}@{host}:{port}/{database}"
        return Endpoint(
            service=service, provider="env", host=host, port=port, url=url,
            redacted_url=redact_url(url), user=user, password=password, database=database,
        )
    if service in ("mssql", "clickhouse"):
        prefix = "DPONE_IT_MSSQL" if service == "mssql" else "DPONE_IT_CH"
        host = environ.get(f"{prefix}_HOST", "").strip()
        port = _port(environ.get(f"{prefix}_PORT"), var=f"{prefix}_PORT", service=service)
        if not host and port is None:
            return None
        host = host or "127.0.0.1"
        port = port or DEFAULT_PORTS[service]
        user = environ.get(f"{prefix}_USER") or ("sa" if service == "mssql" else "default")
        password = environ.get(f"{prefix}_PASSWORD") or None
        database = environ.get(f"{prefix}_DB") or None
        auth = quote(user, safe="") + (f":{quote(password, safe='')}@" if password else "@")
        url = f"{'mssql' if service == 'mssql' else 'clickhouse'}://{auth}{host}:{port}"
        http_port = _port(environ.get("DPONE_IT_CH_HTTP_PORT"), var="DPONE_IT_CH_HTTP_PORT",
                          service=service) if service == "clickhouse" else None
        if http_port is not None:
            # The readiness probe then speaks HTTP and needs no native client.
            url = f"http://{auth}{host}:{http_port}"
        return Endpoint(service=service, provider="env", host=host, port=port, url=url,
                        redacted_url=redact_url(url), user=user, password=password,
                        database=database)
    single = {
        "kafka": "DPONE_KAFKA_BOOTSTRAP_SERVERS",
        "schema_registry": "DPONE_SCHEMA_REGISTRY_URL",
        "minio": "DPONE_IT_MINIO_ENDPOINT",
    }.get(service)
    if single is None:
        return None
    value = environ.get(single, "").strip()
    if not value:
        return None
    parts = urlsplit(value if "://" in value else f"tcp://{value.split(',')[0]}")
    user = password = None
    if service == "minio":
        user = environ.get("DPONE_IT_MINIO_ACCESS_KEY") or None
        password = environ.get("DPONE_IT_MINIO_SECRET_KEY") or None
    return Endpoint(
        service=service, provider="env", host=parts.hostname or "localhost",
        port=parts.port, url=value, redacted_url=redact_url(value), user=user,
        password=password,
    )


PROVIDERS = ("env", "testcontainers", "local")
DEFAULT_READY_TIMEOUT = 30.0


def _providers(environ: Mapping[str, str], given: Sequence[str] | None) -> tuple[str, ...]:
    raw = given if given is not None else [
        name.strip() for name in environ.get("DPONE_SERVICE_PROVIDERS", "").split(",")
        if name.strip()
    ]
    chosen = tuple(raw) or PROVIDERS
    unknown = sorted(set(chosen) - set(PROVIDERS))
    if unknown:
        raise ValueError(
            f"DPONE_SERVICE_PROVIDERS: unknown provider(s) {', '.join(unknown)}; "
            f"choose from {', '.join(PROVIDERS)}"
        )
    return chosen


def _ready_timeout(environ: Mapping[str, str], given: float | None) -> float:
    if given is not None:
        return given
    raw = environ.get("DPONE_SERVICE_READY_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_READY_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"DPONE_SERVICE_READY_TIMEOUT={raw!r} is not a number") from None
    if not 0 < value <= 3600:
        raise ValueError(f"DPONE_SERVICE_READY_TIMEOUT={raw!r} must be in (0, 3600]")
    return value


def _missing_modules(*names: str) -> str:
    """Comma-joined names that cannot be found (located without importing them)."""
    import importlib.util

    return ", ".join(name for name in names if importlib.util.find_spec(name) is None)


class ServiceBroker:
    """Hands out ready endpoints for one pytest process; ``close()`` stops what it started.

    Order (SPEC §7): (1) env vars; (2) testcontainers when a Docker engine answers;
    (3) for postgres a local throwaway server; (4) :class:`ServiceUnavailable` naming the
    variables to set and why each provider was passed over. A provider that was chosen
    but fails (an env endpoint that does not answer its probe within ``ready_timeout``,
    a server that would not start) raises :class:`ServiceNotReady` instead: the test
    must error, never skip as if nothing were configured. Outcomes, good or bad, are
    cached per service, so a dead endpoint costs one bounded wait per process.

    Servers started by (2) and (3) are shared by every process that passes the same
    ``root`` (the xdist workers of one session) through :class:`SharedServer`; the
    process that started one stops it in ``close()`` after the others left.
    ``DPONE_SERVICE_PROVIDERS=env,local`` (or ``providers=``) restricts the order.
    """

    def __init__(self, root: Path, *, worker_id: str | None = None,
                 environ: Mapping[str, str] | None = None,
                 providers: Sequence[str] | None = None,
                 ready_timeout: float | None = None,
                 launchers: Mapping[str, Launcher] | None = None,
                 share_wait_seconds: float = 3600.0,
                 probes: Mapping[str, Probe] | None = None) -> None:
        self.root = root
        self.worker_id = worker_id
        self._environ = os.environ if environ is None else environ
        self.providers = _providers(self._environ, providers)
        self.ready_timeout = _ready_timeout(self._environ, ready_timeout)
        self._launchers = dict(launchers or {})
        self._share_wait = share_wait_seconds
        self._probes = dict(probes or {})
        self._cache: dict[str, Endpoint] = {}
        self._failures: dict[str, ServiceUnavailable | ServiceNotReady] = {}
        self._shared: list[SharedServer] = []
        self._docker: tuple[bool, str] | None = None

    def endpoint(self, service: str) -> Endpoint:
        """A ready endpoint for ``service`` (see the class docstring for what is raised)."""
        if service in self._cache:
            return self._cache[service]
        if service in self._failures:
            failure = self._failures[service]
            raise type(failure)(failure.service, failure.reason)
        try:
            found = self._resolve(service)
        except (ServiceUnavailable, ServiceNotReady) as exc:
            self._failures[service] = exc
            raise
        self._cache[service] = found
        return found

    def _resolve(self, service: str) -> Endpoint:
        passed_over: list[str] = []
        if "env" in self.providers:
            found = endpoint_from_env(service, self._environ)
            if found is not None:
                return self._ready(found)
            passed_over.append("no env var set")
        if "testcontainers" in self.providers:
            launcher = self._container_launcher(service, passed_over)
            if launcher is not None:
                return self._start_shared(service, launcher)
        if "local" in self.providers and service == "postgres":
            launcher = self._local_launcher(passed_over)
            if launcher is not None:
                return self._start_shared(service, launcher)
        raise ServiceUnavailable(service, unavailable_reason(service, "; ".join(passed_over)))

    def _ready(self, endpoint: Endpoint) -> Endpoint:
        version = wait_ready(endpoint, timeout=self.ready_timeout,
                             probe=self._probes.get(endpoint.service))
        return replace(endpoint, server_version=version)

    def docker_status(self) -> tuple[bool, str]:
        """Whether a Docker engine answers (asked once per broker, in well under a second)."""
        if self._docker is None:
            from pytest_dpone.services.containers import docker_engine_answers

            status = docker_engine_answers(self._environ)
            self._docker = (status.answers, status.detail)
        return self._docker

    def _container_launcher(self, service: str, passed_over: list[str]) -> Launcher | None:
        if "testcontainers" in self._launchers:
            return self._launchers["testcontainers"]
        from pytest_dpone.services.containers import ContainerLauncher

        if service not in ContainerLauncher.supported:
            passed_over.append(f"testcontainers provider does not start {service}")
            return None
        answers, detail = self.docker_status()
        if not answers:
            passed_over.append(detail)
            return None
        missing = _missing_modules("testcontainers", "docker", "filelock")
        if missing:
            passed_over.append(f"{missing} not installed (pytest-dpone[services])")
            return None
        return ContainerLauncher()

    def _local_launcher(self, passed_over: list[str]) -> Launcher | None:
        if "local" in self._launchers:
            return self._launchers["local"]
        from pytest_dpone.services.local_postgres import (
            LocalPostgresLauncher,
            LocalPostgresMissing,
        )

        launcher = LocalPostgresLauncher(self._environ)
        try:
            launcher.check()
        except LocalPostgresMissing as exc:
            passed_over.append(f"no local server: {exc}")
            return None
        missing = _missing_modules("psycopg", "filelock")
        if missing:
            passed_over.append(f"no local server: {missing} not installed (pytest-dpone[services])")
            return None
        return launcher

    def _start_shared(self, service: str, launcher: Launcher) -> Endpoint:
        shared = SharedServer(self.root, service, launcher, member=self.worker_id,
                              wait_for_users_seconds=self._share_wait)
        started = time.monotonic()
        try:
            endpoint = shared.acquire()
        except Exception as exc:
            raise ServiceNotReady(
                service,
                f"dpone: the {launcher.provider} provider could not start {service} after "
                f"{time.monotonic() - started:.1f}s: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())}",
            ) from exc
        self._shared.append(shared)
        return self._ready(endpoint)

    def close(self) -> None:
        """Leave (and, as starter, stop) every shared server; idempotent."""
        shared, self._shared = self._shared, []
        errors: list[BaseException] = []
        for server in reversed(shared):
            try:
                server.release()
            except Exception as exc:  # stop the others before reporting
                errors.append(exc)
        self._cache.clear()
        self._failures.clear()
        if errors:
            raise errors[0]


__all__ = ["ENV_VARS", "PROVIDERS", "ServiceBroker", "endpoint_from_env", "redact_url"]
