"""Streamed sha256 of many files at once.

Files are read in fixed-size chunks into one reused buffer (memory stays flat whatever
the size) and hashed with :mod:`hashlib` (OpenSSL). ``hashlib`` releases the GIL while it
hashes, so a thread pool spreads files across cores.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# 256 KiB, as hashlib.file_digest: each chunk is still in L2 cache when it is hashed.
CHUNK_BYTES = 1 << 18


@dataclass(frozen=True)
class FileDigest:
    """sha256 and size of one file, or why it could not be hashed."""

    path: Path
    exists: bool
    sha256: str | None = None
    size_bytes: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.sha256 is not None


def open_flags(path: Path) -> tuple[int, str | None]:
    """Flags to open an artifact with, or why it must not be opened at all.

    A symlink is followed only when its target stays inside the link's own directory
    (``latest.json -> runs/42.json``); one that leaves it (``-> /etc/passwd``,
    ``-> ../other-run/x.json``) is refused. A path that is not a symlink is opened with
    ``O_NOFOLLOW``, so swapping in a symlink after the check fails instead of following it.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        is_link = False  # open() below reports the real problem
    if not is_link:
        return flags | getattr(os, "O_NOFOLLOW", 0), None
    try:
        target = Path(os.path.realpath(path, strict=True))
        target.relative_to(Path(os.path.realpath(path.parent)))
    except ValueError:
        return flags, f"a symlink leaving its directory (to {target})"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return flags, "symlink loop"
        return flags, None  # dangling: open() reports it as not found
    except RuntimeError:  # a loop, on Pythons that raise it from realpath
        return flags, "symlink loop"
    return flags, None


def hash_file(path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> FileDigest:
    """Hash a regular file without loading it; FIFOs and devices are refused, not read."""
    flags, refused = open_flags(path)
    if refused is not None:
        return FileDigest(path, exists=True, problem=refused)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return FileDigest(path, exists=False, problem="file not found")
    except IsADirectoryError:
        return FileDigest(path, exists=True, problem="a directory, not a file")
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return FileDigest(path, exists=False, problem="file not found")
        if exc.errno == errno.ELOOP:
            return FileDigest(path, exists=True, problem="a symlink, not a regular file")
        return FileDigest(path, exists=True, problem=f"unreadable: {exc.strerror}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            return FileDigest(path, exists=True, problem=kind)
        digest = hashlib.sha256()
        # No bigger than the file: small artifacts do not pay for zeroing a whole chunk.
        buffer = bytearray(max(1, min(chunk_bytes, info.st_size)))
        view = memoryview(buffer)
        total = 0
        with open(fd, "rb", buffering=0, closefd=False) as handle:
            while True:
                count = handle.readinto(view)
                if not count:
                    break
                digest.update(view[:count])
                total += count
        return FileDigest(path, exists=True, sha256=digest.hexdigest(), size_bytes=total)
    except OSError as exc:
        return FileDigest(path, exists=True, problem=f"unreadable: {exc.strerror}")
    finally:
        os.close(fd)


def default_workers() -> int:
    return max(1, min(32, os.cpu_count() or 1))


def hash_files(paths: Sequence[Path], *, workers: int | None = None) -> list[FileDigest]:
    """Hash ``paths`` in parallel; results come back in the order given."""
    count = default_workers() if workers is None else max(1, workers)
    if count == 1 or len(paths) <= 1:
        return [hash_file(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(count, len(paths))) as pool:
        return list(pool.map(hash_file, paths))
