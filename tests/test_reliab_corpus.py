"""The bad-input corpus through every command that reads artifacts (SPEC §3.3, §8).

Each role is one command reading one input with every other input green; every corpus
case is swapped in for that input. A case must never be green, never raise, name the
blocker the table expects (exit 1) or be refused with one line (exit 2), and a refused
run must leave the output directory exactly as a previous green run left it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dpone_ops import cli
from dpone_ops.models import KINDS
from tests.corpus import generate
from tests.corpus.cases import (
    CORPUS,
    FILE_LEVEL,
    Case,
    all_cases,
    applies,
    argv_for,
    committed_cases,
    slot_for,
)
from tests.corpus.docs import DOC, render
from tests.corpus.expected import Expect, load_rows
from tests.corpus.world import ROLES, Role, World, build_world, run

ROWS = load_rows()


def _scratch_root() -> str | None:
    # fsync dominates these runs on a disk; a tmpfs makes the 1,400 runs take seconds.
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix="dpone-corpus-", dir=_scratch_root()))
    try:
        with pytest.MonkeyPatch.context() as mp:
            # One parser for all runs: building argparse trees is most of a run's time.
            mp.setattr(cli, "build_parser", functools.cache(cli.build_parser))
            yield build_world(root / "world")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cases(world: World) -> list[Case]:
    return all_cases(world)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file() and not p.is_symlink()}


def green_outputs(world: World, role: Role, scratch: Path) -> Path:
    """The role's output dir after its green run: what a failed run must leave alone."""
    out = scratch / "green"
    out.mkdir(parents=True)
    source = {"documentation": "service_markers", "previous": "evidence_chain",
              "benchmark_baseline": "baseline"}.get(role.slot, role.slot)
    green = Case("green", role.kind, "green", world.file(source))
    result = run(argv_for(world, green, role, out))
    assert result.code == 0, (role.id, result.stderr)
    return out


def check(world: World, case: Case, role: Role, expect: Expect, green: Path,
          out: Path) -> list[str]:
    """Every way this one run can be wrong, as messages (empty: it behaved)."""
    shutil.copytree(green, out)
    argv = argv_for(world, case, role, out)
    before = snapshot(out)
    try:
        result = run(argv)
    except BaseException as exc:  # an escaping exception is the finding itself
        return [f"raised {type(exc).__name__}: {exc}"]
    problems = []
    if result.code == 0:
        problems.append("GREEN")
    if "Traceback" in result.stderr:
        problems.append("traceback on stderr")
    if result.code != expect.code:
        problems.append(f"exit {result.code}, expected {expect.code}: {result.stderr.strip()}")
        return problems
    shown = result.stderr
    if result.code == 2:
        if not (result.stderr.startswith("dpone: error: ") and result.stderr.count("\n") == 1):
            problems.append(f"not one error line: {result.stderr!r}")
        if snapshot(out) != before:
            problems.append("a refused run changed the output dir")
    elif role.report is not None:
        raw = (out / role.report).read_bytes()
        data = json.loads(raw)
        report = KINDS[data["kind"]].model_validate_json(raw)
        shown = raw.decode("utf-8")
        if expect.blocker not in report.blockers:
            problems.append(f"{expect.blocker} not in {report.blockers}")
    if expect.detail and (result.code == 2 or role.shows_detail) and expect.detail not in shown:
        problems.append(f"{expect.detail!r} not in the message: {shown.strip()[:300]}")
    return problems


@pytest.mark.parametrize("role", ROLES, ids=[r.id for r in ROLES])
def test_every_bad_input_is_refused_or_named_never_green(
    world: World, cases: list[Case], role: Role, tmp_path: Path
) -> None:
    scratch = Path(tempfile.mkdtemp(dir=world.root))
    green = green_outputs(world, role, scratch)
    failures, checked = [], 0
    for n, case in enumerate(c for c in cases if applies(c, role)):
        row = ROWS.get(case.mutation)
        if row is None:
            failures.append(f"{case.id}: not in EXPECTED.toml")
            continue
        expect = row.expect(role, slot_for(case, role))
        if expect.code is None:
            continue
        checked += 1
        failures += [f"{case.id}: {p}" for p in
                     check(world, case, role, expect, green, scratch / f"run{n}")]
    assert not failures, "\n".join(failures)
    assert checked >= (len(FILE_LEVEL) if role.files_only else 25)


def test_every_corpus_file_and_table_row_belong_together(cases: list[Case]) -> None:
    mutations = {c.mutation for c in cases}
    assert set(ROWS) == mutations
    committed = committed_cases()
    assert len(committed) >= 50
    assert len({c.path for c in cases}) == len(cases)


def test_every_committed_variant_differs_from_its_seed() -> None:
    seeds = generate.seeds()
    for case in committed_cases():
        if case.kind in seeds:
            assert case.path.read_bytes() != seeds[case.kind], case.id


def test_the_committed_corpus_is_what_the_generator_makes() -> None:
    expected = generate.corpus()
    on_disk = {str(p.relative_to(CORPUS)): p.read_bytes()
               for p in sorted(CORPUS.glob("*/**/*.json"))}
    assert on_disk == expected, "run: python -m tests.corpus.generate"


def test_the_docs_page_is_generated_from_the_table(cases: list[Case]) -> None:
    assert DOC.read_text(encoding="utf-8") == render(cases), "run: python -m tests.corpus.docs"


@pytest.mark.parametrize("name", ["../etc", "a/b", "x y", "-x", "ü"])
@pytest.mark.parametrize("command", [
    ["validate-artifact", "{arg}"],
    ["release-evidence-pack", "--release", "v1", "--profile", "real_local", "--commit-sha",
     "a" * 40, "--artifact", "{arg}"],
    ["live-state-reconciliation", "--commit-sha", "a" * 40, "--artifact", "{arg}"],
    ["certification-pack", "--commit-sha", "a" * 40, "--artifact", "{arg}"],
    ["pre-release-checklist", "--release", "v1", "--release-type", "patch-docs",
     "--commit-sha", "a" * 40, "--check-artifact", "{arg}"],
    ["evidence-chain", "--release", "v1", "--commit-sha", "a" * 40, "--artifact", "{arg}"],
], ids=lambda c: c[0])
def test_a_traversing_or_odd_artifact_name_is_exit_2_and_writes_nothing(
    tmp_path: Path, command: list[str], name: str
) -> None:
    target = tmp_path / "a.json"
    target.write_text('{"passed": true}', encoding="utf-8")
    out = tmp_path / "out"
    argv = [a.replace("{arg}", f"{name}={target}") for a in command]
    result = run([*argv, "--output-dir", str(out)])
    assert result.code == 2
    assert result.stderr.startswith("dpone: error: ")
    assert result.stderr.count("\n") == 1
    assert not out.exists()
