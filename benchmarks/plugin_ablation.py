"""Where pytest-dpone's in-process overhead goes: copies of the plugin with one part cut out.

Not a test. Each variant is a copy of this checkout's ``pytest_dpone`` and ``dpone_ops`` with
a named cut applied to its source (the script stops if a cut no longer matches the code), run
on the same generated suite as ``plugin_overhead.py`` and compared, CPU time to CPU time, with
a bare pytest run started at the same moment on the same CPU (``--pairing shared`` there).
The difference between two rows is what the cut part costs, cache misses and system calls
included, which an instruction count (``plugin_instructions.py``) does not see.

    python benchmarks/plugin_ablation.py --tests 20000 --rounds 3     # about 6 min

The cut copies are for measuring only: they write incomplete evidence, and the warm-up
checks the evidence of the uncut copy alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# Run as a script, this file's folder is on sys.path: the suite and runners are shared.
from plugin_overhead import BARE, _finish, _start, check_evidence, write_suite

ROOT = Path(__file__).resolve().parent.parent
RECORDER = "pytest_dpone/recorder.py"
JOURNAL = "pytest_dpone/journal.py"
_NO_ARTIFACTS = (RECORDER, "    def _write_artifacts(self, footer: dict[str, Any]) -> None:\n",
                 "        return\n")
_NO_REPORTS = (RECORDER,
               "    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:\n",
               "        return\n")
_NO_WRITES = (JOURNAL, "            written = os.write(self._fd, data)\n", None)
# Variant -> cuts: (file, line to find, line inserted after it, or None to drop the line).
CUTS: dict[str, list[tuple[str, str, str | None]]] = {
    "pytest-dpone": [],
    "no session-end artifacts": [_NO_ARTIFACTS],
    "no journal write(2)": [_NO_WRITES],
    "no artifacts, no journal write(2)": [_NO_ARTIFACTS, _NO_WRITES],
    "no artifacts, report hook returns at once": [_NO_ARTIFACTS, _NO_REPORTS],
}
_WRITTEN = "            written = len(data)\n"  # what _NO_WRITES puts in place of the write


def make_copy(target: Path, cuts: list[tuple[str, str, str | None]]) -> Path:
    """This checkout's two packages under ``target`` with ``cuts`` applied."""
    for package in ("pytest_dpone", "dpone_ops"):
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name, line, after in cuts:
        path = target / name
        text = path.read_text(encoding="utf-8")
        if text.count(line) != 1:
            raise SystemExit(f"cut no longer matches {name}: {line.strip()!r}")
        text = text.replace(line, line + after if after is not None else _WRITTEN)
        path.write_text(text, encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "PYTHONDONTWRITEBYTECODE", "COV_", "PYTHONPATH"))}
    base.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONHASHSEED="0")
    cpus = sorted(os.sched_getaffinity(0))[:2]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        suite = work / "suite"
        tests = write_suite(suite, args.tests)
        envs = {name: {**base, "PYTHONPATH": str(make_copy(work / f"copy{i}", cuts))}
                for i, (name, cuts) in enumerate(CUTS.items())}
        names = list(CUTS)
        for name in names:  # warm-up: every copy's bytecode written once
            out = work / "warm"
            proc = _start(suite, out, ["-p", "pytest_dpone.plugin",
                                       f"--dpone-evidence-dir={out}"], 0, envs[name], "warm", None)
            _finish(*proc, out)
            if name == "pytest-dpone":
                check_evidence(out, tests)
        ratios: dict[str, list[float]] = {name: [] for name in names}
        for number in range(args.rounds):
            order = names[number % len(names):] + names[:number % len(names)]
            for first in range(0, len(order), len(cpus)):
                started = []
                for slot, (name, cpu) in enumerate(zip(order[first:first + len(cpus)], cpus,
                                                       strict=False)):
                    bare_out, run_out = work / f"bare{slot}", work / f"run{slot}"
                    extra = ["-p", "pytest_dpone.plugin", f"--dpone-evidence-dir={run_out}"]
                    pair = [(BARE, bare_out, [], base), (name, run_out, extra, envs[name])]
                    if number % 2:
                        pair.reverse()
                    started.append({label: (_start(suite, out, ex, 0, env, "warm", cpu), out)
                                    for label, out, ex, env in pair})
                for runs in started:
                    done = {label: _finish(*proc, out) for label, (proc, out) in runs.items()}
                    name = next(label for label in done if label != BARE)
                    ratios[name].append(done[name]["cpu_s"] / done[BARE]["cpu_s"])
            print(f"  round {number + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{tests:,} tests, {args.rounds} rounds; CPU time over a bare pytest run started "
          "with it on the same CPU\n")
    print("| variant | median ratio | rounds |")
    print("|---|---|---|")
    for name in names:
        rounds = ", ".join(f"{r:.3f}" for r in ratios[name])
        print(f"| {name} | {statistics.median(ratios[name]):.3f} | {rounds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
