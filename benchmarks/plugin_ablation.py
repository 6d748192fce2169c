"""Where pytest-dpone's in-process overhead goes: copies of the plugin with one part cut out.

Not a test. Each variant is a copy of this checkout's ``pytest_dpone`` and ``dpone_ops`` with
a named cut applied to its source (the script stops if a cut no longer matches the code), run
on the same generated suite as ``plugin_overhead.py`` and compared, CPU time to CPU time, with
a bare pytest run started at the same moment on the same CPU (``--pairing shared`` there).
The difference between two rows is what the cut part costs, cache misses and system calls
included, which an instruction count (``plugin_instructions.py``) does not see.

    python benchmarks/plugin_ablation.py --tests 20000 --rounds 5     # about 12 min

The two "floor" rows are a recorder that does only what no correct one can skip: one
journal line per test, flushed with ``write(2)``, and one count. They bound from below what
any design that keeps those rules can reach on the machine, with and without the
session-end artifacts.

The cut copies are for measuring only: they write incomplete evidence, and the warm-up
checks the evidence of the uncut copy alone.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# Run as a script, this file's folder is on sys.path: the suite and runners are shared.
from plugin_overhead import (
    DPONE,
    Contender,
    arguments_of,
    check_evidence,
    child_env,
    paired_rounds,
    run_once,
    variants,
    write_suite,
)

from dpone_ops.evidence_build import ARTIFACT_FILES

ROOT = Path(__file__).resolve().parent.parent
RECORDER = "pytest_dpone/recorder.py"
JOURNAL = "pytest_dpone/journal.py"
_ARTIFACTS = "    def _write_artifacts(self, footer: dict[str, Any]) -> None:\n"
_REPORTS = "    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:\n"
_WRITE = "            written = os.write(self._fd, data)\n"
# A cut: (file, text that must occur exactly once, what replaces it).
_NO_ARTIFACTS = (RECORDER, _ARTIFACTS, _ARTIFACTS + "        return\n")
_NO_REPORTS = (RECORDER, _REPORTS, _REPORTS + "        return\n")
_NO_WRITES = (JOURNAL, _WRITE, "            written = len(data)\n")
# The floor: what any recorder that meets the rules must do at least. Each test ends
# in one journal line flushed with write(2) (no escaping, no record, no marks) and a count;
# the rest of the hook is never reached. With the artifacts kept, the session end still
# imports pydantic and the models and writes every artifact, from counts alone.
_FLOOR_LINE = (
    '        if report.when == "teardown":\n'
    "            self.cases.add_plain(report.outcome)\n"
    "            if self.journal is not None:\n"
    "                self.journal._write(\n"
    '                    f\'{{"type":"case","case":{{"node_id":"{report.nodeid}",\'\n'
    '                    f\'"status":"{report.outcome}",\'\n'
    '                    f\'"duration_ms":{report.duration!r}}}}}\\n\'\n'
    '                    .encode("utf-8"))\n'
    "        return\n"
)
_FLOOR = (RECORDER, _REPORTS, _REPORTS + _FLOOR_LINE)
# A stand-in for artifacts written without pydantic: the seven files of plain json.dumps, each
# holding the run facts, the status counts and (in one of them) every evidence-bearing case,
# written atomically with fsync. It builds no verdicts, so it costs less than a real
# pydantic-free writer would: a lower bound of what that design saves. The atomic write is
# spelled out because dpone_ops.writing imports pydantic.
_PLAIN_JSON = (
    "        import json\n"
    "        run = {**self.run, 'collection': self.collection, **footer}\n"
    f"        for name, file in {tuple(ARTIFACT_FILES.items())!r}:\n"
    "            rows = ([dict(case) for case in self.cases.bearing]\n"
    "                    if name == 'service_markers' else [])\n"
    "            data = json.dumps({'kind': name, 'run': run, 'cases': rows,\n"
    "                               'totals': dict(self.cases.counts)}, sort_keys=True,\n"
    "                              indent=2, ensure_ascii=False).encode('utf-8')\n"
    "            path = self.evidence_dir / file\n"
    "            staged = path.with_name(path.name + '.tmp')\n"
    "            fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
    "            try:\n"
    "                os.write(fd, data)\n"
    "                os.fsync(fd)\n"
    "            finally:\n"
    "                os.close(fd)\n"
    "            os.replace(staged, path)\n"
    "        return\n"
)
_NO_PYDANTIC = (RECORDER, _ARTIFACTS, _ARTIFACTS + _PLAIN_JSON)
CUTS: dict[str, list[tuple[str, str, str]]] = {
    "pytest-dpone": [],
    "no session-end artifacts": [_NO_ARTIFACTS],
    "no journal write(2)": [_NO_WRITES],
    "no artifacts, no journal write(2)": [_NO_ARTIFACTS, _NO_WRITES],
    "no artifacts, report hook returns at once": [_NO_ARTIFACTS, _NO_REPORTS],
    "floor: one journal line and a count per test, artifacts": [_FLOOR],
    "floor: one journal line and a count per test, no artifacts": [_NO_ARTIFACTS, _FLOOR],
    "artifacts as plain json.dumps, no pydantic (stand-in)": [_NO_PYDANTIC],
}


def make_copy(target: Path, cuts: list[tuple[str, str, str]]) -> Path:
    """This checkout's two packages under ``target`` with ``cuts`` applied."""
    for package in ("pytest_dpone", "dpone_ops"):
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name, old, new in cuts:
        path = target / name
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise SystemExit(f"cut no longer matches {name}: {old.strip()!r}")
        path.write_text(text.replace(old, new), encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base = child_env()
    base.pop("PYTHONPATH", None)  # each copy sets its own; bare pytest takes the installed one
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        suite = work / "suite"
        tests = write_suite(suite, args.tests)
        arguments = arguments_of(DPONE)
        contenders: dict[str, Contender] = {
            name: (arguments, {**base, "PYTHONPATH": str(make_copy(work / f"copy{i}", cuts))})
            for i, (name, cuts) in enumerate(CUTS.items())}
        warm = work / "warm"
        for name, (_, env) in contenders.items():  # warm-up: every copy's bytecode written
            run_once(suite, warm, variants(warm)[DPONE], 0, env, "warm")
            if not CUTS[name]:
                check_evidence(warm, tests)
        samples = paired_rounds(suite, work, args.rounds, 0, "warm", base, contenders)
    print(f"{tests:,} tests, {args.rounds} rounds; CPU time over a bare pytest run started "
          "with it on the same CPU\n")
    print("| variant | median ratio | rounds |")
    print("|---|---|---|")
    for name in CUTS:
        ratios = [run["cpu_s"] / run["bare_cpu_s"] for run in samples[name]]
        rounds = ", ".join(f"{r:.3f}" for r in ratios)
        print(f"| {name} | {statistics.median(ratios):.3f} | {rounds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
