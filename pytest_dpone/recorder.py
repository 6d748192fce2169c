"""The controller's one state object: turns test reports into case records and artifacts.

Registered only on the controller (or a plain session), never on an xdist worker; the
workers' facts reach it on the reports. Per-test work is O(1): fold the report into a
pending case, and on its teardown report stream one journal line. Models are built once, at
the end, by :mod:`dpone_ops.evidence_build`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import re
import signal
import threading
import time
from collections.abc import Generator, Iterator
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from dpone_ops import __version__, provenance
from dpone_ops.case_set import CaseSet
from dpone_ops.errors import DponeError
from dpone_ops.journal_format import JOURNAL_FILE
from pytest_dpone.fixtures import FactTaker
from pytest_dpone.journal import EvidenceDirBusy, JournalWriter, SessionLock
from pytest_dpone.markers import MarkRecord
from pytest_dpone.stash import Settings

# CI metadata worth keeping: identifiers and names, never tokens.
CI_ENV_VARS = (
    "CI", "GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_NUMBER", "GITHUB_WORKFLOW", "GITHUB_JOB", "GITHUB_REF", "GITHUB_SHA",
    "GITHUB_EVENT_NAME", "GITLAB_CI", "CI_PIPELINE_ID", "CI_JOB_ID", "CI_JOB_NAME",
    "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_NODE_INDEX", "CI_NODE_TOTAL",
    "BUILDKITE_BUILD_ID", "BUILDKITE_JOB_ID", "BUILDKITE_COMMIT", "CIRCLE_BUILD_NUM",
    "CIRCLE_SHA1", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", "BUILD_BUILDID",
    "BUILD_SOURCEVERSION", "JENKINS_URL", "BUILD_NUMBER",
)
_SECRET_NAME = re.compile(r"(pass(word|wd)?|token|secret|key|credential|auth)", re.IGNORECASE)
# userinfo of a URL: everything up to the last "@" before the path (a password may hold "@").
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^/\s]*@")
# A secret-named query parameter (?access_token=..., &sig=...) anywhere in a value.
_SECRET_QUERY = re.compile(
    r"(?P<name>[?&;][^=&\s#]*(?:pass|token|secret|key|credential|auth|sig)[^=&\s#]*=)[^&\s#]*",
    re.IGNORECASE,
)
# An HTTP authorization value: "Authorization: Bearer abc", "Basic dXNlcjpwYXNz".
_AUTH_SCHEME = re.compile(r"(?P<scheme>\b(?:bearer|basic|token|digest)\s+)\S+", re.IGNORECASE)


_NAME_LIKE = re.compile(r"-{0,2}[A-Za-z0-9_.\-]+")


def redact_text(text: str) -> str:
    """Hide credentials inside one value: URL passwords, secret query params, auth headers."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>\g<user>:***@", text)
    text = _SECRET_QUERY.sub(r"\g<name>***", text)
    return _AUTH_SCHEME.sub(r"\g<scheme>***", text)


def _redact_assignment(arg: str) -> str | None:
    """``a=b=c``: everything after the first ``=`` that follows a secret-looking name."""
    parts = arg.split("=")
    for position, part in enumerate(parts[:-1]):
        if not _NAME_LIKE.fullmatch(part):
            break  # inside a value (a URL, a query): redact_text has handled it
        if _SECRET_NAME.search(part):
            return "=".join(parts[: position + 1]) + "=***"
    return None


def redact_argv(argv: list[str]) -> list[str]:
    """Hide values of secret-looking options and names, and credentials inside values."""
    redacted: list[str] = []
    hide_next = False
    for raw in argv:
        if hide_next:
            redacted.append("***")
            hide_next = False
            continue
        arg = redact_text(raw)
        assigned = _redact_assignment(arg)
        if assigned is not None:
            redacted.append(assigned)
        elif arg.startswith("-") and "=" not in arg and _SECRET_NAME.search(arg):
            redacted.append(arg)
            hide_next = True
        else:
            redacted.append(arg)
    return redacted


def redact_environment(names: tuple[str, ...]) -> dict[str, str]:
    """The listed CI variables that are set, with any credential inside a value hidden."""
    return {name: ("***" if _SECRET_NAME.search(name) else redact_text(os.environ[name]))
            for name in names if os.environ.get(name)}


