"""Plugin overhead on many trivial tests, against bare pytest and the peer reporters (SPEC §8).

Not a test: run it by hand or in a scheduled job and read the table.

    python benchmarks/plugin_overhead.py                       # 20,000 tests, 7 rounds, -n 0 and 2
    python benchmarks/plugin_overhead.py --tests 2000 --rounds 5 --workers 0

The generated suite has ``--tests`` trivial tests in modules of 500: plain functions and
one parametrized function per module; every tenth test is ``@pytest.mark.service``.

Fairness rules, all explicit:

* ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` for every run; each variant loads exactly the plugin it
  measures with ``-p`` (and ``-p xdist.plugin`` under ``-n``), so the installed peers do not
  tax the baseline. ``-p no:cacheprovider`` everywhere; the ``service`` marker is declared in
  the suite's ``pytest.ini`` so bare pytest does not warn about it.
* Bytecode: ``PYTHONDONTWRITEBYTECODE`` is removed from the child environment and every
  variant runs once as a warm-up before the measured rounds, so every measured run finds the
  same warm bytecode and assertion-rewrite caches (``--pyc off`` instead sets
  ``PYTHONDONTWRITEBYTECODE=1`` and deletes the suite's caches before every run).
* ``PYTHONHASHSEED=0`` for every child, so string hashing (and with it dict and set
  layout) is the same in every run instead of one more source of run-to-run spread.
* Rounds are interleaved (A B C ... then B C ... A, ...): each round runs every variant once,
  starting one variant later than the round before, so no variant always runs first or
  right after a given other. The table shows medians over rounds of the wall time, the CPU
  time (user+sys of the child and its reaped children, from ``wait4``), the per-round
  ratio to bare pytest of the same round, the child's max RSS and the size of what the
  reporter wrote. On a shared machine wall time wanders with the other load; CPU time is
  the steadier figure.
* ``bare pytest (A/A)`` runs bare pytest a second time in every round and is reported like
  any other variant: its ratio shows how far two identical runs differ here, i.e. how
  much of a difference the table can resolve.
* The warm-up run's evidence is parsed with the models (run manifest and service receipt
  must count every generated test), so a broken plugin cannot be timed as a fast one.

Writes ``plugin_overhead.json`` and ``plugin_overhead.md`` into ``--output-dir``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MODULE_SIZE = 500
PARAMS_PER_MODULE = 100  # tests per module that come from one parametrized function
PYTEST_INI = """[pytest]
markers =
    service(name, *more_names): marker used by the generated suite
"""


def write_suite(root: Path, tests: int) -> int:
    """Modules of trivial tests; every tenth test carries the service marker."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    written = 0
    module = 0
    while written < tests:
        size = min(MODULE_SIZE, tests - written)
        params = min(PARAMS_PER_MODULE, size)
        lines = ["import pytest", ""]
        for i in range(size - params):
            if (written + i) % 10 == 0:
                lines.append('@pytest.mark.service("postgres")')
            lines += [f"def test_plain_{i}():", "    assert True", ""]
        base = written + size - params
        values = ", ".join(
            f'pytest.param({j}, marks=pytest.mark.service("postgres"))'
            if (base + j) % 10 == 0 else str(j)
            for j in range(params)
        )
        lines += [f"@pytest.mark.parametrize('j', [{values}])", "def test_param(j):",
                  "    assert j >= 0", ""]
        (root / f"test_suite_{module:03d}.py").write_text("\n".join(lines), encoding="utf-8")
        written += size
        module += 1
    return written


BARE, CONTROL, DPONE = "bare pytest", "bare pytest (A/A)", "pytest-dpone"


def variants(out: Path) -> dict[str, list[str]]:
    """Variant name -> extra pytest arguments; ``out`` is wiped before every run."""
    return {
        BARE: [],
        CONTROL: [],
        DPONE: ["-p", "pytest_dpone.plugin", f"--dpone-evidence-dir={out}"],
        "--junitxml": [f"--junitxml={out / 'junit.xml'}"],
        "pytest-reportlog": ["-p", "pytest_reportlog.plugin", f"--report-log={out / 'log.jsonl'}"],
        "pytest-json-report": ["-p", "pytest_jsonreport.plugin", "--json-report",
                               f"--json-report-file={out / 'report.json'}"],
    }


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment for a measured pytest child, the same for every variant.

    No inherited pytest options, plugin autoload, coverage hooks or bytecode setting; a fixed
    hash seed. ``overrides`` are set last (``PYTHONPATH`` of a plugin copy, say).
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "PYTHONDONTWRITEBYTECODE", "COV_"))}
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONHASHSEED="0", **overrides)
    return env


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _start(suite: Path, out: Path, extra: list[str], workers: int, env: dict[str, str],
           pyc: str, cpu: int | None) -> tuple[subprocess.Popen[bytes], float, list[str]]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if pyc == "off":
        for cache in suite.glob("__pycache__"):
            shutil.rmtree(cache)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    if workers:
        argv += ["-p", "xdist.plugin", "-n", str(workers)]
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=suite, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=pin)
    return proc, start, argv


