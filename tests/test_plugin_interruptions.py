"""Honesty under interruption: -x, crashed xdist workers, SIGTERM, SIGKILL, regressions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpone_ops.cli import main
from dpone_ops.models.evidence import RunManifest
from tests._plugin_support import COMMIT, journal_cases, load_evidence, run

SLOW_SUITE = """
import pathlib
import time
import pytest

@pytest.mark.service("postgres")
def test_a_first():
    pass

@pytest.mark.service("postgres")
def test_b_blocks():
    pathlib.Path("started").write_text("1")
    time.sleep(60)

def test_c_never_reached():
    pass
"""


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def assert_incomplete(directory: Path) -> dict[str, object]:
    evidence = load_evidence(directory)
    for kind, model in evidence.items():
        assert model.complete is False, kind
        assert model.evidence_status == "UNVERIFIED", kind
        assert f"{kind}.incomplete" in model.blockers, kind
        assert not model.passed
    return evidence


def test_exitfirst_session_writes_incomplete_artifacts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="""
        import pytest

        @pytest.mark.service("postgres")
        def test_a_fails():
            assert False

        @pytest.mark.service("postgres")
        def test_b_not_run():
            pass
    """)
    run(pytester, "-p", "no:xdist", "-x", "--dpone-require-service=postgres")
    evidence = assert_incomplete(pytester.path / "evidence")
    manifest = evidence["run_manifest"]
    assert isinstance(manifest, RunManifest)
    assert manifest.interrupted
    assert manifest.exit_status == 1
    assert manifest.totals.tests == 1
    assert manifest.collected == 2


def test_crashed_xdist_worker_is_an_error_case(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_crash="""
        import os
        import pytest

        @pytest.mark.service("postgres")
        def test_crashes():
            os._exit(1)

        @pytest.mark.service("postgres")
        def test_fine():
            pass
    """)
    run(pytester, "-n", "2")
    evidence = load_evidence(pytester.path / "evidence")
    markers = evidence["service_markers"]
    statuses = {c.node_id: c.status for c in markers.cases}
    assert statuses == {
        "test_crash.py::test_crashes": "error",
        "test_crash.py::test_fine": "passed",
    }
    assert "service.postgres.failed" in markers.blockers
    assert evidence["run_manifest"].totals.errors == 1
    assert not evidence["run_manifest"].passed


def _start_and_wait(pytester: pytest.Pytester) -> subprocess.Popen[bytes]:
    pytester.makepyfile(test_slow=SLOW_SUITE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
         "-p", "no:xdist",
         "-p", "no:benchmark", "--dpone-evidence-dir=evidence", f"--dpone-commit-sha={COMMIT}",
         "test_slow.py"],
        cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (pytester.path / "started").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the session never reached the blocking test")
        time.sleep(0.05)
    return proc


def test_sigterm_mid_run_leaves_incomplete_artifacts(pytester: pytest.Pytester) -> None:
    proc = _start_and_wait(pytester)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    evidence = assert_incomplete(pytester.path / "evidence")
    manifest = evidence["run_manifest"]
    assert isinstance(manifest, RunManifest)
    assert manifest.interrupted
    assert manifest.exit_status == pytest.ExitCode.INTERRUPTED
    assert manifest.totals.passed == 1


def test_sigkill_leaves_a_journal_that_recover_evidence_rebuilds(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = _start_and_wait(pytester)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    directory = pytester.path / "evidence"
    assert not (directory / "run_manifest.json").exists()
    assert [c["node_id"] for c in journal_cases(directory)] == ["test_slow.py::test_a_first"]
    assert main(["ops", "recover-evidence", str(directory)]) == 1
    evidence = assert_incomplete(directory)
    manifest = evidence["run_manifest"]
    assert isinstance(manifest, RunManifest)
    assert manifest.exit_status is None
    assert manifest.interrupted
    assert manifest.commit_sha == COMMIT
    assert evidence["service_markers"].totals.passed == 1
    assert '"evidence_recovery"' in capsys.readouterr().out


def test_benchmark_regression_exit_gives_a_red_manifest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest-benchmark disables itself inside an xdist worker, which this test may run in.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_bench="""
        import os
        import time

        def test_bench(benchmark):
            delay = float(os.environ.get("BENCH_DELAY", "0"))
            benchmark.pedantic(time.sleep, args=(delay,), rounds=3, iterations=1)
    """)
    args = ("-p", "no:xdist", "--benchmark-storage=file://bench")
    run(pytester, *args, "--benchmark-autosave", benchmark=True, evidence="baseline")
    assert load_evidence(pytester.path / "baseline")["run_manifest"].passed
    monkeypatch.setenv("BENCH_DELAY", "0.02")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
         *args,
         "--benchmark-compare", "--benchmark-compare-fail=mean:50%",
         "--dpone-evidence-dir=evidence", f"--dpone-commit-sha={COMMIT}"],
        cwd=pytester.path, capture_output=True, check=False,
    )
    assert proc.returncode == 1, proc.stdout.decode()[-2000:]
    manifest = load_evidence(pytester.path / "evidence")["run_manifest"]
    assert manifest.exit_status == 1
    assert not manifest.passed
    assert "run_manifest.exit_nonzero" in manifest.blockers


def test_recovering_an_ended_journal_reproduces_the_session_artifacts(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_ok="""
        import pytest

        @pytest.mark.service("postgres")
        @pytest.mark.state_backend("postgres", check="xmin_state")
        def test_pg(dpone_evidence):
            dpone_evidence.record_state("postgres", "xmin_state", 1, 2, True, True)
    """)
    run(pytester, "-p", "no:xdist", "--dpone-require-service=postgres")
    directory = pytester.path / "evidence"
    out = pytester.path / "recovered"
    live = load_evidence(directory)
    assert main(["ops", "recover-evidence", str(directory), "--output-dir", str(out)]) == 1
    recovered = load_evidence(out)
    # Same records through the same builders: byte-identical except for the manifest,
    # whose digest list covers the same files.
    for kind in ("service_markers", "state_evidence", "certification_report"):
        assert recovered[kind] == live[kind], kind
    assert recovered["run_manifest"].exit_status == 0
    assert recovered["service_markers"].passed