def _timestamp() -> str:
    return provenance.format_timestamp(datetime.now(tz=timezone.utc))


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _skip_reason(report: pytest.TestReport) -> str | None:
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail is not None:
        return str(wasxfail) or "xfail"
    longrepr = report.longrepr
    if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3:
        return str(longrepr[2])
    return None if longrepr is None else str(longrepr)


def _failure_text(report: pytest.TestReport) -> str:
    longrepr: Any = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    text = str(message) if message else str(longrepr)
    return text[:1000]


def _phase_status(report: pytest.TestReport) -> str | None:
    """The case status one phase report implies; None when the phase says nothing."""
    when, outcome = report.when, report.outcome
    xfail = hasattr(report, "wasxfail")
    if when == "call":
        if outcome == "passed":
            return "xpassed" if xfail else "passed"
        if outcome == "failed":
            return "failed"
        return "xfailed" if xfail else "skipped"
    if outcome == "failed":
        return "error"
    if outcome == "skipped":
        return "xfailed" if xfail else "skipped"
    return None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic garbage collection while the artifacts are built, then as before.

    Building them allocates a burst of short-lived, acyclic objects once per session; at
    that point the heap holds every test's item and report, so a full collection that
    the burst happens to trigger costs more than all the building. The collector's own
    state (a suite may have disabled it) is restored, and nothing is collected early.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Pending:
    """A test between its first report and its teardown report."""

    __slots__ = ("again", "attempts", "duration", "facts", "marks", "reason", "rerun",
                 "status", "text", "worker")

    def __init__(self) -> None:
        # No containers until a test needs one: three empty ones per test were most of the
        # recorder's allocations, and every allocation brings the next GC pass closer.
        self.status: str | None = None
        self.duration = 0.0
        self.reason: str | None = None
        self.text: str | None = None
        self.marks: dict[str, Any] | None = None
        self.facts: dict[str, Any] | None = None
        self.attempts: list[dict[str, Any]] | None = None
        self.rerun = 0
        self.again = False  # this attempt asked for a rerun: its teardown is not the end
        self.worker: str | None = None


