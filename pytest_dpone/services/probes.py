"""Readiness probes that speak each service's protocol, and the bounded wait around them.

Each probe makes one attempt and returns the server version it learned (or None); it
raises on any failure. :func:`wait_ready` retries until a deadline and then raises
:class:`~pytest_dpone.services.ServiceNotReady` with the last error, so a configured
endpoint that does not answer fails loudly instead of looking unconfigured.
Client libraries are imported lazily: the plugin loads without the ``services`` extra.
"""

from __future__ import annotations

import base64
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pytest_dpone.services import Endpoint, ServiceNotReady

Probe = Callable[[Endpoint, float], "str | None"]


class ClientMissing(Exception):
    """The probe's client library is not installed; retrying cannot help."""


def _need(module: str, package: str) -> object:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ClientMissing(
            f"the {module} client is not installed (pip install 'pytest-dpone[services]' "
            f"or pip install {package})"
        ) from None


def probe_postgres(endpoint: Endpoint, timeout: float) -> str | None:
    """``SELECT 1`` then ``SHOW server_version``."""
    psycopg = _need("psycopg", "psycopg[binary]")
    connect = psycopg.connect  # type: ignore[attr-defined]
    with connect(endpoint.url, connect_timeout=max(1, round(timeout))) as conn:
        cur = conn.execute("SELECT 1")
        if cur.fetchone() != (1,):
            raise RuntimeError("SELECT 1 did not return 1")
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else None


def probe_mssql(endpoint: Endpoint, timeout: float) -> str | None:
    """``SELECT 1`` and ``SERVERPROPERTY('ProductVersion')`` through python-tds."""
    pytds = _need("pytds", "python-tds")
    connect = pytds.connect  # type: ignore[attr-defined]
    with connect(
        server=endpoint.host, port=endpoint.port or 1433, user=endpoint.user or "sa",
        password=endpoint.password or "", database=endpoint.database or "master",
        login_timeout=timeout, timeout=timeout,
    ) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1, CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128))")
        row = cur.fetchone()
    if not row or row[0] != 1:
        raise RuntimeError("SELECT 1 did not return 1")
    return str(row[1])


def _http_get(url: str, timeout: float) -> tuple[int, bytes, Mapping[str, str]]:
    """GET with credentials from the URL's userinfo sent as Basic auth, not in the URL."""
    parts = urlsplit(url)
    headers = {"User-Agent": "pytest-dpone-probe"}
    if parts.username is not None:
        token = base64.b64encode(
            f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        ).decode()
        headers["Authorization"] = f"Basic {token}"
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(65536), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(4096), dict(exc.headers or {})


def _http_base(endpoint: Endpoint, *, default_scheme: str = "http") -> str:
    url = endpoint.url if "://" in endpoint.url else f"{default_scheme}://{endpoint.url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        url = f"http://{endpoint.host}:{endpoint.port}" if endpoint.port else f"http://{endpoint.host}"
    return url.rstrip("/")


def probe_clickhouse(endpoint: Endpoint, timeout: float) -> str | None:
    """``SELECT 1`` and ``version()``: HTTP interface for an http(s) URL, else native protocol."""
    if urlsplit(endpoint.url).scheme not in ("http", "https"):
        driver = _need("clickhouse_driver", "clickhouse-driver (or set DPONE_IT_CH_HTTP_PORT)")
        client = driver.Client(  # type: ignore[attr-defined]
            host=endpoint.host, port=endpoint.port or 9000, user=endpoint.user or "default",
            password=endpoint.password or "", database=endpoint.database or "default",
            connect_timeout=timeout, send_receive_timeout=timeout,
        )
        try:
            rows = client.execute("SELECT 1, version()")
        finally:
            client.disconnect()
        if not rows or rows[0][0] != 1:
            raise RuntimeError("SELECT 1 did not return 1")
        return str(rows[0][1])
    base = _http_base(endpoint)
    status, body, _ = _http_get(f"{base}/?query={quote('SELECT 1, version() FORMAT TSV')}", timeout)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    one, _, version = body.decode("utf-8", "replace").strip().partition("\t")
    if one != "1":
        raise RuntimeError(f"SELECT 1 returned {body[:200]!r}")
    return version or None


