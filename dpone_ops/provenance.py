"""Where an artifact comes from: producer, clock and commit.

The clock honours ``SOURCE_DATE_EPOCH`` so that rebuilding the same inputs gives
byte-identical files.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone

from dpone_ops import __version__
from dpone_ops.errors import UsageError

PRODUCER_NAME = "pytest-dpone"
COMMIT_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# CI systems that announce the commit they build, in the order we trust them.
CI_COMMIT_VARS = (
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "BUILDKITE_COMMIT",
    "CIRCLE_SHA1",
    "GIT_COMMIT",
    "BUILD_SOURCEVERSION",
)


def producer() -> dict[str, str]:
    """The ``producer`` header field of everything this distribution writes."""
    return {"name": PRODUCER_NAME, "version": __version__}


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix and whole seconds."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now(environ: Mapping[str, str] | None = None) -> str:
    """The ``generated_at`` value: ``SOURCE_DATE_EPOCH`` when set, else the wall clock."""
    env = os.environ if environ is None else environ
    epoch = env.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip():
        try:
            seconds = int(epoch.strip())
        except ValueError:
            raise UsageError(f"SOURCE_DATE_EPOCH must be an integer, got {epoch!r}") from None
        return format_timestamp(datetime.fromtimestamp(seconds, tz=timezone.utc))
    return format_timestamp(datetime.now(tz=timezone.utc))


def validate_commit_sha(value: str, *, source: str) -> str:
    """Return ``value`` lowercased if it is a 40 or 64 hex digit commit id."""
    sha = value.strip().lower()
    if not COMMIT_SHA_RE.match(sha):
        raise UsageError(f"{source}: commit sha must be 40 or 64 hex digits, got {value!r}")
    return sha


def _git(args: list[str], cwd: str | None) -> str | None:
    """stdout of ``git ARGS`` in ``cwd``, or None when git is missing or fails."""
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_head(cwd: str | None = None) -> str | None:
    """``git rev-parse HEAD`` in ``cwd``, or None when there is no usable git checkout."""
    sha = (_git(["rev-parse", "HEAD"], cwd) or "").strip().lower()
    return sha if COMMIT_SHA_RE.match(sha) else None


def git_dirty(cwd: str | None = None) -> bool | None:
    """Whether the checkout has uncommitted changes; None when git cannot tell."""
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return None if status is None else bool(status.strip())


def resolve_commit_sha(
    explicit: str | None,
    *,
    cwd: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """Commit from the option, else ``git rev-parse HEAD``, else the CI environment."""
    if explicit:
        return validate_commit_sha(explicit, source="--commit-sha")
    head = git_head(cwd)
    if head:
        return head
    env = os.environ if environ is None else environ
    for var in CI_COMMIT_VARS:
        value = env.get(var, "").strip().lower()
        if COMMIT_SHA_RE.match(value):
            return value
    return None
