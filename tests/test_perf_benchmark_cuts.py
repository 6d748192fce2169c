"""The ablation benchmark's cut copies still match the plugin, and the floor still records.

``benchmarks/plugin_ablation.py`` edits copies of the plugin's source by exact text. When the
plugin changes under it, a cut must fail loudly here, not months later in a benchmark run;
and the floor copy, whose timing bounds what any design can reach, must still write a
journal line for every test and a run manifest the model accepts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dpone_ops.evidence_io import read_journal
from dpone_ops.models.evidence import RunManifest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import plugin_ablation  # noqa: E402 - a script folder, not a package
import plugin_overhead  # noqa: E402

FLOOR = "floor: one journal line and a count per test, artifacts"


@pytest.mark.parametrize("name", list(plugin_ablation.CUTS))
def test_every_cut_applies_once_and_the_copy_compiles(name: str, tmp_path: Path) -> None:
    cuts = plugin_ablation.CUTS[name]
    copy = plugin_ablation.make_copy(tmp_path / "copy", cuts)
    for file, _, new in cuts:
        source = (copy / file).read_text(encoding="utf-8")
        assert new in source
        compile(source, str(copy / file), "exec")


def test_a_cut_that_no_longer_matches_stops_the_script(tmp_path: Path) -> None:
    stale = [("pytest_dpone/recorder.py", "    def a_method_that_is_gone(self):\n", "")]
    with pytest.raises(SystemExit, match="cut no longer matches"):
        plugin_ablation.make_copy(tmp_path / "copy", stale)


def test_the_floor_copy_journals_every_test_and_writes_a_valid_manifest(
    tmp_path: Path,
) -> None:
    copy = plugin_ablation.make_copy(tmp_path / "copy", plugin_ablation.CUTS[FLOOR])
    suite = tmp_path / "suite"
    tests = plugin_overhead.write_suite(suite, 120)
    env = plugin_overhead.child_env(PYTHONPATH=str(copy))
    out = tmp_path / "out"
    arguments = plugin_overhead.variants(out)[plugin_overhead.DPONE]
    plugin_overhead.run_once(suite, out, arguments, 0, env, "warm")

    journal = read_journal(out / "evidence_journal.jsonl")
    assert journal.ended
    assert len(journal.cases) == tests
    assert {case["status"] for case in journal.cases} == {"passed"}
    manifest = RunManifest.model_validate_json(
        (out / "run_manifest.json").read_text(encoding="utf-8"))
    assert manifest.totals.tests == manifest.totals.passed == tests