def probe_schema_registry(endpoint: Endpoint, timeout: float) -> str | None:
    """``GET /subjects`` must answer 200 with a JSON list."""
    status, body, _ = _http_get(f"{_http_base(endpoint)}/subjects", timeout)
    if status != 200 or not body.lstrip().startswith(b"["):
        raise RuntimeError(f"GET /subjects answered HTTP {status}: {body[:200]!r}")
    return None


def probe_minio(endpoint: Endpoint, timeout: float) -> str | None:
    """``GET /minio/health/live`` must answer 200; the Server header names the build."""
    status, body, headers = _http_get(f"{_http_base(endpoint)}/minio/health/live", timeout)
    if status != 200:
        raise RuntimeError(f"GET /minio/health/live answered HTTP {status}: {body[:200]!r}")
    return (headers.get("Server") or "").strip() or None


def _kafka_request(host: str, port: int, api_key: int, payload: bytes, timeout: float) -> bytes:
    client = b"pytest-dpone"
    correlation = 7
    header = struct.pack(">hhih", api_key, 0, correlation, len(client)) + client
    message = header + payload
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(message)) + message)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        if not 4 <= size <= 16 * 1024 * 1024:
            raise RuntimeError(f"implausible Kafka response size {size}")
        body = _recv_exact(sock, size)
    if struct.unpack(">i", body[:4])[0] != correlation:
        raise RuntimeError("Kafka response has the wrong correlation id")
    return body[4:]


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            raise RuntimeError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def kafka_metadata_brokers(host: str, port: int, timeout: float) -> list[tuple[int, str, int]]:
    """Brokers from a Metadata v0 request (no topics): ``[(node_id, host, port)]``."""
    body = _kafka_request(host, port, 3, struct.pack(">i", 0), timeout)
    count = struct.unpack(">i", body[:4])[0]
    offset, brokers = 4, []
    for _ in range(count):
        node_id, host_len = struct.unpack(">ih", body[offset:offset + 6])
        offset += 6
        broker_host = body[offset:offset + host_len].decode("utf-8")
        offset += host_len
        (broker_port,) = struct.unpack(">i", body[offset:offset + 4])
        offset += 4
        brokers.append((node_id, broker_host, broker_port))
    return brokers


def probe_kafka(endpoint: Endpoint, timeout: float) -> str | None:
    """A Kafka Metadata request to the first bootstrap server must list ≥ 1 broker."""
    first = endpoint.url.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"tcp://{first}")
    brokers = kafka_metadata_brokers(parts.hostname or endpoint.host, parts.port or 9092, timeout)
    if not brokers:
        raise RuntimeError("Kafka metadata lists no brokers")
    return None  # the Kafka protocol does not report a server version


PROBES: dict[str, Probe] = {
    "postgres": probe_postgres,
    "mssql": probe_mssql,
    "clickhouse": probe_clickhouse,
    "kafka": probe_kafka,
    "schema_registry": probe_schema_registry,
    "minio": probe_minio,
}


def wait_ready(
    endpoint: Endpoint,
    *,
    timeout: float,
    probe: Probe | None = None,
    attempt_timeout: float = 3.0,
    interval: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Probe until ready or ``timeout`` seconds pass; return the server version.

    A service without a probe (mysql, bigquery) is taken as configured, version unknown.
    """
    probe = probe or PROBES.get(endpoint.service)
    if probe is None:
        return None
    deadline = clock() + timeout
    attempts = 0
    while True:
        attempts += 1
        remaining = deadline - clock()
        try:
            return probe(endpoint, max(0.2, min(attempt_timeout, remaining)))
        except ClientMissing as exc:
            raise ServiceNotReady(
                endpoint.service,
                f"dpone: cannot probe {endpoint.service} at {endpoint.redacted_url} "
                f"(provider {endpoint.provider}): {exc}",
            ) from None
        except Exception as exc:  # every failure of one attempt is retried until the deadline
            last = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            if endpoint.password:
                last = last.replace(endpoint.password, "***")
        if clock() + interval >= deadline:
            raise ServiceNotReady(
                endpoint.service,
                f"dpone: {endpoint.service} at {endpoint.redacted_url} (provider "
                f"{endpoint.provider}) not ready after {timeout:g}s and {attempts} attempts: "
                f"{last}",
            )
        sleep(interval)
