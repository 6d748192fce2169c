"""One server per session, shared by the xdist workers through a file lock.

Protocol (all under ``<root>/services/<service>/``, every step holds ``lock``):

* ``acquire``: read ``state.json``. If it names a server, add this process to its
  ``users`` and return it. Otherwise start one (``launcher.start``), write the state
  with this process as ``owner`` and only user, and return it. Starting happens under
  the lock, so two workers never start two servers.
* ``release``: remove this process from ``users``. A non-owner is done. The owner
  waits (lock released between polls) until no *live* user is left, then stops the
  server with ``launcher.stop(handle)`` and deletes the state: the process that started
  a server stops it, after the others finish. Users whose pid is gone (a crashed
  worker) are dropped, so a crash never makes the owner wait forever.
* A state whose owner pid is gone (the owner crashed) is adopted by the next process
  that acquires it: it becomes the owner and will stop the server. The ``handle`` is
  plain JSON, so any process can stop what another started.

``root`` must be the same directory for every process of one session and unique to it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from pytest_dpone.services import Endpoint

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Launched:
    """A started server: its endpoint and the JSON-safe handle that stops it."""

    endpoint: Endpoint
    handle: JSONDict


class Launcher(Protocol):
    """Starts and stops one kind of server; ``stop`` must work from any process."""

    provider: str

    def start(self, service: str) -> Launched: ...

    def stop(self, handle: Mapping[str, Any]) -> None: ...


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 probes without sending)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def endpoint_to_json(endpoint: Endpoint) -> JSONDict:
    return asdict(endpoint)


def endpoint_from_json(data: Mapping[str, Any]) -> Endpoint:
    return Endpoint(**dict(data))


class SharedServer:
    """The lock/state protocol for one service of one session (see module docstring)."""

    def __init__(
        self,
        root: Path,
        service: str,
        launcher: Launcher,
        *,
        pid: int | None = None,
        member: str | None = None,
        is_alive: Callable[[int], bool] = pid_alive,
        poll_seconds: float = 0.1,
        wait_for_users_seconds: float = 3600.0,
    ) -> None:
        self.directory = root / "services" / service
        self.service = service
        self.launcher = launcher
        self.pid = os.getpid() if pid is None else pid
        self.member = member or f"pid{self.pid}"
        self._is_alive = is_alive
        self._poll = poll_seconds
        self._wait_for_users = wait_for_users_seconds
        self._held = False

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    def _lock(self) -> Any:
        from filelock import FileLock

        self.directory.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.directory / "lock"))

    def _read(self) -> JSONDict | None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # a torn or foreign file: treat as no server
        return data if isinstance(data, dict) else None

    def _write(self, state: JSONDict) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        # The state may hold a generated password: readable by this user only.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, sort_keys=True)
        os.replace(tmp, self.state_path)

    def _live_users(self, state: JSONDict) -> dict[str, str]:
        users = state.get("users", {})
        return {pid: who for pid, who in users.items() if self._is_alive(int(pid))}

    def acquire(self) -> Endpoint:
        """Join the session's server, starting it when there is none."""
        with self._lock():
            state = self._read()
            if state is not None:
                users = self._live_users(state)
                users[str(self.pid)] = self.member
                state["users"] = users
                if not self._is_alive(int(state.get("owner_pid", 0))):
                    state["owner_pid"] = self.pid  # adopt an orphan: we will stop it
                    state["owner"] = self.member
                self._write(state)
                self._held = True
                return endpoint_from_json(state["endpoint"])
            launched = self.launcher.start(self.service)
            self._write(
                {
                    "service": self.service,
                    "provider": self.launcher.provider,
                    "owner_pid": self.pid,
                    "owner": self.member,
                    "users": {str(self.pid): self.member},
                    "endpoint": endpoint_to_json(launched.endpoint),
                    "handle": launched.handle,
                }
            )
            self._held = True
            return launched.endpoint

    def release(self) -> None:
        """Leave the server; the owner stops it once no live user is left. Idempotent."""
        if not self._held:
            return
        self._held = False
        deadline = time.monotonic() + self._wait_for_users
        while True:
            with self._lock():
                state = self._read()
                if state is None:
                    return
                users = self._live_users(state)
                users.pop(str(self.pid), None)
                state["users"] = users
                owner = int(state.get("owner_pid", 0))
                owns = owner == self.pid
                # An orphan (owner crashed) is stopped by the last user out.
                last_out = not users and (owns or not self._is_alive(owner))
                if last_out or (owns and time.monotonic() >= deadline):
                    try:
                        self.launcher.stop(state["handle"])
                    finally:
                        self.state_path.unlink(missing_ok=True)
                    return
                self._write(state)
                if not owns:
                    return
            time.sleep(self._poll)
