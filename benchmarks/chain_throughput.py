"""Evidence-chain hashing throughput against plain hashlib and ``sha256sum`` (SPEC §8).

Not a test: run it by hand or in a scheduled job and read the table.

    python benchmarks/chain_throughput.py                 # 1 GiB in 1,000 files and in 1 file
    python benchmarks/chain_throughput.py --total-mib 64  # a quick run

Each round runs every contender once, in the same order (A B C A B C ...), after one
warm-up pass that fills the page cache, so all contenders hash from memory and drift
hits them alike. The table shows medians over the rounds and the ratio to a
single-threaded ``hashlib.file_digest`` loop (the issue-5 bar: chain 1 thread >= 0.9x),
by wall time and by CPU time. On a shared machine the wall numbers wander with the other
load; CPU seconds (all threads, plus the ``sha256sum`` child) are the fairer per-core
figure, while wall time is what shows the gain from threads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dpone_ops.evidence_chain import Member, build_index
from dpone_ops.hashing import default_workers, hash_files
from dpone_ops.models.base import Stamp

MIB = 1024 * 1024
STAMP = Stamp(release="bench", commit_sha="0" * 40, generated_at="2026-01-01T00:00:00Z")


def make_dataset(root: Path, total_bytes: int, count: int) -> list[Path]:
    """``count`` files of random bytes summing to ``total_bytes``; reused when present."""
    root.mkdir(parents=True, exist_ok=True)
    size = total_bytes // count
    paths = [root / f"artifact_{i:05d}.bin" for i in range(count)]
    for path in paths:
        if path.is_file() and path.stat().st_size == size:
            continue
        with path.open("wb") as handle:
            left = size
            while left:
                chunk = min(left, 8 * MIB)
                handle.write(os.urandom(chunk))
                left -= chunk
    return paths


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        if hasattr(hashlib, "file_digest"):
            # Typed as Any under mypy's python_version 3.10, which has no file_digest.
            hexdigest: str = hashlib.file_digest(handle, "sha256").hexdigest()
            return hexdigest
        digest = hashlib.sha256()  # Python 3.10: the same loop file_digest runs
        for chunk in iter(lambda: handle.read(1 << 18), b""):
            digest.update(chunk)
        return digest.hexdigest()


def file_digest_loop(paths: Sequence[Path]) -> None:
    for path in paths:
        _file_digest(path)


def file_digest_threads(paths: Sequence[Path]) -> None:
    with ThreadPoolExecutor(max_workers=default_workers()) as pool:
        list(pool.map(_file_digest, paths))


def chain(paths: Sequence[Path], workers: int) -> None:
    digests = hash_files(paths, workers=workers)
    members = [Member(p.stem, p.name, d.sha256 or "", d.size_bytes or 0)
               for p, d in zip(paths, digests, strict=True)]
    build_index(members, stamp=STAMP)


def sha256sum(paths: Sequence[Path]) -> None:
    subprocess.run(["sha256sum", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)


def contenders() -> dict[str, Callable[[Sequence[Path]], None]]:
    found: dict[str, Callable[[Sequence[Path]], None]] = {
        "hashlib.file_digest loop, 1 thread": file_digest_loop,
        "dpone evidence chain, 1 thread": lambda p: chain(p, 1),
        f"hashlib.file_digest, {default_workers()} threads": file_digest_threads,
        f"dpone evidence chain, {default_workers()} threads": lambda p: chain(p, default_workers()),
    }
    if shutil.which("sha256sum"):
        found["sha256sum (coreutils), 1 process"] = sha256sum
    return found


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its finished children (sha256sum)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure(paths: Sequence[Path], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds per round; CPU time is what a busy machine cannot distort."""
    runs = contenders()
    for run in runs.values():  # warm-up: page cache, imports, thread pools
        run(paths)
    times: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            cpu, wall = _cpu_seconds(), time.perf_counter()
            run(paths)
            times[name]["wall"].append(time.perf_counter() - wall)
            times[name]["cpu"].append(_cpu_seconds() - cpu)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-mib", type=int, default=1024, help="dataset size (1024)")
    parser.add_argument("--many", type=int, default=1000, help="files in the many-file set")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (>= 5 for medians)")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/dpone-chain-bench"))
    parser.add_argument("--output-dir", type=Path, default=Path("/tmp/dpone-chain-bench/out"))
    args = parser.parse_args(argv)
    total = args.total_mib * MIB
    results = []
    for label, count in ((f"{args.many} files", args.many), ("1 file", 1)):
        paths = make_dataset(args.data_dir / f"{args.total_mib}MiB-{count}", total, count)
        times = measure(paths, args.rounds)
        base = times["hashlib.file_digest loop, 1 thread"]
        base_wall, base_cpu = statistics.median(base["wall"]), statistics.median(base["cpu"])
        for name, samples in times.items():
            wall, cpu = statistics.median(samples["wall"]), statistics.median(samples["cpu"])
            results.append({
                "dataset": label, "contender": name, "rounds": len(samples["wall"]),
                "median_wall_seconds": round(wall, 4), "median_cpu_seconds": round(cpu, 4),
                "wall_samples": [round(s, 4) for s in samples["wall"]],
                "cpu_samples": [round(s, 4) for s in samples["cpu"]],
                "mib_per_wall_second": round(total / MIB / wall, 1),
                "mib_per_cpu_second": round(total / MIB / cpu, 1),
                "wall_vs_file_digest_1_thread": round(base_wall / wall, 3),
                "cpu_vs_file_digest_1_thread": round(base_cpu / cpu, 3),
            })
    report = {
        "benchmark": "evidence chain hashing throughput",
        "total_mib": args.total_mib, "rounds": args.rounds, "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "openssl": __import__("ssl").OPENSSL_VERSION, "results": results,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "chain_throughput.json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n")
    lines = [
        f"# Evidence chain hashing, {args.total_mib} MiB, median of {args.rounds} rounds",
        "", f"{report['python']} on {report['platform']}, {report['cpus']} CPUs, "
        f"{report['openssl']}", "",
        "| dataset | contender | wall s | MiB/s wall | x file_digest (wall) "
        "| CPU s | MiB per CPU s | x file_digest (CPU) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['dataset']} | {r['contender']} | {r['median_wall_seconds']} | "
              f"{r['mib_per_wall_second']} | {r['wall_vs_file_digest_1_thread']} | "
              f"{r['median_cpu_seconds']} | {r['mib_per_cpu_second']} | "
              f"{r['cpu_vs_file_digest_1_thread']} |" for r in results]
    markdown = "\n".join(lines) + "\n"
    (args.output_dir / "chain_throughput.md").write_text(markdown)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
