"""How pack, validate and merge cost grows with the number of artifacts and cases (SPEC §8).

Not a test: run it by hand or in a scheduled job and read the table.

    python benchmarks/pack_scale.py                          # 100 / 1,000 / 10,000 artifacts
    python benchmarks/pack_scale.py --artifacts 100 --artifacts 1000 --cases 10000

Artifacts are real ``service_markers`` artifacts made by the plugin's own builder
(:mod:`dpone_ops.evidence_build`), ``--rows`` test cases each, all bound to one release,
commit and profile. Shards are real evidence journals of ``--shards`` slices of one
collection, written with the same builders' journal format. Every command runs as a child
process (``dpone ops ...``); the table shows the median wall and CPU time over
``--rounds`` runs and the child's peak RSS (``ru_maxrss`` from ``wait4``), and the cost per
artifact or per case, which stays flat when cost grows linearly.

Writes ``pack_scale.json`` and ``pack_scale.md`` into ``--output-dir``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RELEASE, PROFILE, COMMIT = "v0.0.0-bench", "local_live", "0" * 40
DPONE = [sys.executable, "-c", "import sys; from dpone_ops.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "ops"]


def _run_record(**extra: Any) -> Any:
    from dpone_ops.evidence_build import RunRecord

    facts: dict[str, Any] = {
        "release": RELEASE, "profile": PROFILE, "commit_sha": COMMIT,
        "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:01:00Z",
        "exit_status": 0, "interrupted": False, "complete": True, **extra,
    }
    return RunRecord.model_validate(facts, strict=False)


def _case(i: int) -> dict[str, Any]:
    return {"node_id": f"tests/test_bench_{i // 500:04d}.py::test_{i}", "status": "passed",
            "duration_ms": 1.0, "marks": {"service": [{"name": "postgres"}]}}


def write_artifacts(root: Path, count: int, rows: int) -> list[tuple[str, Path]]:
    """``count`` service_markers artifacts of ``rows`` cases each; the bytes are shared."""
    from dpone_ops.evidence_build import build_service_markers
    from dpone_ops.models.base import Stamp
    from dpone_ops.writing import canonical_bytes

    stamp = Stamp(release=RELEASE, profile=PROFILE, commit_sha=COMMIT,
                  generated_at="2026-01-01T00:00:00Z")
    root.mkdir(parents=True, exist_ok=True)
    run = _run_record(collection={"collected": rows, "deselected": 0, "selected": rows})
    payload = canonical_bytes(build_service_markers([_case(i) for i in range(rows)], run, stamp))
    pairs = []
    for i in range(count):
        path = root / f"a{i:05d}.json"
        if not path.is_file():
            path.write_bytes(payload)
        pairs.append((f"a{i:05d}", path))
    return pairs


def write_shards(root: Path, cases: int, shards: int) -> list[Path]:
    """A ``shards``-way split of one collection of ``cases`` tests, as evidence journals."""
    from dpone_ops.evidence_io import journal_text

    node_ids = [_case(i)["node_id"] for i in range(cases)]
    digest = hashlib.sha256("\n".join(sorted(node_ids)).encode()).hexdigest()
    dirs = []
    for index in range(shards):
        directory = root / f"shard{index}"
        directory.mkdir(parents=True, exist_ok=True)
        mine = [_case(i) for i in range(index, cases, shards)]
        run = _run_record(
            shard={"id": f"{index + 1}/{shards}", "index": index, "count": shards},
            collection={"collected": cases, "deselected": cases - len(mine),
                        "selected": len(mine), "collected_digest": digest,
                        "collected_count": cases},
        )
        (directory / "evidence_journal.jsonl").write_text(journal_text(run, mine), "utf-8")
        dirs.append(directory)
    return dirs


def run_child(argv: list[str], out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv[:8])} ... exited {code}: {err.decode()[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "max_rss_mib": usage.ru_maxrss / 1024, "exit": code}


def commands(work: Path, counts: Sequence[int], case_counts: Sequence[int], rows: int,
             shards: int) -> list[dict[str, Any]]:
    """Each measured command with its size; inputs are generated here, once."""
    planned = []
    out = work / "out"
    binding = ["--release", RELEASE, "--profile", PROFILE, "--commit-sha", COMMIT]
    for count in counts:
        pairs = write_artifacts(work / "artifacts", count, rows)
        specs = [f"{name}={path}" for name, path in pairs]
        size = sum(path.stat().st_size for _, path in pairs)
        planned.append({"command": "validate-artifact", "unit": "artifact", "n": count,
                        "input_bytes": size,
                        "argv": [*DPONE, "validate-artifact", *specs, *binding,
                                 "--output-dir", str(out)]})
        # Thousands of repeated flags cost argparse quadratic time; a list file does not.
        listing = work / f"artifacts-{count}.txt"
        listing.write_text("".join(f"{spec}\n" for spec in specs), encoding="utf-8")
        planned.append({"command": "release-evidence-pack", "unit": "artifact", "n": count,
                        "input_bytes": size,
                        "argv": [*DPONE, "release-evidence-pack", *binding, "--release-type",
                                 "patch-docs", "--artifact-list", str(listing),
                                 "--output-dir", str(out)]})
    for cases in case_counts:
        dirs = write_shards(work / f"shards-{cases}", cases, shards)
        size = sum((d / "evidence_journal.jsonl").stat().st_size for d in dirs)
        planned.append({"command": f"merge-evidence ({shards} shards)", "unit": "case",
                        "n": cases, "input_bytes": size,
                        "argv": [*DPONE, "merge-evidence", "--expect-shards", str(shards),
                                 *[a for d in dirs for a in ("--shard", str(d))],
                                 "--output-dir", str(out)]})
    return planned


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report['rounds']} round(s) per command, interleaved; artifacts of {report['rows']} "
        f"cases each; {report['python']} on {report['platform']}, {report['cpus']} CPUs",
        "",
        "| command | n | input MB | median wall s | median CPU s | CPU ms per unit "
        "| peak RSS MiB | exit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["results"]:
        lines.append(
            f"| {row['command']} | {row['n']:,} {row['unit']}s | {row['input_bytes'] / 1e6:.1f} "
            f"| {row['wall_s']:.2f} | {row['cpu_s']:.2f} "
            f"| {1000 * row['cpu_s'] / row['n']:.3f} | {row['max_rss_mib']:.0f} "
            f"| {row['exit']} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--artifacts", type=int, action="append",
                        help="artifact counts (repeatable; default 100, 1000, 10000)")
    parser.add_argument("--cases", type=int, action="append",
                        help="total cases over the shards (repeatable; default 10000, 100000)")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--rows", type=int, default=20, help="cases per artifact")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output-dir", type=Path, default=Path("benchmark-results"))
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--plan-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = (args.artifacts or [100, 1000, 10_000], args.cases or [10_000, 100_000])
    if args.plan_into is not None:
        plan = commands(args.plan_into.parent, *sizes, args.rows, args.shards)
        args.plan_into.write_text(json.dumps(plan), encoding="utf-8")
        return 0
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        # Inputs are generated in a child: a child forked from a big parent would report
        # the parent's resident size as its own peak (ru_maxrss survives exec).
        subprocess.run([sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]),
                        "--plan-into", str(work / "plan.json")], check=True)
        planned = json.loads((work / "plan.json").read_text("utf-8"))
        samples: list[list[dict[str, float]]] = [[] for _ in planned]
        for number in range(args.rounds):
            for spec, runs in zip(planned, samples, strict=True):
                runs.append(run_child(spec["argv"], work / "out"))
            print(f"  round {number + 1}/{args.rounds} done", file=sys.stderr)
    results = []
    for spec, runs in zip(planned, samples, strict=True):
        results.append({
            "command": spec["command"], "unit": spec["unit"], "n": spec["n"],
            "input_bytes": spec["input_bytes"],
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "max_rss_mib": max(r["max_rss_mib"] for r in runs),
            "exit": sorted({int(r["exit"]) for r in runs}),
            "rounds": runs,
        })
    for row in results:
        row["exit"] = "/".join(map(str, row["exit"]))
    report = {
        "rounds": args.rounds, "rows": args.rows, "shards": args.shards,
        "python": f"Python {platform.python_version()}", "platform": platform.platform(),
        "cpus": os.cpu_count(), "results": results,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "pack_scale.json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    text = markdown(report)
    (args.output_dir / "pack_scale.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
