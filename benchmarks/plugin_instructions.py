"""Plugin overhead as CPU instructions, counted by valgrind: a noise-free second opinion.

Not a test. On a shared machine two identical pytest runs differ by 5-15 % in CPU time, so a
change worth 1 % cannot be seen in ``plugin_overhead.py``'s rounds. The number of
instructions a run executes (valgrind's cachegrind, no cache simulation) is the same on
every run to a few parts in 10,000, so it shows what a change did at once. It does not
weigh cache misses or system calls, so it is a guide for work on the plugin; the bar of
SPEC §8 stays the time ratio that ``plugin_overhead.py`` measures.

    apt-get install valgrind
    python benchmarks/plugin_instructions.py --tests 20000      # about 3 min per variant

It generates the same suite as ``plugin_overhead.py``, warms the bytecode caches, then counts
bare pytest and each variant once (two at a time: counting is not disturbed by load) and
prints the extra instructions per variant, in total, per test and as a ratio to bare.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# Run as a script, this file's folder is on sys.path: the suite and variants are shared.
from plugin_overhead import (
    BARE,
    CONTROL,
    DPONE,
    PEER_MODULES,
    child_env,
    missing_plugins,
    variants,
    write_suite,
)

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count(suite: Path, out: Path, extra: list[str], env: dict[str, str]) -> int:
    """Instructions of one ``python -m pytest`` run under cachegrind."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # The real interpreter, not a shim script (pyenv's would be what valgrind counts).
    python = os.path.realpath(sys.executable)
    argv = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
            "--cachegrind-out-file=/dev/null", python, "-m", "pytest", "-q",
            "-p", "no:cacheprovider", *extra]
    proc = subprocess.run(argv, cwd=suite, env=env, capture_output=True, text=True,
                          check=False)
    match = _REFS.search(proc.stderr)
    if proc.returncode != 0 or match is None:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--variant", action="append",
                        help="variants to count besides bare pytest (default: all of "
                        "plugin_overhead.py's)")
    parser.add_argument("--output", type=Path, default=Path("benchmark-results") /
                        "plugin_instructions.json")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    env = child_env()
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite"
        tests = write_suite(suite, args.tests)
        runs = variants(Path(tmp) / "out")
        names = [BARE, *(args.variant or [n for n in runs if n not in (BARE, CONTROL)])]
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in runs]
        if unknown:
            raise SystemExit(f"unknown variant(s) {unknown}; known: {list(runs)}")
        # The peer variants are named after their distributions.
        peers = set(PEER_MODULES.values()) & set(names)
        missing = [dist for dist in missing_plugins([0]) if dist in peers]
        if missing:
            raise SystemExit(f"not installed: {', '.join(missing)} (pip install -e \".[perf]\")")
        warm = [arg for name in names if name != DPONE for arg in runs[name]]
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        *runs[DPONE], *warm], cwd=suite, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            # Each run writes into a dir of its own: two of them run at a time.
            futures = {name: pool.submit(count, suite, Path(tmp) / f"out-{index}",
                                         variants(Path(tmp) / f"out-{index}")[name], env)
                       for index, name in enumerate(names)}
            counted = {name: future.result() for name, future in futures.items()}
    bare = counted[BARE]
    report = {"tests": tests, "instructions": counted,
              "ratio": {name: value / bare for name, value in counted.items()}}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", "utf-8")
    print(f"{tests:,} tests; instructions of bare pytest: {bare:,}")
    print("| variant | extra instructions | per test | ratio to bare |")
    print("|---|---|---|---|")
    for name, value in counted.items():
        print(f"| {name} | {value - bare:+,} | {(value - bare) / tests:+,.0f} "
              f"| {value / bare:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
