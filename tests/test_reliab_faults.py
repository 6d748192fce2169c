"""The plugin when the evidence dir fails it: read-only, disk full, a SIGKILLed worker.

* Read-only: as root a read-only tmpfs is mounted (chmod does not stop root); otherwise
  the directory is chmod 0555. Either way the kernel refuses to create files there.
* Disk full: the pytest process runs under ``RLIMIT_FSIZE`` (SIGXFSZ ignored), so every
  write beyond the limit fails with ``EFBIG`` exactly where ``ENOSPC`` would fail it on a
  full disk: the journal fits, the artifacts do not.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dpone_ops.cli import main
from dpone_ops.evidence_io import read_journal
from tests._plugin_support import COMMIT, load_evidence, run

SUITE = """
import pytest

@pytest.mark.service("postgres")
def test_a():
    pass

def test_b():
    pass
"""


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    path.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                       check=True, capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(["umount", str(path)], check=True, capture_output=True)
    else:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:benchmark", f"--dpone-commit-sha={COMMIT}", *args],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )


def test_a_read_only_evidence_dir_stops_the_run_before_any_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_x=SUITE)
    with read_only_dir(pytester.path / "ro") as ro:
        result = _pytest(pytester.path, f"--dpone-evidence-dir={ro / 'evidence'}")
        assert not list(ro.iterdir())
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--dpone-evidence-dir" in result.stderr
    assert "cannot write evidence there" in result.stderr
    assert "INTERNALERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "passed" not in result.stdout


FULL_DISK_CONFTEST = """
import resource
import signal

# Ignore SIGXFSZ so a write past the limit fails with EFBIG, as ENOSPC on a full disk.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def test_a_full_disk_leaves_no_torn_or_partial_artifacts_and_says_so(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile(test_x=SUITE)
    # Only ever loaded by the subprocess: the limit must not reach this test process.
    pytester.makeconftest(FULL_DISK_CONFTEST.format(limit=2048))
    evidence = pytester.path / "evidence"
    result = _pytest(pytester.path, "--dpone-evidence-dir=evidence")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out  # the tests passed; the plugin never changes that
    assert "dpone: ERROR: cannot write" in result.stdout
    assert "no evidence artifacts were written for this session" in result.stdout
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out
    left = sorted(p.name for p in evidence.iterdir())
    # No artifact, no temp file, nothing torn: the journal and the (released) session lock.
    assert left == [".dpone-session.lock", "evidence_journal.jsonl"]
    journal = read_journal(evidence / "evidence_journal.jsonl")
    assert journal.ended
    assert [c["node_id"] for c in journal.cases] == ["test_x.py::test_a", "test_x.py::test_b"]
    # With space again, the journal rebuilds the session's evidence (red overall: this
    # suite has no state, reconciliation, matrix or performance tests).
    assert main(["ops", "recover-evidence", str(evidence)]) == 1
    capsys.readouterr()
    rebuilt = load_evidence(evidence)
    assert rebuilt["run_manifest"].passed
    assert rebuilt["service_markers"].totals.passed == 1


def test_a_sigkilled_xdist_worker_is_an_error_case_never_missing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_kill="""
        import os
        import signal
        import pytest

        @pytest.mark.service("postgres")
        def test_killed():
            os.kill(os.getpid(), signal.SIGKILL)

        @pytest.mark.service("postgres")
        def test_fine():
            pass
    """)
    run(pytester, "-n", "2")
    evidence = load_evidence(pytester.path / "evidence")
    statuses = {c.node_id: c.status for c in evidence["service_markers"].cases}
    assert statuses["test_kill.py::test_killed"] == "error"
    assert "test_kill.py::test_fine" in statuses
    assert "service.postgres.failed" in evidence["service_markers"].blockers
    assert not evidence["run_manifest"].passed


BLOCKING_SUITE = """
import pathlib
import time
import pytest

@pytest.mark.service("postgres")
def test_first():
    pathlib.Path("started").write_text("1")
    while not pathlib.Path("go").exists():
        time.sleep(0.02)

@pytest.mark.service("postgres")
def test_second():
    pass
"""


def test_a_second_session_into_a_live_evidence_dir_is_refused(
    pytester: pytest.Pytester,
) -> None:
    """Two sessions, one dir: the second is a usage error, the first's evidence is whole."""
    pytester.makepyfile(test_block=BLOCKING_SUITE)
    first = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:benchmark", "--dpone-evidence-dir=evidence", f"--dpone-commit-sha={COMMIT}"],
        cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pytester.path / "started").exists():
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline, "the first session never started"
            time.sleep(0.02)
        journal_before = (pytester.path / "evidence" / "evidence_journal.jsonl").read_bytes()
        second = _pytest(pytester.path, "--dpone-evidence-dir=evidence", "-k", "second")
        assert second.returncode == pytest.ExitCode.USAGE_ERROR, second.stdout + second.stderr
        assert "in use by another pytest session" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        journal_now = (pytester.path / "evidence" / "evidence_journal.jsonl").read_bytes()
        assert journal_now == journal_before
    finally:
        (pytester.path / "go").write_text("1")
        output = first.communicate(timeout=60)[0]
    assert first.returncode == 0, output
    evidence = load_evidence(pytester.path / "evidence")
    assert evidence["run_manifest"].passed
    assert [c.node_id for c in evidence["service_markers"].cases] == [
        "test_block.py::test_first", "test_block.py::test_second"]
    # The lock dies with its holder: the next session records normally.
    assert _pytest(pytester.path, "--dpone-evidence-dir=evidence", "-k", "second",
                   ).returncode == 0


def test_a_report_whose_markdown_cannot_be_written_keeps_the_previous_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full after the JSON was staged: exit 2 and the previous .json/.md both stay."""
    import tempfile as tempfile_module

    from dpone_ops import writing

    out = tmp_path / "out"
    argv = ["ops", "live-certification-plan", "--profile", "real_local", "--release", "v1",
            "--commit-sha", "a" * 40, "--output-dir", str(out)]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert main(argv) in (0, 1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_mkstemp = tempfile_module.mkstemp
    calls = []

    def mkstemp_then_full(*args: object, **kwargs: object) -> tuple[int, str]:
        calls.append(1)
        if len(calls) == 2:  # the Markdown's temp file: the disk is full
            raise OSError(28, "No space left on device")
        return real_mkstemp(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(writing.tempfile, "mkstemp", mkstemp_then_full)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")  # so the new JSON would differ
    assert main(argv) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
