"""A session's cases as the evidence artifacts read them, importable without pydantic.

Only cases with marks or facts reach the record builders; every other case counts in the
run manifest's totals and nowhere else. So the pytest plugin keeps a count per status for
its plain tests, not a record per test, and builds nothing per test at session end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Record = Mapping[str, Any]
# Statuses of a test that never ran its body.
NOT_RUN = ("skipped", "xfailed", "xpassed")


def bears_evidence(case: Record) -> bool:
    """A case the record builders read: it carries marks or recorded facts."""
    return bool(case.get("marks") or case.get("facts"))


class CaseSet:
    """Every case of a run counted by status; the evidence-bearing ones kept whole."""

    __slots__ = ("bearing", "counts", "rerun")

    def __init__(self) -> None:
        self.bearing: list[Record] = []  # in the order they were added
        self.counts: dict[str, int] = {}  # status -> cases
        self.rerun = 0  # repeated attempts over all cases

    @classmethod
    def of(cls, cases: Iterable[Record]) -> CaseSet:
        case_set = cls()
        for case in cases:
            case_set.add(case)
        return case_set

    def __len__(self) -> int:
        return sum(self.counts.values())

    def add(self, case: Record) -> None:
        self.add_plain(case["status"])
        self.rerun += int(case.get("rerun", 0))
        if bears_evidence(case):
            self.bearing.append(case)

    def add_plain(self, status: str) -> None:
        """A case with no marks, facts or reruns: counted, not kept."""
        self.counts[status] = self.counts.get(status, 0) + 1

    @property
    def executed(self) -> bool:
        """Some case ran its body (not every one skipped or xfailed)."""
        return any(count for status, count in self.counts.items() if status not in NOT_RUN)
