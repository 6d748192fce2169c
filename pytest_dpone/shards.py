"""Deterministic CI shards: ``--dpone-shard i/N`` keeps a stable 1/N slice (SPEC §4.6).

``i`` is 1-based on the command line (``1/3`` .. ``3/3``, like ``CI_NODE_INDEX``) and
0-based in the artifacts (``shard.index`` 0..N-1). A test belongs to the shard
``sha256(node id) mod N``, so the slice depends only on the node id, never on order.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pytest

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    id: str
    index: int  # 0-based
    count: int

    def keeps(self, node_id: str) -> bool:
        return shard_of(node_id, self.count) == self.index

    def to_record(self) -> dict[str, object]:
        return {"id": self.id, "index": self.index, "count": self.count}


def shard_of(node_id: str, count: int) -> int:
    digest = hashlib.sha256(node_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


# CI variables that announce a parallel job's slot: (index var, total var, index base).
CI_SLOTS = (
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", 1),  # GitLab, Buildkite-style
    ("CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),  # CircleCI
    ("BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
)


def _from_ci(env: Mapping[str, str]) -> str:
    for index_var, total_var, base in CI_SLOTS:
        index, total = env.get(index_var, "").strip(), env.get(total_var, "").strip()
        if index.isdigit() and total.isdigit():
            return f"{int(index) - base + 1}/{total}"
    names = ", ".join(f"{i}/{t}" for i, t, _ in CI_SLOTS)
    raise pytest.UsageError(f"--dpone-shard=auto: no CI slot variables found ({names})")


def parse_shard(value: str, *, environ: Mapping[str, str] | None = None) -> Shard:
    """``i/N`` with 1 <= i <= N, or ``auto`` (the CI's parallel-job slot variables).

    The id comes from ``DPONE_SHARD_ID``, else the CI run id plus the slot.
    """
    env = os.environ if environ is None else environ
    if value.strip() == "auto":
        value = _from_ci(env)
    match = _SHARD_RE.match(value)
    if not match:
        raise pytest.UsageError(f"--dpone-shard: expected i/N such as 1/3, got {value!r}")
    number, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= number <= count:
        raise pytest.UsageError(
            f"--dpone-shard: i must be between 1 and N (1-based), got {value!r}"
        )
    explicit = env.get("DPONE_SHARD_ID", "").strip()
    if explicit:
        shard_id = explicit
    else:
        run = next(
            (env[v].strip() for v in ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID",
                                      "CIRCLE_WORKFLOW_ID") if env.get(v, "").strip()),
            "",
        )
        shard_id = f"{run + ':' if run else ''}shard-{number}-of-{count}"
    return Shard(id=shard_id, index=number - 1, count=count)


def collected_digest(node_ids: Iterable[str]) -> str:
    """sha256 over the sorted, newline-joined node ids of the whole collected set."""
    # One buffer, one update: the same bytes as updating per node id, without two method
    # calls per collected test.
    ordered = sorted(node_ids)
    text = "\n".join(ordered) + "\n" if ordered else ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
