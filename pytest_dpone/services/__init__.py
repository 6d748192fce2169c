"""Where a marked test's service lives (SPEC §7).

Resolution order: (1) environment variables, (2) testcontainers when a Docker engine
answers, (3) for postgres a throwaway local server, (4) otherwise unavailable with a
reason that names the variables to set. This module holds the shared vocabulary; the
providers live beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

KNOWN_SERVICES = (
    "postgres",
    "mssql",
    "clickhouse",
    "kafka",
    "schema_registry",
    "minio",
    "mysql",
    "bigquery",
)

# The variables that point a service at an existing endpoint, in the order they are read.
ENV_VARS: dict[str, tuple[str, ...]] = {
    "postgres": ("DPONE_IT_PG_HOST", "DPONE_IT_PG_PORT", "DPONE_POSTGRES_URL"),
    "mssql": ("DPONE_IT_MSSQL_HOST", "DPONE_IT_MSSQL_PORT", "DPONE_MSSQL_URL"),
    "clickhouse": ("DPONE_IT_CH_HOST", "DPONE_IT_CH_PORT", "DPONE_CLICKHOUSE_URL"),
    "kafka": ("DPONE_KAFKA_BOOTSTRAP_SERVERS", "DPONE_KAFKA_URL"),
    "schema_registry": ("DPONE_SCHEMA_REGISTRY_URL",),
    "minio": ("DPONE_IT_MINIO_ENDPOINT", "DPONE_MINIO_URL"),
    "mysql": ("DPONE_MYSQL_URL",),
    "bigquery": ("DPONE_BIGQUERY_URL", "GOOGLE_APPLICATION_CREDENTIALS"),
}


@dataclass(frozen=True)
class Endpoint:
    """A ready service. ``url`` may carry credentials; ``redacted_url`` never does."""

    service: str
    provider: str  # "env" | "testcontainers" | "local"
    host: str
    port: int | None
    url: str = field(repr=False)  # may carry credentials
    redacted_url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    server_version: str | None = None

    def facts(self) -> dict[str, str | None]:
        """What the evidence may record about this endpoint (no secrets)."""
        return {
            "provider": self.provider,
            "endpoint": self.redacted_url,
            "server_version": self.server_version,
        }


class ServiceUnavailable(Exception):
    """No provider could serve the service; the message names the variables to set."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(reason)
        self.service = service
        self.reason = reason


class ServiceNotReady(Exception):
    """A service was configured or started but does not work: the test must error, not skip.

    Raised for an env-configured endpoint that does not answer its readiness probe within
    the bounded wait, for a malformed env value, and for a provider that tried to start a
    server and failed. Deliberately not a :class:`ServiceUnavailable`, so a fixture that
    turns "unavailable" into a skip cannot hide a broken configuration.
    """

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(reason)
        self.service = service
        self.reason = reason


def unavailable_reason(service: str, detail: str = "") -> str:
    names = ", ".join(ENV_VARS.get(service, (f"DPONE_{service.upper()}_URL",)))
    tail = f" ({detail})" if detail else ""
    return f"dpone: no {service} service available; set {names}{tail}"


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
