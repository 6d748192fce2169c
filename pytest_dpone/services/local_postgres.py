"""Provider (3): a throwaway PostgreSQL server from the installed binaries.

``initdb`` into a fresh directory under the system temp dir, ``pg_ctl start`` on a free
loopback port with the unix socket inside that directory, a ``dpone`` role with a random
password and a ``dpone_it`` database; ``stop`` is ``pg_ctl stop -m fast`` and removes the
directory. PostgreSQL refuses to run as root, so as root every server command runs
through ``runuser -u <user> --`` (default user ``postgres``, or ``DPONE_PG_RUN_AS``) and
the directory is handed to that user; it lives under the system temp dir rather than
pytest's basetemp because the latter is private to root.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_dpone.services import Endpoint, redact_url
from pytest_dpone.services.sharing import Launched

USER, DATABASE = "dpone", "dpone_it"


class LocalPostgresMissing(Exception):
    """This machine cannot run a local server (no binaries, no unprivileged user)."""


def find_bindir(environ: Mapping[str, str]) -> Path:
    """``DPONE_PG_BINDIR``, else ``pg_config --bindir``, else the newest Debian-style install."""
    explicit = environ.get("DPONE_PG_BINDIR", "").strip()
    candidates: list[str] = [explicit] if explicit else []
    if not explicit:
        pg_config = shutil.which("pg_config")
        if pg_config:
            try:
                out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                     timeout=5, check=True, stdin=subprocess.DEVNULL)
                candidates.append(out.stdout.strip())
            except (OSError, subprocess.SubprocessError):
                pass
        installed = glob.glob("/usr/lib/postgresql/*/bin")
        candidates += sorted(installed, key=_version_key, reverse=True)
        initdb = shutil.which("initdb")
        if initdb:
            candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    where = explicit or "pg_config --bindir, /usr/lib/postgresql/*/bin or PATH"
    raise LocalPostgresMissing(f"no PostgreSQL server binaries (initdb, pg_ctl) in {where}")


def _version_key(path: str) -> tuple[int, ...]:
    digits = Path(path).parent.name
    return tuple(int(part) for part in digits.split(".") if part.isdigit())


def run_as_user(environ: Mapping[str, str]) -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None when not root."""
    if os.geteuid() != 0:
        return None
    name = environ.get("DPONE_PG_RUN_AS", "").strip() or "postgres"
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        raise LocalPostgresMissing(
            f"running as root and there is no user {name!r} to run PostgreSQL as "
            "(set DPONE_PG_RUN_AS to an unprivileged user)"
        ) from None
    if account.pw_uid == 0:
        raise LocalPostgresMissing(f"DPONE_PG_RUN_AS={name!r} is root; PostgreSQL refuses root")
    if not shutil.which("runuser"):
        raise LocalPostgresMissing("running as root but runuser(1) is not installed")
    return account


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPostgresLauncher:
    """Starts and stops throwaway clusters; ``stop`` needs only the JSON handle."""

    provider = "local"

    def __init__(self, environ: Mapping[str, str], *, start_timeout: int = 30) -> None:
        self._environ = environ
        self._start_timeout = start_timeout

    def check(self) -> None:
        """Raise :class:`LocalPostgresMissing` when this machine cannot run a server."""
        find_bindir(self._environ)
        run_as_user(self._environ)

    def start(self, service: str) -> Launched:
        if service != "postgres":
            raise ValueError(f"the local provider only starts postgres, not {service}")
        bindir = find_bindir(self._environ)
        account = run_as_user(self._environ)
        base = Path(tempfile.mkdtemp(prefix="dpone-pg-"))
        handle: dict[str, Any] = {
            "bindir": str(bindir), "base": str(base), "data": str(base / "data"),
            "run_as": account.pw_name if account else None, "started": False,
        }
        try:
            self._start_in(base, bindir, account, handle)
        except BaseException:
            self.stop(handle)
            raise
        return Launched(endpoint=self._endpoint(handle), handle=handle)

    def _start_in(self, base: Path, bindir: Path, account: pwd.struct_passwd | None,
                  handle: dict[str, Any]) -> None:
        password = secrets.token_urlsafe(18)
        socket_dir = base / "socket"
        socket_dir.mkdir()
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        os.chmod(base, 0o700)
        os.chmod(pwfile, 0o600)
        if account is not None:
            for path in (base, socket_dir, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._run(bindir / "initdb", account, [
            "-D", handle["data"], "-U", USER, "--pwfile", str(pwfile), "-E", "UTF8",
            "--locale=C", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
            "--no-sync",
        ])
        pwfile.unlink()
        port = free_loopback_port()
        options = " ".join([
            f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {socket_dir}",
            # A throwaway server: durability costs time and buys nothing.
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c wal_level=logical",
        ])
        handle.update(port=port, password=password, started=True)
        self._run(bindir / "pg_ctl", account, [
            "-D", handle["data"], "-l", str(base / "server.log"), "-o", options,
            "-w", "-t", str(self._start_timeout), "start",
        ])
        import psycopg

        admin = f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}" OWNER "{USER}"')

    def _endpoint(self, handle: Mapping[str, Any]) -> Endpoint:
        port, password = int(handle["port"]), str(handle["password"])
        url = f"postgresql://{USER}:{password}@127.0.0.1:{port}/{DATABASE}"
        return Endpoint(service="postgres", provider="local", host="127.0.0.1", port=port,
                        url=url, redacted_url=redact_url(url), user=USER, password=password,
                        database=DATABASE)

    def stop(self, handle: Mapping[str, Any]) -> None:
        """Stop the server (if it was started) and remove its directory."""
        try:
            if handle.get("started") and Path(handle["data"], "postmaster.pid").exists():
                account = pwd.getpwnam(handle["run_as"]) if handle.get("run_as") else None
                self._run(Path(handle["bindir"]) / "pg_ctl", account,
                          ["-D", handle["data"], "-m", "fast", "-w", "-t", "30", "stop"],
                          check=False)
        finally:
            shutil.rmtree(handle["base"], ignore_errors=True)

    @staticmethod
    def _run(program: Path, account: pwd.struct_passwd | None, args: Sequence[str], *,
             check: bool = True) -> None:
        argv = [str(program), *args]
        if account is not None:
            argv = ["runuser", "-u", account.pw_name, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL, cwd="/")
        if check and result.returncode != 0:
            tail = " ".join((result.stderr or result.stdout).split())[-600:]
            raise RuntimeError(f"{program.name} exited {result.returncode}: {tail}")
