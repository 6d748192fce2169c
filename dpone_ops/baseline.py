"""The baseline ratchet: tightening is free, loosening needs a recorded reason.

``benchmark-baseline update`` computes the new baseline with :func:`update` (pure) and
writes it only when the update is accepted, so a refused update leaves the file untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dpone_ops.errors import InputError
from dpone_ops.metrics import Direction, direction_of
from dpone_ops.models.base import Stamp
from dpone_ops.models.baseline import BaselineRecord, BenchmarkBaseline, MachineInfo
from dpone_ops.models.release_gates import BaselineUsed
from dpone_ops.performance_certification import METRIC_NAME_RE


@dataclass(frozen=True)
class Loosening:
    """One metric the update would make easier to pass (``new`` None: dropped)."""

    metric: str
    direction: Direction | None
    old: float
    new: float | None

    def describe(self) -> str:
        if self.new is None:
            return f"{self.metric} dropped (was {self.old:g})"
        way = {"higher": "higher is better", "lower": "lower is better",
               None: "direction unknown"}[self.direction]
        return f"{self.metric} {self.old:g} -> {self.new:g} ({way})"


@dataclass(frozen=True)
class UpdateResult:
    """The outcome: a new baseline, a refusal listing what it would loosen, or no change."""

    baseline: BenchmarkBaseline | None
    loosened: tuple[Loosening, ...]
    refused: bool
    changed: bool


def loosenings(old: Mapping[str, float], new: Mapping[str, float],
               directions: Mapping[str, Direction] | None = None) -> list[Loosening]:
    """Metrics the new values make easier to pass.

    Lower throughput or higher duration/memory/failure rate loosens; so does dropping a
    metric (its guard disappears) and any change to a metric of unknown direction (nobody
    can say it is not a loosening).
    """
    found: list[Loosening] = []
    for metric in sorted(old):
        before = old[metric]
        after = new.get(metric)
        direction = direction_of(metric, directions)
        if after is None:
            found.append(Loosening(metric, direction, before, None))
        elif (direction is None and after != before) or (
            direction == "higher" and after < before) or (
                direction == "lower" and after > before):
            found.append(Loosening(metric, direction, before, after))
    return found


INITIAL_REASON = "initial baseline"
RATCHET_REASON = "ratchet, no metric loosened"


def _auto_reason(old: Mapping[str, float] | None, new: Mapping[str, float]) -> str:
    if old is None:
        return INITIAL_REASON
    tightened = sorted(m for m in new if m in old and new[m] != old[m])
    added = sorted(m for m in new if m not in old)
    parts = [f"tightened {', '.join(tightened)}"] if tightened else []
    if added:
        parts.append(f"added {', '.join(added)}")
    if not parts:
        parts.append("values unchanged, row count recorded")
    return f"{RATCHET_REASON}: " + "; ".join(parts)


def _check_usable(baseline: BenchmarkBaseline | None, metrics: Mapping[str, float],
                  stamp: Stamp) -> None:
    if not metrics:
        raise InputError("benchmark-baseline update: the metrics input holds no metrics")
    bad = sorted(m for m in metrics if not METRIC_NAME_RE.match(m))
    if bad:
        raise InputError(f"benchmark-baseline update: metric names must match "
                         f"{METRIC_NAME_RE.pattern}, got {', '.join(map(repr, bad[:5]))}")
    if baseline is not None and stamp.generated_at < baseline.history[-1].recorded_at:
        raise InputError(
            f"benchmark-baseline update: the clock ({stamp.generated_at}, SOURCE_DATE_EPOCH?) "
            f"is before the newest history entry ({baseline.history[-1].recorded_at})"
        )


def update(
    baseline: BenchmarkBaseline | None,
    metrics: Mapping[str, float],
    *,
    reason: str | None,
    stamp: Stamp,
    machine: MachineInfo,
    directions: Mapping[str, Direction] | None = None,
    row_count: int | None = None,
) -> UpdateResult:
    """Ratchet ``baseline`` to ``metrics``.

    1. Find every loosening against the current baseline (none for a first baseline).
    2. Any loosening without a non-blank ``reason`` ⇒ refused; nothing is built.
    3. Identical metrics ⇒ no change (the history is not padded with no-op entries).
    4. Otherwise the new baseline carries ``metrics`` (and ``row_count`` when given, else the
       previous one, so performance-certification can tell comparable runs) and appends a
       history entry with the commit, the time and the reason (given, or stated by the
       ratchet when nothing loosened).
    """
    why = (reason or "").strip() or None
    _check_usable(baseline, metrics, stamp)
    old = dict(baseline.metrics) if baseline is not None else None
    # 1.
    loose = tuple(loosenings(old, metrics, directions)) if old is not None else ()
    # 2.
    if loose and why is None:
        return UpdateResult(None, loose, refused=True, changed=False)
    # 3.
    same_rows = row_count is None or baseline is None or row_count == baseline.row_count
    if baseline is not None and old == dict(metrics) and same_rows:
        return UpdateResult(baseline, loose, refused=False, changed=False)
    # 4.
    entry = BaselineRecord(metrics=dict(metrics), commit_sha=stamp.commit_sha,
                           recorded_at=stamp.generated_at,
                           reason=why or _auto_reason(old, metrics))
    history = [*(baseline.history if baseline is not None else []), entry]
    summary = (f"baseline of {len(metrics)} metric(s), entry {len(history) - 1}: "
               f"{entry.reason}")
    new = BenchmarkBaseline.build(
        stamp, blockers=[], summary=summary, metrics=dict(metrics), machine=machine,
        row_count=row_count if row_count is not None else (
            baseline.row_count if baseline is not None else None),
        history=history,
    )
    return UpdateResult(new, loose, refused=False, changed=True)


def unexplained_loosenings(history: Sequence[BaselineRecord],
                           directions: Mapping[str, Direction] | None = None) -> list[int]:
    """History entries that loosen a metric while carrying only the ratchet's own reason.

    The ratchet never writes such an entry, so one found here was edited by hand. Metrics
    of unknown direction are left out: the update may have been told their direction.
    """
    found: list[int] = []
    for index in range(1, len(history)):
        loose = [item for item in loosenings(history[index - 1].metrics,
                                             history[index].metrics, directions)
                 if item.direction is not None or item.new is None]
        reason = history[index].reason
        if loose and (reason == INITIAL_REASON or reason.startswith(RATCHET_REASON)):
            found.append(index)
    return found


def entry_used(baseline: BenchmarkBaseline, *, path: str, sha256: str | None) -> BaselineUsed:
    """What the gate reports about the baseline it compared against: the newest entry."""
    newest = baseline.history[-1]
    return BaselineUsed(source="file", path=path, sha256=sha256,
                        entry_index=len(baseline.history) - 1,
                        recorded_at=newest.recorded_at, commit_sha=newest.commit_sha,
                        reason=newest.reason)