class Recorder:
    """Collects the session's case records and writes the evidence dir at the end."""

    def __init__(self, config: pytest.Config, settings: Settings, facts: FactTaker,
                 local_marks: dict[str, MarkRecord]) -> None:
        assert settings.evidence_dir is not None
        self.config = config
        self.settings = settings
        self.evidence_dir: Path = settings.evidence_dir
        # Every finished case counted by status; the evidence-bearing ones kept whole. A plain
        # test leaves nothing behind but one journal line and a count.
        self.cases = CaseSet()
        self.pending: dict[str, _Pending] = {}
        # The plain fast path (every phase passed, nothing carried): node id -> seconds so
        # far, before and after its call phase passed, and the xdist worker it ran on.
        self.plain: dict[str, float] = {}
        self.called: dict[str, float] = {}
        self.plain_worker: dict[str, str] = {}
        # A plain session's evidence, read from its own items: the bound marks of each
        # marked test (set by the plugin's collection hook), and what a test recorded,
        # taken after its teardown. Under xdist both stay empty and the workers' reports
        # carry the evidence instead.
        self.local_marks = local_marks
        self.taken = facts.taken
        self.collection: dict[str, Any] | None = None
        self.selected: int | None = None
        self.keyboard_interrupt = False
        self.started = time.monotonic()
        self.started_at = _timestamp()
        self.written: dict[str, str] = {}  # kind -> evidence_status of what was written
        self.problems: list[str] = []  # evidence that could not be written, and why
        self.journal: JournalWriter | None = None
        self.lock: SessionLock | None = None
        self._previous_sigterm: Any = None
        self.run = self._run_facts()

    # -- session facts -------------------------------------------------------------------
    def _run_facts(self) -> dict[str, Any]:
        config, settings = self.config, self.settings
        try:
            commit = provenance.resolve_commit_sha(settings.commit_sha, cwd=str(config.rootpath))
        except DponeError as exc:
            raise pytest.UsageError(f"--dpone-commit-sha: {exc}") from None
        workers = getattr(config.option, "numprocesses", 0)
        has_xdist = config.pluginmanager.hasplugin("xdist")
        return {
            "release": settings.release,
            "profile": settings.profile,
            "commit_sha": commit,
            "required_services": list(settings.required_services),
            "min_passed": settings.min_passed,
            "max_skipped": settings.max_skipped,
            "required_state": [{"backend": b, "check": c} for b, c in settings.required_state],
            "shard": settings.shard.to_record() if settings.shard else None,
            "argv": redact_argv([str(a) for a in config.invocation_params.args]),
            "versions": {
                "python": platform.python_version(),
                "pytest": pytest.__version__,
                "plugin": __version__,
                "xdist": _version("pytest-xdist") if has_xdist else None,
                "benchmark": _version("pytest-benchmark")
                if config.pluginmanager.hasplugin("benchmark") else None,
            },
            "xdist_workers": workers if has_xdist and isinstance(workers, int) else 0,
            "started_at": self.started_at,
            "dirty": provenance.git_dirty(str(config.rootpath)),
            "ci": redact_environment(CI_ENV_VARS),
        }

    # -- hooks ---------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self.lock = SessionLock.acquire(self.evidence_dir)
            self.journal = JournalWriter(self.evidence_dir / JOURNAL_FILE, self.run)
        except EvidenceDirBusy as exc:
            raise pytest.UsageError(f"--dpone-evidence-dir {self.evidence_dir}: {exc}") from None
        except OSError as exc:
            # Before any test runs: a run whose evidence cannot be written is refused.
            raise pytest.UsageError(
                f"--dpone-evidence-dir {self.evidence_dir}: cannot write evidence there: "
                f"{exc.strerror or exc}"
            ) from None
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # Unwind like Ctrl-C so pytest finishes the session and we write incomplete artifacts.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt("SIGTERM")

    def _restore_sigterm(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def set_collection(self, collection: dict[str, Any]) -> None:
        if self.collection is None:
            self.collection = collection
            self.selected = collection["selected"]
            if self.journal is not None:
                self.journal.collection(collection)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if self.selected is None:
            self.selected = len(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        collection = output.get("dpone_collection")
        if isinstance(collection, dict):
            self.set_collection(collection)

    def pytest_keyboard_interrupt(self) -> None:
        self.keyboard_interrupt = True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        extra = report.__dict__
        nodeid = extra["nodeid"]
        # Fast path, most reports: a passed phase that carries nothing of ours. Its state is
        # a float in a dict: no object per test, a few dict operations per report.
        if (extra["outcome"] == "passed" and nodeid not in self.pending
                and "dpone_marks" not in extra and "dpone_facts" not in extra
                and "wasxfail" not in extra and nodeid not in self.taken):
            when = extra["when"]
            duration = extra["duration"] or 0.0
            if when == "teardown" and nodeid in self.called \
                    and not (self.local_marks and nodeid in self.local_marks):
                # The end of a plain passed test: four atoms kept, one journal line written.
                worker = (self.plain_worker.pop(nodeid, None) if self.plain_worker else None) \
                    or extra.get("worker_id") or None
                self._record_plain(nodeid, "passed", self.called.pop(nodeid) + duration,
                                   worker)
                return
            if when == "call":
                self.called[nodeid] = self.plain.pop(nodeid, 0.0) + duration
            elif when == "setup":
                self.plain[nodeid] = self.plain.get(nodeid, 0.0) + duration
            else:
                # A marked passed test's teardown, or one with no passed call before it
                # (--setup-only, a plugin's own protocol): the general record decides.
                self._general(self._pending(nodeid), report, extra)
                return
            worker = extra.get("worker_id")
            if worker:
                self.plain_worker[nodeid] = worker
            return
        self._general(self._pending(nodeid), report, extra)

    def _pending(self, nodeid: str) -> _Pending:
        """The test's general record, taking over what the fast path held for it."""
        pending = self.pending.get(nodeid)
        if pending is None:
            pending = self.pending[nodeid] = _Pending()
            if nodeid in self.called:
                pending.duration = self.called.pop(nodeid)
                pending.status = "passed"
            elif nodeid in self.plain:
                pending.duration = self.plain.pop(nodeid)
            pending.worker = self.plain_worker.pop(nodeid, None)
        return pending

    def _general(self, pending: _Pending, report: pytest.TestReport,
                 extra: dict[str, Any]) -> None:
        nodeid = report.nodeid
        # Only marked tests or tests with facts carry these; most reports have neither.
        if extra.get("dpone_marks"):
            pending.marks = extra["dpone_marks"]
        if extra.get("dpone_facts"):
            pending.facts = extra["dpone_facts"]
        elif self.taken and report.when == "teardown" and nodeid in self.taken:
            pending.facts = self.taken.pop(nodeid)
        if "node" in extra or "worker_id" in extra:
            worker = extra.get("worker_id")
            if worker is None and extra.get("node") is not None:
                worker = str(getattr(getattr(extra["node"], "gateway", None), "id", None) or "")
            pending.worker = worker or pending.worker
        pending.duration += report.duration or 0.0
        # str(): pytest-rerunfailures sets an outcome outside pytest's Literal.
        outcome, when = str(report.outcome), report.when
        if when == "setup" and pending.again:
            # A new attempt starts: what the repeated one recorded does not count.
            pending.again = False
            pending.facts = None
        if when == "setup" or when == "teardown":
            if outcome == "passed":
                if when == "teardown":
                    self._end_attempt(nodeid, pending)
                return  # a passed setup or teardown says nothing more
        elif when != "call" and outcome != "rerun":
            # xdist's report for a test whose worker crashed: an error, and the test's end.
            pending.status = "error"
            pending.text = _failure_text(report)
            self._finish(nodeid)
            return
        if outcome == "rerun":  # pytest-rerunfailures' earlier attempts
            if pending.attempts is None:
                pending.attempts = []
            pending.attempts.append({"status": "failed" if when == "call" else "error",
                                     "duration_ms": round(pending.duration * 1000, 3),
                                     "longrepr": _failure_text(report)})
            pending.rerun += 1
            pending.again = True
            pending.status = None
            pending.duration = 0.0
            return
        status = _phase_status(report)
        if status is None:
            return
        if status != "error" or pending.status in (None, "passed", "xpassed"):
            pending.status = status
            if status in ("skipped", "xfailed"):
                pending.reason = _skip_reason(report)
            elif status in ("failed", "error"):
                pending.text = _failure_text(report)
        # (else a teardown error after a failure or skip keeps the first verdict)
        if when == "teardown":
            self._end_attempt(nodeid, pending)

    def _end_attempt(self, nodeid: str, pending: _Pending) -> None:
        """A teardown report ends the test, unless its attempt asked for a rerun.

        pytest logs the teardown last, so the case is final here; no ``logfinish`` hook is
        needed, which spares every test one more hook call. pytest-rerunfailures marks an
        attempt to repeat with a ``rerun`` report (and, in recent versions, still logs that
        attempt's teardown); the next attempt's setup clears the mark.
        """
        if not pending.again:
            self._finish(nodeid)

    def _finish(self, nodeid: str) -> None:
        pending = self.pending.pop(nodeid, None)
        if pending is None or pending.status is None:
            return
        if self.local_marks and pending.marks is None:
            pending.marks = self.local_marks.get(nodeid)
        if not (pending.attempts or pending.reason is not None or pending.text is not None
                or pending.marks or pending.facts):
            self._record_plain(nodeid, pending.status, pending.duration, pending.worker)
            return
        total_ms = pending.duration * 1000
        # Fields at their journal default are left out (CaseLine fills them back in).
        case: dict[str, Any] = {"node_id": nodeid, "status": pending.status}
        if pending.attempts:
            total_ms += sum(a["duration_ms"] or 0 for a in pending.attempts)
            case["attempts"] = [*pending.attempts, {
                "status": pending.status, "duration_ms": round(pending.duration * 1000, 3),
                "longrepr": pending.text}]
            case["rerun"] = pending.rerun
        case["duration_ms"] = round(total_ms, 3)
        if pending.worker is not None:
            case["worker"] = pending.worker
        if pending.reason is not None:
            case["skip_reason"] = pending.reason
        if pending.text is not None:
            case["longrepr"] = pending.text
        if pending.marks:
            case["marks"] = pending.marks
        if pending.facts:
            case["facts"] = pending.facts
        self.cases.add(case)
        if self.journal is not None:
            self.journal.case(case)

    def _record_plain(self, nodeid: str, status: str, seconds: float,
                      worker: str | None) -> None:
        """A case that is three or four atoms: counted, and its journal line formatted
        directly (same bytes as the general path's)."""
        self.cases.add_plain(status)
        if self.journal is not None:
            self.journal.plain_case(nodeid, status, round(seconds * 1000, 3), worker)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(
        self, session: pytest.Session, exitstatus: int
    ) -> Generator[None, None, None]:
        # Outermost wrapper: the status is final only after every other plugin's
        # sessionfinish (pytest-benchmark fails a regression from inside it).
        try:
            yield
        except BaseException:
            self.finish(session, 1)
            raise
        self.finish(session, int(session.exitstatus))

    def finish(self, session: pytest.Session, exit_status: int) -> None:
        self._restore_sigterm()
        for nodeid in [*self.called, *self.plain]:
            self._pending(nodeid)  # e.g. a test whose teardown was never reported
        for nodeid in list(self.pending):
            self._finish(nodeid)
        interrupted = (
            self.keyboard_interrupt
            or exit_status == pytest.ExitCode.INTERRUPTED
            or bool(session.shouldstop)
            or bool(session.shouldfail)
        )
        complete = (
            not interrupted
            and exit_status != pytest.ExitCode.INTERNAL_ERROR
            and self.selected is not None
            and len(self.cases) >= self.selected
        )
        footer = {
            "finished_at": _timestamp(),
            "duration_seconds": round(time.monotonic() - self.started, 6),
            "exit_status": exit_status,
            "interrupted": interrupted,
            "complete": complete,
        }
        if self.journal is not None:
            self.journal.close(footer)
            self.problems += [self.journal.failed] if self.journal.failed else []
            self.journal = None
        with _collector_paused():
            self._write_artifacts(footer)
        self._release_lock()
        self._report_terminal()

    def _write_artifacts(self, footer: dict[str, Any]) -> None:
        # Imported here, not at module load: pydantic and the models are needed only to
        # build the artifacts, and the objects they create would otherwise be scanned by
        # every garbage collection pass of the whole test run.
        from dpone_ops.evidence_build import RunRecord
        from dpone_ops.evidence_io import write_evidence
        from dpone_ops.models.base import Stamp

        run = RunRecord.model_validate(
            {**self.run, "collection": self.collection, **footer}, strict=False
        )
        stamp = Stamp(release=run.release, profile=run.profile, commit_sha=run.commit_sha,
                      generated_at=provenance.now())
        cases, self.cases = self.cases, CaseSet()
        try:
            written = write_evidence(self.evidence_dir, cases, run, stamp)
        except (DponeError, OSError) as exc:
            # Disk full or read-only by now: nothing half-written stays (write_evidence
            # removes what it wrote), and the terminal says so instead of a traceback.
            self.problems.append(str(exc))
            return
        # Keep the verdicts, not the models: pytest's final garbage collections (five
        # full passes at unconfigure) would otherwise walk every case row again.
        self.written = {kind: model.evidence_status for kind, model in written.items()}

    def _release_lock(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _report_terminal(self) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        reporter.write_sep("-", f"dpone evidence: {self.evidence_dir}")
        for problem in self.problems:
            reporter.write_line(f"dpone: ERROR: {problem}", red=True, bold=True)
        if self.problems and not self.written:
            reporter.write_line("dpone: ERROR: no evidence artifacts were written for this "
                                "session", red=True, bold=True)
            return
        verdicts = ", ".join(f"{kind} {status}" for kind, status in self.written.items())
        reporter.write_line(f"dpone: {verdicts}")

    def pytest_unconfigure(self) -> None:
        self._restore_sigterm()
        self._release_lock()
        if self.journal is not None:
            self.journal.close(None)
            self.journal = None