def _finish(proc: subprocess.Popen[bytes], start: float, argv: list[str],
            out: Path) -> dict[str, float]:
    assert proc.stderr is not None
    with proc.stderr:
        err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {err.decode()[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "max_rss_mib": usage.ru_maxrss / 1024, "output_bytes": _size(out)}


def run_once(suite: Path, out: Path, extra: list[str], workers: int,
             env: dict[str, str], pyc: str) -> dict[str, float]:
    return _finish(*_start(suite, out, extra, workers, env, pyc, None), out)


def run_pair(suite: Path, outs: tuple[Path, Path], extras: tuple[list[str], list[str]],
             env: dict[str, str], pyc: str, cpus: tuple[int, int]
             ) -> tuple[dict[str, float], dict[str, float]]:
    """Two in-process runs at the same time, each pinned to its own CPU."""
    first = _start(suite, outs[0], extras[0], 0, env, pyc, cpus[0])
    second = _start(suite, outs[1], extras[1], 0, env, pyc, cpus[1])
    return _finish(*first, outs[0]), _finish(*second, outs[1])


def _against(sample: dict[str, float], bare: dict[str, float]) -> dict[str, float]:
    return {**sample, "bare_wall_s": bare["wall_s"], "bare_cpu_s": bare["cpu_s"]}


def measure(suite: Path, out: Path, tests: int, rounds: int, workers: int,
            env: dict[str, str], pyc: str, pairing: str) -> dict[str, list[dict[str, float]]]:
    """Every variant's runs, each recorded with the bare run it is compared against.

    ``sequential``: one run at a time, every variant once per round (in an order that
    rotates by one each round), each compared with the round's bare run. ``simultaneous``
    (in-process only): each variant runs at the same time as a bare run, the two pinned to
    different CPUs (swapped every round), and is compared with that bare run, so a slow
    spell of the machine slows both sides of a ratio alike.
    """
    runs = variants(out)
    # Warm-up: one run with every measured plugin loaded writes every bytecode cache and
    # fills the page cache, so no measured run pays for compiling anything.
    warm = [arg for name, extra in runs.items() if name != DPONE for arg in extra]
    run_once(suite, out, [*runs[DPONE], *warm], workers, env, pyc)
    check_evidence(out, tests)
    if pairing == "shared":
        contenders = {name: (arguments_of(name), env) for name in runs if name != BARE}
        return paired_rounds(suite, out.parent, rounds, workers, pyc, env, contenders)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    if pairing == "simultaneous":
        others = [name for name in runs if name != BARE]
        cpus = sorted(os.sched_getaffinity(0))[:2]
        for number in range(rounds):
            shift = number % len(others)
            order = (cpus[0], cpus[1]) if number % 2 == 0 else (cpus[1], cpus[0])
            for name in others[shift:] + others[:shift]:
                bare, sample = run_pair(suite, (out.with_name("out-bare"), out),
                                        ([], runs[name]), env, pyc, order)
                samples[BARE].append(_against(bare, bare))
                samples[name].append(_against(sample, bare))
            print(f"  -n 0: round {number + 1}/{rounds} done", file=sys.stderr)
        return samples
    names = list(runs)
    for number in range(rounds):
        shift = number % len(names)
        this_round = {name: run_once(suite, out, runs[name], workers, env, pyc)
                      for name in names[shift:] + names[:shift]}
        for name, sample in this_round.items():
            samples[name].append(_against(sample, this_round[BARE]))
        print(f"  -n {workers}: round {number + 1}/{rounds} done", file=sys.stderr)
    return samples


# A contender of paired rounds: its pytest arguments for an output dir, and its environment.
Contender = tuple[Callable[[Path], list[str]], dict[str, str]]


def paired_rounds(suite: Path, work: Path, rounds: int, workers: int, pyc: str,
                  bare_env: dict[str, str], contenders: dict[str, Contender]
                  ) -> dict[str, list[dict[str, float]]]:
    """Every contender started together with a bare run on the same CPU, compared with it.

    The two runs of a pair share one CPU (in-process: pinned to it; under ``-n``: both
    process trees share every CPU), so the kernel interleaves them every few milliseconds
    and a slow spell of the shared host lands on both sides of the ratio alike. With two
    CPUs, two pairs run at once, one per CPU. Which run of a pair starts first alternates
    by round; the order of the contenders rotates by one every round.
    """
    names = list(contenders)
    slots: list[int | None] = [None] if workers else list(sorted(os.sched_getaffinity(0))[:2])
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in [BARE, *names]}
    for number in range(rounds):
        shift = number % len(names)
        order = names[shift:] + names[:shift]
        for first in range(0, len(order), len(slots)):
            started = []
            batch = zip(order[first:first + len(slots)], slots, strict=False)  # last: fewer
            for index, (name, cpu) in enumerate(batch):
                bare_out, run_out = work / f"pair{index}-bare", work / f"pair{index}"
                arguments, env = contenders[name]
                runs = [(BARE, bare_out, [], bare_env), (name, run_out, arguments(run_out), env)]
                if number % 2:
                    runs.reverse()
                started.append({label: (_start(suite, path, extra, workers, env, pyc, cpu), path)
                                for label, path, extra, env in runs})
            for pair in started:
                done = {label: _finish(*proc, path) for label, (proc, path) in pair.items()}
                name = next(label for label in done if label != BARE)
                samples[BARE].append(_against(done[BARE], done[BARE]))
                samples[name].append(_against(done[name], done[BARE]))
        print(f"  -n {workers}: round {number + 1}/{rounds} done", file=sys.stderr)
    return samples


