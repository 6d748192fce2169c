"""``dpone_evidence`` and ``dpone_service``: what a test records and the service it uses.

Facts land in the item's stash as JSON-safe dicts; the plugin moves them onto the
teardown report so they reach the xdist controller (SPEC §4.3, §4.5).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_dpone.markers import RECONCILIATION_KINDS, STATE_CHECKS
from pytest_dpone.services import Endpoint, ServiceUnavailable
from pytest_dpone.stash import FACT_TAKER_KEY, FACTS_KEY, MARKS_KEY, broker_for


def _json_safe(value: Any, what: str) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"dpone_evidence: {what} must be JSON-safe: {exc}") from None
    return value


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"dpone_evidence: {what} must be a bool, got {value!r}")
    return value


def _count(value: Any, what: str, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"dpone_evidence: {what} must be an int >= 0, got {value!r}")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"dpone_evidence: {what} must be a finite number, got {value!r}")
    return float(value)


def _peak_rss_mb() -> float | None:
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class Measurement:
    """Filled when the ``measure()`` block ends."""

    rows: int | None = None
    duration_seconds: float | None = None
    memory_peak_mb: float | None = None
    throughput_rows_per_second: float | None = None


class TestEvidence:
    """The ``dpone_evidence`` fixture value: records facts for the current test."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, facts: dict[str, Any]) -> None:
        self._facts = facts

    def _add(self, kind: str, fact: dict[str, Any]) -> None:
        self._facts.setdefault(kind, []).append(fact)

    def record_state(
        self,
        backend: str,
        check: str,
        before: Any,
        after: Any,
        load_succeeded: bool,
        committed_after_load: bool,
    ) -> None:
        """A state value before and after one load (xmin, offsets, run state...)."""
        if not isinstance(backend, str) or not backend:
            raise TypeError("dpone_evidence: backend must be a non-empty string")
        if check not in STATE_CHECKS:
            raise ValueError(f"dpone_evidence: check must be one of {', '.join(STATE_CHECKS)}")
        self._add("state", {
            "backend": backend,
            "check": check,
            "before": _json_safe(before, "before"),
            "after": _json_safe(after, "after"),
            "load_succeeded": _flag(load_succeeded, "load_succeeded"),
            "committed_after_load": _flag(committed_after_load, "committed_after_load"),
        })

    def record_reconciliation(
        self,
        kind: str,
        source_rows: int | None = None,
        sink_rows: int | None = None,
        deleted_at_source: int | None = None,
        deleted_at_sink: int | None = None,
        mismatched_rows: int = 0,
    ) -> None:
        """Source vs sink counts after one run."""
        if kind not in RECONCILIATION_KINDS:
            raise ValueError(
                f"dpone_evidence: kind must be one of {', '.join(RECONCILIATION_KINDS)}"
            )
        self._add("reconciliation", {
            "kind": kind,
            "source_rows": _count(source_rows, "source_rows"),
            "sink_rows": _count(sink_rows, "sink_rows"),
            "deleted_at_source": _count(deleted_at_source, "deleted_at_source"),
            "deleted_at_sink": _count(deleted_at_sink, "deleted_at_sink"),
            "mismatched_rows": _count(mismatched_rows, "mismatched_rows", optional=False),
        })

    def metric(self, name: str, value: float, unit: str) -> None:
        """One named measurement, e.g. ``metric("failure_rate", 0.0, "ratio")``."""
        if not isinstance(name, str) or not name or not isinstance(unit, str):
            raise TypeError("dpone_evidence: metric name and unit must be strings")
        self._add("metrics", {"source": "metric", "name": name,
                              "value": _number(value, "value"), "unit": unit})

    @contextmanager
    def measure(self, rows: int | None = None) -> Iterator[Measurement]:
        """Time the block; record wall time, the process's peak RSS and rows/second.

        The peak RSS is the process's high-water mark when the block ends (what the OS
        reports), so it bounds the block's memory from above.
        """
        result = Measurement(rows=_count(rows, "rows"))
        start = time.perf_counter()
        yield result
        elapsed = time.perf_counter() - start
        result.duration_seconds = elapsed
        result.memory_peak_mb = _peak_rss_mb()
        samples: list[tuple[str, float, str]] = [("duration_seconds", elapsed, "s")]
        if result.memory_peak_mb is not None:
            samples.append(("memory_peak_mb", result.memory_peak_mb, "MiB"))
        if rows is not None:
            result.throughput_rows_per_second = rows / elapsed if elapsed > 0 else float(rows)
            samples.append(("throughput_rows_per_second", result.throughput_rows_per_second,
                            "rows/s"))
        for name, value, unit in samples:
            self._add("metrics", {"source": "measure", "name": name, "value": value,
                                  "unit": unit, "extra_info": {"rows": rows} if rows else {}})


