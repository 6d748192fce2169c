"""pytest11 entry point of pytest-dpone: options, markers, collection and report hooks.

Runs in every process (plain session, xdist controller and workers). Marks are bound
and checked once per item at collection; per-test facts ride on the reports; only the
controller (or a plain session) registers the :class:`~pytest_dpone.recorder.Recorder`.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from dpone_ops.checklist_names import CHECK_NAME_RE, CHECK_NAMES
from pytest_dpone import fixtures
from pytest_dpone.fixtures import FactTaker
from pytest_dpone.markers import (
    MARKER_KINDS,
    MarkBinder,
    MarkerError,
    MarkRecord,
    parse_aliases,
)
from pytest_dpone.services import KNOWN_SERVICES
from pytest_dpone.shards import collected_digest, parse_shard
from pytest_dpone.stash import (
    COLLECTION_KEY,
    FACT_TAKER_KEY,
    LOCAL_MARKS_KEY,
    MARKS_KEY,
    RECORDER_KEY,
    SETTINGS_KEY,
    Settings,
    close_broker,
)

PROFILES = ("local_live", "real_local", "vendor_live")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dpone", "pytest-dpone release evidence")

    def option(name: str, help: str, **kwargs: Any) -> None:
        dest = name.replace("-", "_")
        group.addoption(f"--{name.replace('_', '-')}", dest=dest, default=None, help=help,
                        **kwargs)
        parser.addini(dest, f"{help} (default for --{name.replace('_', '-')})",
                      type="linelist" if kwargs.get("action") == "append" else "string")

    option("dpone_evidence_dir", "write evidence artifacts into this directory (enables "
           "recording)", metavar="DIR")
    option("dpone_release", "release label stamped on the evidence, e.g. v0.7.1")
    option("dpone_profile", f"certification profile: {', '.join(PROFILES)}")
    option("dpone_commit_sha", "commit the evidence belongs to (default: git rev-parse HEAD, "
           "else CI env)")
    option("dpone_shard", "run the deterministic 1-based i-th of N slices of the collected "
           "tests, e.g. 2/3; 'auto' reads CI_NODE_INDEX/CI_NODE_TOTAL (or CircleCI's, "
           "Buildkite's)", metavar="i/N")
    option("dpone_require_service", "a service that must have passing marker tests "
           "(repeatable; adds to the profile defaults)", action="append", metavar="NAME")
    option("dpone_min_passed", "passed tests needed per required service (default 1)",
           metavar="N")
    option("dpone_max_skipped", "skipped tests allowed per required service (default 0)",
           metavar="N")
    parser.addini("dpone_services", "extra service names allowed in @pytest.mark.service",
                  type="linelist")
    parser.addini("dpone_marker_aliases", "existing markers that count as evidence: lines "
                  "'marker = service:postgres' or 'marker = state_backend:postgres:xmin_state'",
                  type="linelist")
    parser.addini("dpone_release_checks", "extra pre-release check names allowed in "
                  "@pytest.mark.release_check (besides the eight checklist names)",
                  type="linelist")
    parser.addini("dpone_required_state_checks", "backend:check pairs that state evidence "
                  "must cover, e.g. postgres:xmin_state", type="linelist")


def _value(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name)
    return value if value is not None else config.getini(name)


def _int(config: pytest.Config, name: str, default: int) -> int:
    raw = _value(config, name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if value < 0:
        raise pytest.UsageError(f"--{name.replace('_', '-')}: expected an integer >= 0, "
                                f"got {raw!r}")
    return value


def _text(config: pytest.Config, name: str) -> str | None:
    raw = _value(config, name)
    return str(raw).strip() or None if raw else None


def _settings(config: pytest.Config) -> Settings:
    evidence = _text(config, "dpone_evidence_dir")
    evidence_dir: Path | None = None
    if evidence:
        # The option is relative to the invocation dir, the ini value to the ini file.
        base = (config.invocation_params.dir if config.getoption("dpone_evidence_dir")
                else (config.inipath.parent if config.inipath else config.rootpath))
        evidence_dir = (base / evidence).resolve()
    profile = _text(config, "dpone_profile")
    if profile is not None and profile not in PROFILES:
        raise pytest.UsageError(f"--dpone-profile: expected one of {', '.join(PROFILES)}, "
                                f"got {profile!r}")
    commit = _text(config, "dpone_commit_sha")
    if commit is not None:
        from dpone_ops.provenance import COMMIT_SHA_RE

        commit = commit.lower()
        if not COMMIT_SHA_RE.match(commit):
            raise pytest.UsageError(f"--dpone-commit-sha: expected 40 or 64 hex digits, "
                                    f"got {commit!r}")
    allowed = frozenset(KNOWN_SERVICES) | frozenset(
        s.strip() for s in config.getini("dpone_services") if s.strip()
    )
    required = [s.strip() for s in (_value(config, "dpone_require_service") or []) if s.strip()]
    unknown = sorted(set(required) - allowed)
    if unknown:
        raise pytest.UsageError(f"--dpone-require-service: unknown service(s) "
                                f"{', '.join(unknown)}; add them to the dpone_services ini")
    extra_checks = [c.strip() for c in config.getini("dpone_release_checks") if c.strip()]
    for check in extra_checks:
        if not CHECK_NAME_RE.match(check):
            raise pytest.UsageError(f"dpone_release_checks: {check!r} may only hold letters, "
                                    "digits, '_' and '-'")
    state: list[tuple[str, str]] = []
    for line in config.getini("dpone_required_state_checks"):
        backend, sep, check = line.strip().partition(":")
        if not sep or not backend.strip() or not check.strip():
            raise pytest.UsageError(f"dpone_required_state_checks: expected backend:check, "
                                    f"got {line!r}")
        state.append((backend.strip(), check.strip()))
    shard_text = _text(config, "dpone_shard")
    return Settings(
        evidence_dir=evidence_dir,
        release=_text(config, "dpone_release"),
        profile=profile,
        commit_sha=commit,
        shard=parse_shard(shard_text) if shard_text else None,
        required_services=tuple(sorted(set(required))),
        min_passed=_int(config, "dpone_min_passed", 1),
        max_skipped=_int(config, "dpone_max_skipped", 0),
        allowed_services=allowed,
        allowed_checks=frozenset(CHECK_NAMES) | frozenset(extra_checks),
        aliases=parse_aliases(config.getini("dpone_marker_aliases")),
        required_state=tuple(state),
    )


def pytest_configure(config: pytest.Config) -> None:
    for kind in MARKER_KINDS.values():
        config.addinivalue_line("markers", kind.line)
    settings = _settings(config)
    for alias in settings.aliases.values():
        config.addinivalue_line(
            "markers", f"{alias.alias}: pytest-dpone alias counted as {alias.kind} evidence"
        )
    config.stash[SETTINGS_KEY] = settings
    config.pluginmanager.register(fixtures, "dpone_fixtures")
    if settings.evidence_dir is None:
        return
    facts = config.stash[FACT_TAKER_KEY] = FactTaker(config.pluginmanager)
    if config.pluginmanager.hasplugin("benchmark"):
        facts.start()  # every test may carry benchmark stats
    local_marks = config.stash[LOCAL_MARKS_KEY] = {}
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(ReportCarrier(facts, local_marks),
                                      "dpone_report_carrier")
    else:
        from pytest_dpone.recorder import Recorder

        recorder = Recorder(config, settings, facts, local_marks)
        config.stash[RECORDER_KEY] = recorder
        config.pluginmanager.register(recorder, "dpone_recorder")


def pytest_unconfigure(config: pytest.Config) -> None:
    close_broker(config)
    facts = config.stash.get(FACT_TAKER_KEY, None)
    if facts is not None:
        facts.stop()
        del config.stash[FACT_TAKER_KEY]
        del config.stash[LOCAL_MARKS_KEY]
    recorder = config.stash.get(RECORDER_KEY, None)
    if recorder is not None:
        recorder.pytest_unconfigure()
        config.pluginmanager.unregister(recorder)
        del config.stash[RECORDER_KEY]


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        config = items[0].config
        info = config.stash.setdefault(COLLECTION_KEY, {"deselected": 0})
        info["deselected"] += len(items)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    # After every other plugin: their deselection and added marks are final by now.
    yield
    settings = config.stash[SETTINGS_KEY]
    keep: list[pytest.Item] = []
    # The marks of the tests this process runs, for its recorder or report carrier.
    local_marks = config.stash.get(LOCAL_MARKS_KEY, None)
    binder = MarkBinder(settings.aliases, settings.allowed_services, settings.allowed_checks)
    for item in items:
        try:
            marks = binder.bind(item)
        except MarkerError as exc:
            # A collection error naming the test and the marker, as pytest reports its own.
            report = pytest.CollectReport(item.nodeid, "failed", str(exc), [])
            config.hook.pytest_collectreport(report=report)
            continue
        if marks:
            item.stash[MARKS_KEY] = marks
            if local_marks is not None:
                local_marks[item.nodeid] = marks
        keep.append(item)
    digest = collected_digest(item.nodeid for item in keep)
    collected_count = len(keep)
    shard = settings.shard
    if shard is not None:
        dropped = [item for item in keep if not shard.keeps(item.nodeid)]
        keep = [item for item in keep if shard.keeps(item.nodeid)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
    items[:] = keep
    info = config.stash.setdefault(COLLECTION_KEY, {"deselected": 0})
    info.update({"collected_digest": digest, "collected_count": collected_count})
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    info = config.stash.setdefault(COLLECTION_KEY, {"deselected": 0})
    selected = len(session.items)
    collection = {
        "collected": selected + info["deselected"],
        "deselected": info["deselected"],
        "selected": selected,
        "collected_digest": info.get("collected_digest"),
        "collected_count": info.get("collected_count", selected),
    }
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["dpone_collection"] = collection
    recorder = config.stash.get(RECORDER_KEY, None)
    if recorder is not None:
        recorder.set_collection(collection)


class ReportCarrier:
    """On an xdist worker of a recording session: evidence rides on the test reports.

    The controller has no items, only the reports the workers send, so a marked test's
    setup report carries its marks and the teardown report what the test recorded. It
    runs first among the worker's report hooks, before xdist serializes the report. A
    plain session needs none of this: its recorder reads the items directly.
    """

    def __init__(self, facts: FactTaker, local_marks: dict[str, MarkRecord]) -> None:
        self.local_marks = local_marks
        self.taken = facts.taken

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        when = report.when
        if when == "setup":
            marks = self.local_marks.get(report.nodeid) if self.local_marks else None
            if marks:
                report.dpone_marks = marks  # type: ignore[attr-defined]
        elif when == "teardown" and self.taken:
            facts = self.taken.pop(report.nodeid, None)
            if facts:
                report.dpone_facts = facts  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    close_broker(session.config)