def arguments_of(name: str) -> Callable[[Path], list[str]]:
    """The pytest arguments of variant ``name`` for a given output dir."""
    return lambda out: variants(out)[name]


def check_evidence(out: Path, tests: int) -> None:
    """The plugin really recorded the suite: every test counted, every marked one receipted."""
    from dpone_ops.models.evidence import RunManifest, ServiceMarkers

    manifest = RunManifest.model_validate_json((out / "run_manifest.json").read_bytes())
    markers = ServiceMarkers.model_validate_json((out / "service_markers.json").read_bytes())
    if manifest.totals.tests != tests or manifest.totals.passed != tests \
            or markers.totals.passed != (tests + 9) // 10:
        raise SystemExit(f"pytest-dpone evidence is incomplete: manifest {manifest.totals}, "
                         f"service receipt {markers.totals}")


def summarise(samples: dict[str, list[dict[str, float]]]) -> list[dict[str, Any]]:
    rows = []
    for name, runs in samples.items():
        rows.append({
            "variant": name,
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "ratio_wall": statistics.median(r["wall_s"] / r["bare_wall_s"] for r in runs),
            "ratio_cpu": statistics.median(r["cpu_s"] / r["bare_cpu_s"] for r in runs),
            "max_rss_mib": max(r["max_rss_mib"] for r in runs),
            "output_bytes": int(statistics.median(r["output_bytes"] for r in runs)),
            "rounds": runs,
        })
    return rows


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report['tests']:,} trivial tests ({report['marked']:,} service-marked), "
        f"{report['rounds']} rounds after a warm-up"
        + (f" (pooled from {len(report['combined_from'])} copies run side by side)"
           if report.get("combined_from") else "")
        + f", bytecode cache {report['pyc']}; {report['python']} on {report['platform']}, "
        f"{report['cpus']} CPUs",
        "",
    ]
    for workers, rows in report["results"].items():
        pairing = report.get("pairing", {}).get(workers, "sequential")
        lines += [
            f"**{'in-process (no -n)' if workers == '0' else f'-n {workers}'}**, "
            + {"shared": "each run started with a bare run on the same CPU"
               + (" (two pairs at once)" if workers == "0" else "s"),
               "simultaneous": "each run beside a bare run on the other CPU"}.get(
                   pairing, "one run at a time"),
            "",
            "| variant | median wall s | median CPU s | ratio to bare (wall) "
            "| ratio to bare (CPU) | max RSS MiB | output |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            size = row["output_bytes"]
            lines.append(
                f"| {row['variant']} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} "
                f"| {row['ratio_wall']:.3f} | {row['ratio_cpu']:.3f} "
                f"| {row['max_rss_mib']:.0f} | {size / 1e6:.1f} MB |"
                if size else
                f"| {row['variant']} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} "
                f"| {row['ratio_wall']:.3f} | {row['ratio_cpu']:.3f} "
                f"| {row['max_rss_mib']:.0f} | — |"
            )
        lines.append("")
        count = max(len(row["rounds"]) for row in rows if row["variant"] != BARE)
        lines += [
            "Per-round CPU ratio to its bare pytest run:",
            "",
            "| variant | " + " | ".join(f"round {i + 1}" for i in range(count)) + " |",
            "|---|" + "---|" * count,
        ]
        for row in rows:
            if row["variant"] != BARE:
                lines.append(f"| {row['variant']} | " + " | ".join(
                    f"{r['cpu_s'] / r['bare_cpu_s']:.3f}" for r in row["rounds"]) + " |")
        lines.append("")
    return "\n".join(lines)


def write_report(report: dict[str, Any], output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "plugin_overhead.json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    text = markdown(report)
    (output_dir / "plugin_overhead.md").write_text(text + "\n", encoding="utf-8")
    print(text)


def combine(paths: Sequence[Path], output_dir: Path) -> int:
    """Pool the per-round samples of several reports; each round stays paired with its bare."""
    reports = [json.loads(path.read_text("utf-8")) for path in paths]
    first = reports[0]
    if any(r["tests"] != first["tests"] or r["pyc"] != first["pyc"] for r in reports):
        raise SystemExit("--combine: the reports differ in --tests or --pyc")
    pooled: dict[str, dict[str, list[dict[str, float]]]] = {}
    for report in reports:
        for workers, rows in report["results"].items():
            for row in rows:
                pooled.setdefault(workers, {}).setdefault(row["variant"], []).extend(row["rounds"])
    write_report({**first, "rounds": sum(r["rounds"] for r in reports),
                  "combined_from": [str(p) for p in paths],
                  "results": {w: summarise(s) for w, s in pooled.items()}}, output_dir)
    return 0


# Import name -> distribution of every plugin a measured variant loads with ``-p``.
PEER_MODULES = {"pytest_reportlog": "pytest-reportlog", "pytest_jsonreport": "pytest-json-report"}


def missing_plugins(workers_list: Sequence[int]) -> list[str]:
    """Distributions a run with these ``-n`` values needs that are not importable."""
    needed = dict(PEER_MODULES)
    if any(workers_list):
        needed["xdist"] = "pytest-xdist"
    return [dist for module, dist in needed.items() if importlib.util.find_spec(module) is None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workers", type=int, action="append",
                        help="pytest-xdist -n values to measure, repeatable; 0 is no xdist "
                        "(default: 0 and 2)")
    parser.add_argument("--pyc", choices=("warm", "off"), default="warm")
    parser.add_argument("--pairing", choices=("shared", "simultaneous", "sequential"),
                        default="shared",
                        help="shared (default): each run started with a bare run on the "
                        "same CPU (under -n: the same CPUs), two pairs at once in-process; "
                        "simultaneous: in-process runs beside a bare run on the other CPU; "
                        "sequential: one run at a time")
    parser.add_argument("--output-dir", type=Path, default=Path("benchmark-results"))
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the suite is generated (default: a temp dir)")
    parser.add_argument("--combine", type=Path, nargs="+", metavar="JSON",
                        help="measure nothing: pool the rounds of earlier plugin_overhead.json "
                        "files (same --tests, e.g. copies run side by side) into one table")
    args = parser.parse_args(argv)
    if args.combine:
        return combine(args.combine, args.output_dir)
    workers_list = args.workers or [0, 2]
    missing = missing_plugins(workers_list)
    if missing:
        # Before the warm-up: otherwise the first child dies with an ImportError traceback.
        raise SystemExit(f"not installed: {', '.join(missing)} "
                         '(pip install -e ".[perf]" installs every measured peer)')
    env = child_env()
    if args.pyc == "off":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        suite = Path(tmp) / "suite"
        tests = write_suite(suite, args.tests)
        out = Path(tmp) / "out"
        results, pairing = {}, {}
        for workers in workers_list:
            pairing[str(workers)] = args.pairing
            if (args.pyc == "off" and args.pairing == "shared") \
                    or (args.pairing == "simultaneous" and workers != 0) \
                    or (args.pairing != "sequential" and len(os.sched_getaffinity(0)) < 2):
                # Concurrent runs would delete each other's bytecode caches (--pyc off),
                # or there is no second CPU to pin to.
                pairing[str(workers)] = "sequential"
            results[str(workers)] = summarise(measure(
                suite, out, tests, args.rounds, workers, env, args.pyc, pairing[str(workers)]))
    report = {
        "tests": tests, "marked": (tests + 9) // 10, "rounds": args.rounds, "pyc": args.pyc,
        "env": {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONHASHSEED": "0",
                "PYTHONDONTWRITEBYTECODE": env.get("PYTHONDONTWRITEBYTECODE", "(unset)")},
        "python": f"Python {platform.python_version()}", "platform": platform.platform(),
        "cpus": os.cpu_count(), "pairing": pairing, "results": results,
    }
    write_report(report, args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
