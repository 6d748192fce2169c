"""Same inputs and SOURCE_DATE_EPOCH: every command writes byte-identical files (SPEC §3.2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.corpus.cases import Case, argv_for
from tests.corpus.world import BIND, EPOCH, ROLES, Role, World, build_world, run


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp:
        yield build_world(Path(tmp) / "world")


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _twice(argv_in: Callable[[Path], list[str]], out: Path
           ) -> tuple[dict[str, bytes], dict[str, bytes], str, str]:
    """Run, keep the files, remove the dir, run again; both runs reach the same verdict."""
    first = run(argv_in(out))
    assert first.code in (0, 1), first.stderr
    one = _files(out)
    shutil.rmtree(out)
    second = run(argv_in(out))
    assert second.code == first.code, second.stderr
    return one, _files(out), first.stdout, second.stdout


SOURCES = {"documentation": "service_markers", "previous": "evidence_chain",
           "benchmark_baseline": "baseline"}


@pytest.mark.parametrize("role", [r for r in ROLES if r.report is not None],
                         ids=lambda r: r.id)
def test_each_command_twice_writes_byte_identical_files(world: World, role: Role,
                                                        tmp_path: Path) -> None:
    case = Case("green", role.kind, "green", world.file(SOURCES.get(role.slot, role.slot)))
    one, two, out_one, out_two = _twice(lambda out: argv_for(world, case, role, out),
                                        tmp_path / "out")
    assert one
    assert one == two
    assert out_one == out_two


@pytest.mark.parametrize("profile", ["local_live", "real_local", "vendor_live"])
def test_the_plan_twice_is_byte_identical(tmp_path: Path, profile: str) -> None:
    argv = ["live-certification-plan", "--profile", profile, "--release", "v0.7.1",
            "--commit-sha", "a" * 40]
    one, two, out_one, out_two = _twice(lambda out: [*argv, "--output-dir", str(out)],
                                        tmp_path / "out")
    assert one == two
    assert out_one == out_two


def test_baseline_update_twice_from_nothing_is_byte_identical(world: World,
                                                               tmp_path: Path) -> None:
    def argv(out: Path) -> list[str]:
        out.mkdir(parents=True, exist_ok=True)
        return ["benchmark-baseline", "update", *BIND, "--metrics-file",
                str(world.file("performance_metrics")), "--baseline",
                str(out / "benchmark_baseline.json"), "--row-count", "25000"]

    one, two, _, _ = _twice(argv, tmp_path / "out")
    assert list(one) == ["benchmark_baseline.json"]
    assert one == two


def test_schema_export_twice_is_byte_identical(tmp_path: Path) -> None:
    one, two, _, _ = _twice(lambda out: ["schema", "--write-dir", str(out)], tmp_path / "out")
    assert len(one) >= 10
    assert one == two


RUNNER = """
import json, sys
from dpone_ops.cli import main
for argv in json.loads(sys.argv[1]):
    code = main(argv)
    assert code == 0, (argv, code)
"""


def test_every_command_is_byte_identical_across_hash_seeds(world: World, tmp_path: Path) -> None:
    """Set and dict order must not leak into a file: two processes, two PYTHONHASHSEEDs."""
    out = tmp_path / "out"
    argvs, outs = [], []
    for n, role in enumerate(r for r in ROLES if r.report is not None):
        case = Case("green", role.kind, "green", world.file(SOURCES.get(role.slot, role.slot)))
        outs.append(out / str(n))  # the pack roles chain their inputs beside it, in n-chain
        argvs.append(["ops", *argv_for(world, case, role, outs[-1])])
    results = []
    for seed in ("1", "2"):
        for directory in outs:
            shutil.rmtree(directory, ignore_errors=True)
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": EPOCH}
        env.pop("DPONE_EVIDENCE_KEY", None)
        done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(argvs)], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        results.append({f"{d.name}/{name}": data for d in outs
                        for name, data in _files(d).items()})
    assert len(results[0]) == 2 * len(argvs)
    assert results[0] == results[1]


def test_recover_evidence_twice_is_byte_identical(tmp_path: Path) -> None:
    from tests.test_reliab_journal import GOOD

    journal = tmp_path / "evidence_journal.jsonl"
    journal.write_bytes(GOOD)
    one, two, out_one, out_two = _twice(
        lambda out: ["recover-evidence", str(tmp_path), "--output-dir", str(out)],
        tmp_path / "out")
    assert "run_manifest.json" in one
    assert one == two
    assert out_one == out_two