def _facts_of(request: pytest.FixtureRequest) -> dict[str, Any]:
    """This attempt's facts dict, created on first use; the process's :class:`FactTaker`
    is started then, so that until a test records something no test pays for it."""
    stash = request.node.stash
    facts: dict[str, Any] | None = stash.get(FACTS_KEY, None)
    if facts is None:
        facts = stash[FACTS_KEY] = {}
        taker = request.config.stash.get(FACT_TAKER_KEY, None)
        if taker is not None:
            taker.start()
    return facts


@pytest.fixture
def dpone_evidence(request: pytest.FixtureRequest) -> TestEvidence:
    """Record state, reconciliation and performance facts for this test."""
    return TestEvidence(_facts_of(request))


def _service_name(request: pytest.FixtureRequest) -> str:
    param = getattr(request, "param", None)
    if isinstance(param, str) and param:
        return param
    marks = request.node.stash.get(MARKS_KEY, {})
    names = [v["name"] for v in marks.get("service", ())]
    if not names:
        pytest.fail(
            f"{request.node.nodeid}: dpone_service needs a @pytest.mark.service(...) marker "
            "or an indirect parameter naming the service",
            pytrace=False,
        )
    return str(names[0])


@pytest.fixture
def dpone_service(request: pytest.FixtureRequest) -> Endpoint:
    """The endpoint of the test's (first) marked service; skips naming the env vars."""
    name = _service_name(request)
    broker = broker_for(request.config)
    try:
        endpoint = broker.endpoint(name)
    except ServiceUnavailable as exc:
        pytest.skip(exc.reason)
    _facts_of(request).setdefault("endpoints", {})[name] = endpoint.facts()
    return endpoint


class FactTaker:
    """Takes each test's facts after its teardown, in a process that runs recorded tests.

    ``taken`` maps a node id to what its last finished attempt recorded, until the
    teardown report takes it (the recorder, or on an xdist worker the report carrier).
    A hook on every test's teardown costs every test, so this one is registered only
    once facts can exist: at configure time when pytest-benchmark is active, else when a
    dpone fixture first records something (registered mid-setup, it still sees that
    test's teardown). It runs after every fixture finalizer of the attempt, so what the
    test recorded is final and its benchmark fixture is still there to read.
    """

    def __init__(self, pluginmanager: pytest.PytestPluginManager) -> None:
        self.taken: dict[str, dict[str, Any]] = {}
        self._pluginmanager = pluginmanager
        self.started = False

    def start(self) -> None:
        if not self.started:
            self.started = True
            self._pluginmanager.register(self, "dpone_fact_taker")

    def stop(self) -> None:
        if self.started:
            self.started = False
            self._pluginmanager.unregister(self)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        facts = take_facts(item)
        if facts:
            self.taken[item.nodeid] = facts
        else:
            # An earlier attempt's facts whose teardown report never came (a rerun
            # protocol that does not log it) must not pass for this attempt's.
            self.taken.pop(item.nodeid, None)


def take_facts(item: pytest.Item) -> dict[str, Any] | None:
    """What the test recorded in this attempt, plus its pytest-benchmark stats; then cleared.

    Called once per attempt after the test's fixtures are torn down, so a rerun attempt
    starts with no facts. None when the test recorded nothing.
    """
    facts = item.stash.get(FACTS_KEY, None)
    if facts is not None:
        del item.stash[FACTS_KEY]
    if "benchmark" in (getattr(item, "funcargs", None) or ()):
        benchmark = _benchmark_sample(item)
        if benchmark is not None:
            facts = facts if facts is not None else {}
            facts.setdefault("metrics", []).extend(benchmark)
    return facts or None


def _benchmark_sample(item: pytest.Item) -> list[dict[str, Any]] | None:
    """pytest-benchmark's stats for this test, when it ran the ``benchmark`` fixture."""
    funcargs = getattr(item, "funcargs", None) or {}
    fixture = funcargs.get("benchmark")
    metadata = getattr(fixture, "stats", None)
    stats = getattr(metadata, "stats", None)
    if stats is None or not getattr(stats, "rounds", 0):
        return None
    extra = dict(getattr(fixture, "extra_info", {}) or {})
    try:
        values = {k: float(getattr(stats, k)) for k in ("min", "max", "mean", "median",
                                                         "stddev")}
        ops = float(stats.ops) if stats.mean else None
    except (TypeError, ValueError, AttributeError):
        return None
    record = {**values, "rounds": int(stats.rounds), "ops": ops}
    samples: list[dict[str, Any]] = [{
        "source": "benchmark", "name": "duration_seconds", "value": values["mean"],
        "unit": "s", "stats": record, "extra_info": _json_safe_dict(extra),
    }]
    rows = extra.get("rows")
    if isinstance(rows, (int, float)) and not isinstance(rows, bool) and values["mean"] > 0:
        samples.append({
            "source": "benchmark", "name": "throughput_rows_per_second",
            "value": rows / values["mean"], "unit": "rows/s", "stats": record,
            "extra_info": _json_safe_dict(extra),
        })
    return samples


def _json_safe_dict(data: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in data.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            value = repr(value)
        safe[str(key)] = value
    return safe
