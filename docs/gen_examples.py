"""Regenerate ``docs/artifacts/examples/*.json`` by really running the plugin and every command.

    python docs/gen_examples.py                        # then: python docs/gen_artifacts.py
    python docs/gen_examples.py --with-package-check   # also build and smoke-install (slow)

A tiny suite with every evidence marker runs under the plugin (its postgres-marked tests use
whatever provider is available: DPONE_IT_PG_* variables, Docker, or the local PostgreSQL
binaries), then the gates, the chain, the pack, a two-shard merge and a crash recovery run
on its evidence with a fixed SOURCE_DATE_EPOCH. Each output is copied as the example of its
kind, with temporary directories replaced by stable names. A step that fails is reported
and its old example kept.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
EXAMPLES = DOCS / "artifacts" / "examples"
EPOCH = "1795608000"  # 2026-11-25T12:00:00Z
COMMIT = "3f1c2a9e5b7d4c6a8e0f1b2c3d4e5f6a7b8c9d0e"
RELEASE = "v0.7.1"

SUITE = '''import pytest


@pytest.mark.service("postgres")
def test_copy_roundtrip(dpone_service, dpone_evidence):
    with dpone_evidence.measure(rows=10_000):
        total = sum(range(10_000))
    assert total > 0


@pytest.mark.service("postgres")
@pytest.mark.state_backend("postgres", check="xmin_state")
def test_xmin_advances_only_after_load(dpone_evidence):
    dpone_evidence.record_state("postgres", "xmin_state", 7410, 7522,
                                load_succeeded=True, committed_after_load=True)


@pytest.mark.service("postgres")
@pytest.mark.reconciliation(kind="physical_delete")
def test_physical_deletes_reach_the_sink(dpone_evidence):
    dpone_evidence.record_reconciliation("physical_delete", source_rows=9500, sink_rows=9500,
                                         deleted_at_source=500, deleted_at_sink=500)


@pytest.mark.certification(source="postgres", sink="minio", strategy="full_refresh")
@pytest.mark.performance
def test_postgres_to_minio_full_refresh(dpone_evidence):
    dpone_evidence.metric("failure_rate", 0.0, "ratio")


@pytest.mark.release_check("cli_commands")
def test_cli_commands_parse():
    assert True
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-package-check", action="store_true")
    args = parser.parse_args(argv)
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dpone-examples-") as tmp:
        work = Path(tmp)
        (work / "tests").mkdir()
        (work / "tests" / "test_pipeline.py").write_text(SUITE, encoding="utf-8")
        (work / "pyproject.toml").write_text(
            '[tool.pytest.ini_options]\ndpone_required_state_checks = ["postgres:xmin_state"]\n',
            encoding="utf-8")

        def run(name: str, *argv: str, module: str = "dpone_ops", ok: tuple[int, ...] = (0, 1)
                ) -> None:
            result = subprocess.run([sys.executable, "-m", module, *argv], cwd=work, env=env,
                                    capture_output=True, text=True, check=False)
            if result.returncode not in ok:
                failed.append(f"{name}: exit {result.returncode}: "
                              f"{(result.stderr or result.stdout).strip()[-300:]}")

        pytest_args = ["-q", "-p", "no:cacheprovider", "--dpone-release", RELEASE,
                       "--dpone-profile", "local_live", "--dpone-commit-sha", COMMIT]
        run("pytest", *pytest_args, "--dpone-evidence-dir", "evidence",
            "--dpone-require-service", "postgres", module="pytest")
        for i in (1, 2):
            run(f"shard {i}", *pytest_args, "--dpone-evidence-dir", f"shards/{i}",
                "--dpone-shard", f"{i}/2", module="pytest")
        e, o = "evidence", "out"
        bind = ["--release", RELEASE, "--commit-sha", COMMIT]
        run("plan", "ops", "live-certification-plan", "--profile", "real_local", *bind,
            "--output-dir", f"{o}/plan")
        run("performance", "ops", "performance-certification", "--profile", "local_live", *bind,
            "--metrics-file", f"{e}/performance_metrics.json",
            "--minimum-json", '{"throughput_rows_per_second": 500}',
            "--maximum-json",
            '{"duration_seconds": 120, "memory_peak_mb": 2048, "failure_rate": 0}',
            "--output-dir", f"{o}/performance-certification")
        run("state", "ops", "live-state-reconciliation", "--profile", "local_live", *bind,
            "--artifact", f"state={e}/state_evidence.json",
            "--artifact", f"reconciliation={e}/reconciliation_evidence.json",
            "--output-dir", f"{o}/live-state-reconciliation")
        run("certification pack", "ops", "certification-pack", "--profile", "local_live", *bind,
            "--artifact", f"certification_report={e}/certification_report.json",
            "--artifact", f"run_manifest={e}/run_manifest.json",
            "--artifact", f"performance_certification={o}/performance-certification/"
            "performance_certification.json",
            "--artifact", f"live_state_reconciliation={o}/live-state-reconciliation/"
            "live_state_reconciliation.json",
            "--output-dir", f"{o}/certification-pack")
        run("docs", "docs", "check-docs", "--docs-dir", str(DOCS), *bind,
            "--output-dir", f"{o}/docs")
        run("checklist", "ops", "pre-release-checklist", *bind, "--release-type", "patch",
            "--check", "cli_commands=true", "--check", "run_cli=true",
            "--check", "source_sink_matrix=true", "--check", "package=true",
            "--check-artifact", f"documentation={o}/docs/docs_check.json",
            "--output-dir", f"{o}/pre-release")
        run("chain", "ops", "evidence-chain", "--profile", "local_live", *bind,
            "--artifact", f"service_markers={e}/service_markers.json",
            "--artifact", f"pre_release_checklist={o}/pre-release/pre_release_checklist.json",
            "--output-dir", f"{o}/evidence-chain")
        run("verify", "ops", "evidence-chain-verify", "--release", RELEASE,
            "--index", f"{o}/evidence-chain/evidence_chain_index.json",
            "--prove", "service_markers", "--output-dir", f"{o}/verify")
        run("pack", "ops", "release-evidence-pack", "--profile", "local_live", *bind,
            "--release-type", "patch",
            "--artifact", f"service_markers={e}/service_markers.json",
            "--artifact", f"pre_release_checklist={o}/pre-release/pre_release_checklist.json",
            "--artifact", f"evidence_chain={o}/evidence-chain/evidence_chain_index.json",
            "--output-dir", f"{o}/release")
        run("validate", "ops", "validate-artifact", f"state={e}/state_evidence.json",
            f"reconciliation={e}/reconciliation_evidence.json", *bind,
            "--output-dir", f"{o}/validate")
        run("baseline", "ops", "benchmark-baseline", "update", "--baseline",
            f"{o}/baseline.json", "--metrics-file", f"{e}/performance_metrics.json",
            "--profile", "local_live", *bind)
        run("slo", "ops", "benchmark-slo-gate", "--metrics-file",
            f"{e}/performance_metrics.json", "--baseline", f"{o}/baseline.json",
            "--objectives-json", '{"failure_rate": {"max": 0}}', "--profile", "local_live",
            *bind, "--output-dir", f"{o}/benchmark")
        run("merge", "ops", "merge-evidence", "--shard", "shards/1", "--shard", "shards/2",
            "--expect-shards", "2", "--output-dir", f"{o}/merged")
        crashed = work / "crashed"
        crashed.mkdir()
        journal = (work / e / "evidence_journal.jsonl")
        if journal.is_file():  # drop the footer: what a hard-killed session leaves
            lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
            (crashed / "evidence_journal.jsonl").write_text("".join(lines[:-1]),
                                                            encoding="utf-8")
        run("recover", "ops", "recover-evidence", "crashed", "--output-dir", f"{o}/recovered")
        run("certify", "ops", "certify", "--project", str(ROOT / "examples" / "quickstart"),
            "--output-dir", str(work / o / "certify"), "--format", "json")
        if args.with_package_check:
            run("package", "ops", "package-check", "--release", "v0.1.0", "--commit-sha", COMMIT,
                "--project-dir", str(ROOT), "--no-build-isolation",
                "--output-dir", str(work / o / "package"))
        produced = [p for p in sorted(work.rglob("*.json")) if "shards" not in p.parts
                    and "crashed" not in p.parts and p.name != "pyproject.json"]
        written = _copy_examples(produced, work)
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    print(f"wrote {len(written)} examples: {', '.join(sorted(written))}")
    return 1 if failed else 0


def _copy_examples(paths: list[Path], work: Path) -> set[str]:
    """The first output of each kind becomes its example, with stable paths inside."""
    written: set[str] = set()
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        kind = data.get("kind") if isinstance(data, dict) else None
        if not isinstance(kind, str) or kind in written:
            continue
        text = path.read_text(encoding="utf-8")
        text = text.replace(str(work), ".").replace(str(DOCS), "docs").replace(str(ROOT), ".")
        text = text.replace(sys.executable, "python")
        text = re.sub(r"/tmp/dpone-[\w.-]+", "/tmp/dpone-work", text)
        (EXAMPLES / f"{kind}.json").write_text(text, encoding="utf-8")
        written.add(kind)
    return written


if __name__ == "__main__":
    sys.exit(main())
