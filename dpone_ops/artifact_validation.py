"""Read artifacts fail-closed (SPEC §3.3).

Reading is split from judging: :func:`read_file` does the I/O (regular files only, size
limit, digest) and :func:`judge` is pure (strict JSON, model validation of known kinds,
the fail-closed rule for generic artifacts, release/commit/profile binding).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dpone_ops.errors import UsageError
from dpone_ops.hashing import open_flags
from dpone_ops.models import KINDS, SLOT_KINDS
from dpone_ops.models.base import Artifact
from dpone_ops.models.status import ArtifactStatus
from dpone_ops.strict_json import StrictJSONError, loads_strict

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_BYTES_ENV = "DPONE_MAX_ARTIFACT_BYTES"
# A generic artifact with one of these statuses is red, whatever else it says.
FAILING_STATUSES = frozenset(
    {"fail", "failed", "failure", "blocked", "regression", "rollback_required", "error",
     "errored", "unverified", "broken"}
)
# A generic artifact listing anything under one of these keys is red.
FINDING_KEYS = ("blockers", "violations", "findings", "errors", "failures")
BINDING_FIELDS = (("release", "release_mismatch"), ("commit_sha", "commit_mismatch"),
                  ("profile", "profile_mismatch"))


def max_artifact_bytes(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    raw = env.get(MAX_BYTES_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{MAX_BYTES_ENV} must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise UsageError(f"{MAX_BYTES_ENV} must be a positive integer, got {raw!r}")
    return value


@dataclass(frozen=True)
class FileRead:
    """The result of reading one path: bytes and digest, or why there are none."""

    path: Path
    exists: bool
    regular: bool
    size_bytes: int | None = None
    sha256: str | None = None
    payload: bytes | None = None
    problem: str | None = None


def read_file(path: Path, *, max_bytes: int | None = None) -> FileRead:
    """Open ``path`` without blocking (FIFOs), accept only a regular file within the limit."""
    limit = max_artifact_bytes() if max_bytes is None else max_bytes
    flags, refused = open_flags(path)
    if refused is not None:
        return FileRead(path, exists=True, regular=False, problem=refused)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return FileRead(path, exists=False, regular=False, problem="file not found")
    except IsADirectoryError:
        return FileRead(path, exists=True, regular=False, problem="a directory, not a file")
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink swapped in after the check
            return FileRead(path, exists=True, regular=False,
                            problem="a symlink, not a regular file")
        return FileRead(path, exists=True, regular=False, problem=f"unreadable: {exc.strerror}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = ("a directory, not a file" if stat.S_ISDIR(info.st_mode)
                    else "not a regular file (a FIFO, socket or device)")
            return FileRead(path, exists=True, regular=False, problem=what)
        if info.st_size > limit:
            return FileRead(
                path, exists=True, regular=True, size_bytes=info.st_size,
                problem=f"{info.st_size} bytes exceeds the {limit}-byte limit ({MAX_BYTES_ENV})",
            )
        chunks: list[bytes] = []
        total = 0
        digest = hashlib.sha256()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # grew while we read it
                return FileRead(path, exists=True, regular=True, size_bytes=total,
                                problem=f"more than the {limit}-byte limit ({MAX_BYTES_ENV})")
            digest.update(chunk)
            chunks.append(chunk)
    except OSError as exc:
        return FileRead(path, exists=True, regular=True, problem=f"unreadable: {exc.strerror}")
    finally:
        os.close(fd)
    payload = b"".join(chunks)
    return FileRead(path, exists=True, regular=True, size_bytes=total,
                    sha256=digest.hexdigest(), payload=payload)


@dataclass(frozen=True)
class Binding:
    """What the consumer knows; an artifact carrying a different value is a mismatch."""

    release: str | None = None
    commit_sha: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class LoadedArtifact:
    """A judged artifact: its status, and the validated model when it is of a known kind."""

    status: ArtifactStatus
    model: Artifact | None = None
    data: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return self.status.passed


def expected_kind_for(name: str) -> str | None:
    """The kind a slot name demands: a conventional slot, or a name that is itself a kind."""
    if name in SLOT_KINDS:
        return SLOT_KINDS[name]
    return name if name in KINDS else None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
    return f"{loc}: {err['msg']}"


def generic_verdict(data: Mapping[str, Any]) -> tuple[bool, str]:
    """The fail-closed rule for an artifact of no known kind: explicit pass, nothing against."""
    if data.get("passed") is not True:
        return False, "no explicit \"passed\": true"
    for key in FINDING_KEYS:
        value = data.get(key)
        if value not in (None, [], {}, 0, ""):
            return False, f"lists {key}"
    for key in ("status", "evidence_status"):
        value = data.get(key)
        if isinstance(value, str) and value.strip().lower() in FAILING_STATUSES:
            return False, f"{key} is {value!r}"
        if value is not None and not isinstance(value, str):
            return False, f"{key} is not a string"
    if data.get("verified") is False:
        return False, "verified is false"
    return True, "explicit pass with no findings"


def _binding_blockers(name: str, data: Mapping[str, Any], binding: Binding) -> list[str]:
    codes = []
    for key, reason in BINDING_FIELDS:
        want = getattr(binding, key)
        have = data.get(key)
        if want is not None and have is not None and have != want:
            codes.append(f"{name}.{reason}")
    return codes


def judge(
    name: str,
    read: FileRead,
    *,
    required: bool,
    binding: Binding | None = None,
    expected_kind: str | None = None,
) -> LoadedArtifact:
    """Decide one artifact's status from what was read; pure, never raises on bad input."""
    binding = binding or Binding()
    expected = expected_kind if expected_kind is not None else expected_kind_for(name)
    base: dict[str, Any] = {
        "name": name, "path": str(read.path), "required": required, "exists": read.exists,
        "sha256": read.sha256, "size_bytes": read.size_bytes, "kind": None,
        "schema_version": None,
    }

    def status(summary: str, blockers: list[str], **extra: Any) -> ArtifactStatus:
        codes = sorted(set(blockers))
        fields = {**base, **extra}
        return ArtifactStatus(passed=not codes, summary=summary,
                              blocker=codes[0] if codes else None, blockers=codes, **fields)

    if not read.exists or not read.regular:
        return LoadedArtifact(status(f"{read.path}: {read.problem}", [f"{name}.missing"]))
    if read.payload is None:
        return LoadedArtifact(status(f"{read.path}: {read.problem}", [f"{name}.invalid"]))
    try:
        text = read.payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LoadedArtifact(status(f"{read.path}: not UTF-8 (byte {exc.start})",
                                     [f"{name}.invalid"]))
    try:
        data = loads_strict(text)
    except StrictJSONError as exc:
        return LoadedArtifact(status(f"{read.path}: invalid JSON: {exc}", [f"{name}.invalid"]))
    if not isinstance(data, dict):
        return LoadedArtifact(status(f"{read.path}: top level is {type(data).__name__}, "
                                     "not an object", [f"{name}.invalid"]))
    kind = data.get("kind") if isinstance(data.get("kind"), str) else None
    schema = data.get("schema_version")
    shown = {"kind": kind, "schema_version": schema if isinstance(schema, str) else None}
    bound = _binding_blockers(name, data, binding)
    model_cls = KINDS.get(kind) if kind else None

    if expected is not None and kind != expected:
        legacy_ok, why = generic_verdict(data)
        what = f"kind {kind!r}" if kind else "no kind (self-declared or legacy format)"
        summary = f"{read.path}: expected a {expected} artifact, got {what}"
        if not legacy_ok:
            return LoadedArtifact(status(f"{summary}; {why}", [f"{name}.not_passed", *bound],
                                         **shown), data=data)
        return LoadedArtifact(status(summary, [f"{name}.invalid", *bound], **shown), data=data)

    if model_cls is not None:
        try:
            model = model_cls.model_validate_json(read.payload)
        except ValidationError as exc:
            return LoadedArtifact(status(f"{read.path}: {_first_error(exc)}",
                                         [f"{name}.invalid", *bound], **shown), data=data)
        blockers = list(bound)
        if not model.passed:
            blockers.append(f"{name}.not_passed")
        summary = model.summary if model.passed else (
            f"{model.evidence_status}: {', '.join(model.blockers)}"
        )
        return LoadedArtifact(status(summary, blockers, **shown), model=model, data=data)

    if isinstance(schema, str) and schema.startswith("dpone."):
        # Claims to be ours, but no model knows it: a future or misspelt kind.
        return LoadedArtifact(status(f"{read.path}: unknown dpone kind {kind!r} ({schema})",
                                     [f"{name}.invalid", *bound], **shown), data=data)
    ok, why = generic_verdict(data)
    blockers = list(bound) if ok else [f"{name}.not_passed", *bound]
    return LoadedArtifact(status(f"generic artifact: {why}", blockers, **shown), data=data)


def load_artifact(
    name: str,
    path: Path,
    *,
    required: bool,
    binding: Binding | None = None,
    expected_kind: str | None = None,
    max_bytes: int | None = None,
) -> LoadedArtifact:
    """Read and judge one artifact."""
    return judge(name, read_file(path, max_bytes=max_bytes), required=required,
                 binding=binding, expected_kind=expected_kind)


def missing(name: str, *, required: bool = True) -> LoadedArtifact:
    """The status of a required artifact that nobody provided."""
    code = f"{name}.missing"
    return LoadedArtifact(ArtifactStatus(
        name=name, path="", required=required, exists=False, passed=False, sha256=None,
        size_bytes=None, kind=None, schema_version=None,
        summary="required artifact not provided", blocker=code, blockers=[code],
    ))
