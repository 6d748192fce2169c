"""A green release built end to end, and every command that reads an artifact.

``build_world`` writes valid plugin evidence, runs every gate on it, chains the six pack
inputs and builds the pack; every step must pass. ``ROLES`` lists each command together
with the one input it reads (a "role"); ``role.argv(world, path, out)`` is that command's
green invocation with the input swapped for ``path``. A bad-input test swaps one input and
nothing else, so whatever turns the verdict red is that input.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dpone_ops.cli import main
from tests import factories
from tests.corpus import generate

RELEASE = "v0.7.1"
PROFILE = "real_local"
COMMIT = factories.COMMIT
EPOCH = "1767225600"
BIND = ["--release", RELEASE, "--profile", PROFILE, "--commit-sha", COMMIT]
MINIMUM = '{"throughput_rows_per_second": 500}'
MAXIMUM = '{"duration_seconds": 120, "memory_peak_mb": 2048, "failure_rate": 0}'
PACK_SLOTS = ("service_markers", "certification_pack", "performance_certification",
              "live_state_reconciliation", "pre_release_checklist")
SEED_SLOTS = {"service_markers": "service_markers", "state": "state_evidence",
              "reconciliation": "reconciliation_evidence",
              "certification_report": "certification_report",
              "performance_metrics": "performance_metrics", "run_manifest": "run_manifest",
              "baseline": "benchmark_baseline", "release_checks": "release_checks"}
CHECKS = ("cli_commands", "run_cli", "run_python_api", "hierarchical_lineage",
          "source_sink_matrix", "contracts_guardrails", "documentation", "package")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _epoch() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        mp.delenv("DPONE_EVIDENCE_KEY", raising=False)
        mp.delenv("DPONE_MAX_ARTIFACT_BYTES", raising=False)
        yield


def run(argv: list[str]) -> Outcome:
    """``dpone`` in-process with the fixed clock; an escaping exception fails the caller."""
    out, err = io.StringIO(), io.StringIO()
    with _epoch(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["ops", *argv])
    return Outcome(code, out.getvalue(), err.getvalue())


def _ok(argv: list[str]) -> None:
    result = run(argv)
    assert result.code == 0, (argv, result.stderr, result.stdout[-2000:])


@dataclass(frozen=True)
class World:
    """Where every green input and gate report of one release lives."""

    root: Path

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def file(self, slot: str) -> Path:
        return {
            "service_markers": self.evidence / "service_markers.json",
            "state": self.evidence / "state_evidence.json",
            "reconciliation": self.evidence / "reconciliation_evidence.json",
            "certification_report": self.evidence / "certification_report.json",
            "performance_metrics": self.evidence / "performance_metrics.json",
            "run_manifest": self.evidence / "run_manifest.json",
            "baseline": self.root / "baseline" / "benchmark_baseline.json",
            "release_checks": self.evidence / "release_checks.json",
            "certification_pack": self.reports / "connector_certification_pack.json",
            "performance_certification": self.reports / "performance_certification.json",
            "live_state_reconciliation": self.reports / "live_state_reconciliation.json",
            "pre_release_checklist": self.reports / "pre_release_checklist.json",
            "evidence_chain": self.root / "chain" / "evidence_chain_index.json",
        }[slot]

    def pack_argv(self, out: Path, swap: dict[str, Path] | None = None) -> list[str]:
        files = {slot: self.file(slot) for slot in (*PACK_SLOTS, "evidence_chain")}
        files.update(swap or {})
        argv = ["release-evidence-pack", *BIND, "--output-dir", str(out)]
        for slot, path in files.items():
            argv += ["--artifact", f"{slot}={path}"]
        return argv

    def chain_argv(self, out: Path, swap: dict[str, Path] | None = None) -> list[str]:
        files = {slot: self.file(slot) for slot in PACK_SLOTS}
        files.update(swap or {})
        argv = ["evidence-chain", "--release", RELEASE, "--profile", PROFILE,
                "--commit-sha", COMMIT, "--output-dir", str(out)]
        for slot, path in files.items():
            argv += ["--artifact", f"{slot}={path}"]
        return argv


def build_world(root: Path) -> World:
    """Write green evidence and run every gate, the chain and the pack on it (all exit 0)."""
    world = World(root)
    world.evidence.mkdir(parents=True)
    world.file("baseline").parent.mkdir()
    seeds = generate.seeds()
    for slot, kind in SEED_SLOTS.items():
        world.file(slot).write_bytes(seeds[kind])
    reports = str(world.reports)
    _ok(["performance-certification", *BIND, "--metrics-file",
         str(world.file("performance_metrics")), "--minimum-json", MINIMUM,
         "--maximum-json", MAXIMUM, "--output-dir", reports])
    _ok(["live-state-reconciliation", *BIND, "--artifact", f"state={world.file('state')}",
         "--artifact", f"reconciliation={world.file('reconciliation')}",
         "--output-dir", reports])
    _ok(["certification-pack", *BIND, "--artifact",
         f"certification_report={world.file('certification_report')}", "--artifact",
         f"run_manifest={world.file('run_manifest')}", "--output-dir", reports])
    _ok(["pre-release-checklist", *BIND, "--release-type", "minor",
         *[a for c in CHECKS for a in ("--check", f"{c}=true")], "--output-dir", reports])
    _ok(world.chain_argv(world.file("evidence_chain").parent))
    _ok(world.pack_argv(root / "pack"))
    return world


def load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


ArgvFor = Callable[[World, Path, Path], list[str]]


@dataclass(frozen=True)
class Role:
    """One command reading one input: ``slot`` names the blocker prefix it reports."""

    id: str
    kind: str  # the artifact kind this input must be
    slot: str
    argv: ArgvFor
    report: str | None  # the report file in the output dir (None: the command writes none)
    mode: str  # "blocker": exit 1 naming <slot>.<outcome>; "exit2": refuses the input
    files_only: bool = False  # reads bytes, not content: only file-level cases apply
    # Whether the report carries the reader's message (the SLO gate's and the checklist's
    # --evidence name only the blocker).
    shows_detail: bool = True


def _validate(w: World, p: Path, o: Path, slot: str) -> list[str]:
    return ["validate-artifact", f"{slot}={p}", *BIND, "--output-dir", str(o)]


def _pack_slot(slot: str) -> ArgvFor:
    def argv(w: World, p: Path, o: Path) -> list[str]:
        if slot == "evidence_chain" or not p.is_file() or p.is_symlink():
            return w.pack_argv(o, {slot: p})
        # Chain the swapped file too, so a digest mismatch cannot be what turns it red.
        chain_dir = o.parent / f"{o.name}-chain"
        made = run(w.chain_argv(chain_dir, {slot: p}))
        assert made.code == 0, made.stderr
        return w.pack_argv(o, {slot: p, "evidence_chain": chain_dir / "evidence_chain_index.json"})
    return argv


def _perf(w: World, p: Path, o: Path) -> list[str]:
    return ["performance-certification", *BIND, "--metrics-file", str(p), "--minimum-json",
            MINIMUM, "--maximum-json", MAXIMUM, "--row-count", "25000", "--output-dir", str(o)]


def _perf_baseline(w: World, p: Path, o: Path) -> list[str]:
    # The committed baseline was "measured" on a pinned machine, not this one.
    return [*_perf(w, w.file("performance_metrics"), o), "--baseline", str(p),
            "--allow-foreign-baseline"]


def _state(slot: str) -> ArgvFor:
    def argv(w: World, p: Path, o: Path) -> list[str]:
        files = {"state": w.file("state"), "reconciliation": w.file("reconciliation"), slot: p}
        return ["live-state-reconciliation", *BIND, "--output-dir", str(o),
                *[a for n, f in files.items() for a in ("--artifact", f"{n}={f}")]]
    return argv


def _cert(slot: str) -> ArgvFor:
    def argv(w: World, p: Path, o: Path) -> list[str]:
        files = {"certification_report": w.file("certification_report"),
                 "run_manifest": w.file("run_manifest"), slot: p}
        return ["certification-pack", *BIND, "--output-dir", str(o),
                *[a for n, f in files.items() for a in ("--artifact", f"{n}={f}")]]
    return argv


def _checklist(w: World, p: Path, o: Path) -> list[str]:
    return ["pre-release-checklist", *BIND, "--release-type", "patch-docs",
            "--check-artifact", f"documentation={p}", "--output-dir", str(o)]


def _checklist_evidence(w: World, p: Path, o: Path) -> list[str]:
    return ["pre-release-checklist", *BIND, "--release-type", "minor", "--require-evidence",
            "--evidence", f"release_checks={p}", "--output-dir", str(o)]


def _slo(w: World, p: Path, o: Path) -> list[str]:
    return ["benchmark-slo-gate", *BIND, "--metrics-file", str(p), "--baseline",
            str(w.file("baseline")), "--output-dir", str(o)]


def _slo_baseline(w: World, p: Path, o: Path) -> list[str]:
    return ["benchmark-slo-gate", *BIND, "--metrics-file", str(w.file("performance_metrics")),
            "--baseline", str(p), "--output-dir", str(o)]


def _update(w: World, p: Path, o: Path) -> list[str]:
    return ["benchmark-baseline", "update", *BIND, "--metrics-file", str(p), "--baseline",
            str(o / "benchmark_baseline.json")]


def _update_baseline(w: World, p: Path, o: Path) -> list[str]:
    # The baseline is updated in place: the role copies the input into the output dir.
    return ["benchmark-baseline", "update", *BIND, "--metrics-file",
            str(w.file("performance_metrics")), "--baseline", str(p)]


def _verify(w: World, p: Path, o: Path) -> list[str]:
    return ["evidence-chain-verify", "--index", str(p), "--release", RELEASE,
            "--output-dir", str(o)]


def _chain_previous(w: World, p: Path, o: Path) -> list[str]:
    return [*w.chain_argv(o), "--previous", str(p)]


def _chain_member(w: World, p: Path, o: Path) -> list[str]:
    return w.chain_argv(o, {"service_markers": p})


ROLES: tuple[Role, ...] = (
    Role("validate-artifact", "service_markers", "service_markers",
         lambda w, p, o: _validate(w, p, o, "service_markers"), "artifact_validation.json",
         "blocker"),
    *(Role(f"release-evidence-pack --artifact {slot}", kind, slot, _pack_slot(slot),
           "release_evidence_pack.json", "blocker")
      for slot, kind in (("service_markers", "service_markers"),
                         ("certification_pack", "connector_certification_pack"),
                         ("performance_certification", "performance_certification"),
                         ("live_state_reconciliation", "live_state_reconciliation"),
                         ("pre_release_checklist", "pre_release_checklist"),
                         ("evidence_chain", "evidence_chain_index"))),
    Role("live-state-reconciliation --artifact state", "state_evidence", "state",
         _state("state"), "live_state_reconciliation.json", "blocker"),
    Role("live-state-reconciliation --artifact reconciliation", "reconciliation_evidence",
         "reconciliation", _state("reconciliation"), "live_state_reconciliation.json",
         "blocker"),
    Role("certification-pack --artifact certification_report", "certification_report",
         "certification_report", _cert("certification_report"),
         "connector_certification_pack.json", "blocker"),
    Role("certification-pack --artifact run_manifest", "run_manifest", "run_manifest",
         _cert("run_manifest"), "connector_certification_pack.json", "blocker"),
    Role("pre-release-checklist --check-artifact", "service_markers", "documentation",
         _checklist, "pre_release_checklist.json", "blocker"),
    Role("pre-release-checklist --evidence release_checks", "release_checks",
         "release_checks", _checklist_evidence, "pre_release_checklist.json", "blocker",
         shows_detail=False),
    Role("performance-certification --metrics-file", "performance_metrics",
         "performance_metrics", _perf, "performance_certification.json", "blocker"),
    Role("performance-certification --baseline", "benchmark_baseline", "baseline",
         _perf_baseline, "performance_certification.json", "blocker"),
    Role("benchmark-slo-gate --metrics-file", "performance_metrics", "performance_metrics",
         _slo, "benchmark_slo_gate.json", "blocker", shows_detail=False),
    Role("benchmark-slo-gate --baseline", "benchmark_baseline", "benchmark_baseline",
         _slo_baseline, "benchmark_slo_gate.json", "blocker", shows_detail=False),
    Role("benchmark-baseline update --metrics-file", "performance_metrics",
         "performance_metrics", _update, None, "exit2"),
    Role("benchmark-baseline update --baseline", "benchmark_baseline", "benchmark_baseline",
         _update_baseline, None, "exit2"),
    Role("evidence-chain-verify --index", "evidence_chain_index", "evidence_chain", _verify,
         "evidence_chain_verification.json", "exit2"),
    Role("evidence-chain --previous", "evidence_chain_index", "previous", _chain_previous,
         "evidence_chain_index.json", "exit2"),
    Role("evidence-chain --artifact", "service_markers", "service_markers", _chain_member,
         "evidence_chain_index.json", "exit2", files_only=True),
)
