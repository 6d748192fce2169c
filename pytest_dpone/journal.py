"""The per-test journal writer: one JSON line per finished test, flushed each time.

Flushing hands the line to the OS, which is what survives a SIGKILL of this process;
fsync per test would only add power-loss safety at a cost the overhead budget forbids.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO, Any

from dpone_ops.evidence_io import header_line


def _line(entry: dict[str, Any]) -> str:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"


class JournalWriter:
    """Append-only journal; ``close`` writes the footer that marks a session as ended.

    Opening raises ``OSError`` (the evidence dir is unusable); a later write that fails
    (disk full) stops the journal and is kept in ``failed`` instead of breaking the session.
    """

    def __init__(self, path: Path, run: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.failed: str | None = None
        self._handle: IO[str] | None = path.open("w", encoding="utf-8")
        self._write(header_line(run))
        if self.failed is not None:
            raise OSError(self.failed)

    def _write(self, entry: dict[str, Any]) -> None:
        if self._handle is None:
            return
        try:
            self._handle.write(_line(entry))
            self._handle.flush()
        except OSError as exc:
            self.failed = f"cannot write {self.path}: {exc.strerror or exc}"
            self._abandon()

    def _abandon(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()

    def collection(self, collection: dict[str, Any]) -> None:
        self._write({"type": "collection", "collection": collection})

    def case(self, case: dict[str, Any]) -> None:
        self._write({"type": "case", "case": case})

    def close(self, footer: dict[str, Any] | None) -> None:
        if self._handle is None:
            return
        if footer is not None:
            self._write({"type": "footer", "footer": footer})
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError as exc:  # the buffered footer could not be flushed
                self.failed = f"cannot write {self.path}: {exc.strerror or exc}"
            self._handle = None


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

