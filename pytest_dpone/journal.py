"""The per-test journal writer: one JSON line per finished test, flushed each time.

Each line goes to the OS with one unbuffered ``write(2)`` (no fsync): that is what
survives a SIGKILL of this process; fsync per test would only add power-loss safety at a
cost the overhead budget forbids. Case lines are compact: fields at their default (see
:class:`dpone_ops.evidence_io.CaseLine`) are left out, and a plain case is formatted
without walking the generic encoder.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dpone_ops.journal_format import header_line

_encode: Callable[[Any], str] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
).encode
_string: Callable[[str], str] = json.encoder.encode_basestring
_PLAIN = frozenset({"node_id", "status", "duration_ms"})
_INF = (float("inf"), float("-inf"))


def case_line(case: dict[str, Any]) -> bytes:
    """The journal line of one case record; the common plain case skips the encoder."""
    duration = case.get("duration_ms")
    worker = case.get("worker")
    if (len(case) == 3 or (len(case) == 4 and type(worker) is str)) \
            and case.keys() - _PLAIN <= {"worker"} \
            and type(duration) is float and duration == duration and duration not in _INF:
        # node id, status, duration and maybe the xdist worker: the shape of most tests.
        text = (f'{{"type":"case","case":{{"node_id":{_string(case["node_id"])},'
                f'"status":{_string(case["status"])},"duration_ms":{duration!r}'
                + (f',"worker":{_string(worker)}' if worker is not None else "")
                + "}}\n")
    else:
        text = '{"type":"case","case":' + _encode(case) + "}\n"
    return text.encode("utf-8")


class JournalWriter:
    """Append-only journal; ``close`` writes the footer that marks a session as ended.

    Opening raises ``OSError`` (the evidence dir is unusable); a later write that fails
    (disk full) stops the journal and is kept in ``failed`` instead of breaking the session.
    Each line goes to the OS with one unbuffered ``write(2)`` (no fsync).
    """

    def __init__(self, path: Path, run: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.failed: str | None = None
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        self._fd: int | None = os.open(path, flags, 0o644)
        self._write_entry(header_line(run))
        if self.failed is not None:
            raise OSError(self.failed)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            return
        try:
            written = os.write(self._fd, data)
            if written < len(data):  # a regular file takes it in one call; loop for the rule
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(self._fd, view):]
        except OSError as exc:
            self.failed = f"cannot write {self.path}: {exc.strerror or exc}"
            self._abandon()

    def _abandon(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _write_entry(self, entry: dict[str, Any]) -> None:
        self._write((_encode(entry) + "\n").encode("utf-8"))

    def collection(self, collection: dict[str, Any]) -> None:
        self._write_entry({"type": "collection", "collection": collection})

    def case(self, case: dict[str, Any]) -> None:
        self._write(case_line(case))

    def plain_case(self, node_id: str, status: str, duration_ms: float,
                   worker: str | None) -> None:
        """The line ``case`` writes for ``{node_id, status, duration_ms[, worker]}``.

        The recorder calls this for most tests, without building the line through
        :func:`case_line`'s shape checks; ``status`` is one of the plain ASCII statuses.
        """
        if self._fd is None:
            return
        if duration_ms != duration_ms or duration_ms in _INF:
            # Not JSON: let the general path raise as it always has.
            case: dict[str, Any] = {"node_id": node_id, "status": status,
                                    "duration_ms": duration_ms}
            if worker is not None:
                case["worker"] = worker
            self._write(case_line(case))
            return
        self._write((
            f'{{"type":"case","case":{{"node_id":{_string(node_id)},"status":"{status}",'
            f'"duration_ms":{duration_ms!r}'
            + (f',"worker":{_string(worker)}}}}}\n' if worker is not None else "}}\n")
        ).encode("utf-8"))

    def close(self, footer: dict[str, Any] | None) -> None:
        if self._fd is None:
            return
        if footer is not None:
            self._write_entry({"type": "footer", "footer": footer})
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError as exc:
                self.failed = f"cannot write {self.path}: {exc.strerror or exc}"
            self._fd = None


LOCK_FILE = ".dpone-session.lock"


class EvidenceDirBusy(Exception):
    """Another live session records into the same evidence dir."""


class SessionLock:
    """An exclusive ``flock`` on ``DIR/.dpone-session.lock`` for the whole session.

    Two sessions writing one evidence dir would interleave their journals and mix their
    artifacts; the second is refused instead. The kernel drops the lock when the holder
    dies, so a killed session never blocks the next one.
    """

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, directory: Path) -> SessionLock | None:
        """The lock, or None where ``fcntl`` does not exist (Windows: no locking)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return None
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise EvidenceDirBusy(
                f"in use by another pytest session (pid {holder}); give each session its "
                "own evidence dir (merge shards with dpone ops merge-evidence)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        return cls(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing drops the flock

