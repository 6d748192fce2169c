"""One object per pytest process that hands out service endpoints and cleans up after.

The plugin creates a :class:`ServiceBroker` per session (controller and each xdist
worker), asks it for endpoints from the ``dpone_service`` fixture and closes it at
session end. Providers are tried in SPEC §7 order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pytest_dpone.services import ENV_VARS, Endpoint, ServiceUnavailable, unavailable_reason

DEFAULT_PORTS = {
    "postgres": 5432,
    "mssql": 1433,
    "clickhouse": 9000,
    "kafka": 9092,
    "schema_registry": 8081,
    "minio": 9000,
    "mysql": 3306,
}


def redact_url(url: str) -> str:
    """Drop the password from a URL's userinfo."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _port(raw: str | None, *, var: str, service: str) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ServiceUnavailable(service, f"dpone: {var}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ServiceUnavailable(service, f"dpone: {var}={raw!r} is out of the port range")
    return port


def endpoint_from_env(service: str, environ: Mapping[str, str]) -> Endpoint | None:
    """Provider (1): an endpoint named by environment variables, or None when none are set."""
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
        url = f"postgresql://{user}:{password}@{host}:{port}/{database}"
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
        scheme = "mssql" if service == "mssql" else "clickhouse"
        url = f"{scheme}://{host}:{port}"
        return Endpoint(service=service, provider="env", host=host, port=port, url=url,
                        redacted_url=url)
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
    return Endpoint(
        service=service, provider="env", host=parts.hostname or "localhost",
        port=parts.port, url=value, redacted_url=redact_url(value),
    )


class ServiceBroker:
    """Hands out endpoints for one pytest process; ``close()`` stops what it started."""

    def __init__(self, root: Path, *, worker_id: str | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.worker_id = worker_id
        self._environ = os.environ if environ is None else environ
        self._cache: dict[str, Endpoint] = {}

    def endpoint(self, service: str) -> Endpoint:
        """A ready endpoint for ``service``, or :class:`ServiceUnavailable` naming the env vars."""
        if service in self._cache:
            return self._cache[service]
        found = endpoint_from_env(service, self._environ)
        if found is None:
            raise ServiceUnavailable(service, unavailable_reason(service))
        self._cache[service] = found
        return found

    def close(self) -> None:
        """Stop whatever this process started; idempotent."""
        self._cache.clear()


__all__ = ["ENV_VARS", "ServiceBroker", "endpoint_from_env", "redact_url"]
