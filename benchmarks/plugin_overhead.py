"""Plugin overhead on many trivial marked tests, against bare pytest and other reporters (SPEC §8).

Not a test: run it by hand or in a scheduled job and read the table.

    python benchmarks/plugin_overhead.py                    # 20,000 tests, 3 rounds
    python benchmarks/plugin_overhead.py --tests 2000 --rounds 1 --workers 0

Every contender runs the same generated suite in a subprocess, in the same order per round
(A B C ... A B C ...), after one warm-up run; the table shows the median wall time and the
overhead over bare pytest. Reporters that are not installed (pytest-reportlog,
pytest-json-report) are listed as skipped, never guessed.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = '''import pytest

@pytest.mark.service("postgres")
@pytest.mark.parametrize("i", range({tests}))
def test_trivial(i):
    assert i >= 0
'''


def contenders(out: Path) -> dict[str, list[str] | None]:
    def installed(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    return {
        "bare pytest": ["-p", "no:dpone"],
        "pytest-dpone": ["--dpone-evidence-dir", str(out / "evidence")],
        "--junitxml": ["-p", "no:dpone", f"--junitxml={out / 'junit.xml'}"],
        "pytest-reportlog": (["-p", "no:dpone", f"--report-log={out / 'log.jsonl'}"]
                             if installed("pytest_reportlog") else None),
        "pytest-json-report": (["-p", "no:dpone", "--json-report",
                                f"--json-report-file={out / 'report.json'}"]
                               if installed("pytest_jsonreport") else None),
    }


def run_once(suite: Path, extra: list[str], workers: int) -> float:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite), *extra]
    if workers:
        argv += ["-n", str(workers)]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   cwd=suite.parent)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="pytest-xdist -n (0: off)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        suite = root / "test_suite.py"
        suite.write_text(SUITE.format(tests=args.tests), encoding="utf-8")
        (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        runs = {name: extra for name, extra in contenders(root).items() if extra is not None}
        skipped = [name for name, extra in contenders(root).items() if extra is None]
        run_once(suite, runs["bare pytest"], args.workers)  # warm-up: imports, page cache
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, extra in runs.items():
                times[name].append(run_once(suite, extra, args.workers))
    base = statistics.median(times["bare pytest"])
    print(f"{args.tests} trivial marked tests, {args.rounds} round(s), "
          f"xdist workers: {args.workers or 'off'}, python {sys.version.split()[0]}")
    print("| contender | median wall s | overhead vs bare |")
    print("|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {100 * (median - base) / base:+.1f} % |")
    for name in skipped:
        print(f"| {name} | not installed | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
