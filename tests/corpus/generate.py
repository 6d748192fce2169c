"""Write the committed bad-input corpus: ``python -m tests.corpus.generate``.

``good/<kind>.json`` are valid seeds (pinned producer, clock and machine so the bytes never
depend on where they were made); ``bad/<kind>/<mutation>.json`` spoil one seed in one way;
``bad/any/`` holds hand-written files that are wrong whatever kind a command expects.
``tests/test_reliab_corpus.py`` fails when these files drift from what this module makes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dpone_ops.checklist_names import CHECK_NAMES
from dpone_ops.evidence_build import RunRecord, build_release_checks
from dpone_ops.models.base import Artifact, Stamp
from dpone_ops.writing import canonical_bytes
from tests import factories
from tests import gates_factories as gf
from tests.corpus.mutations import CHAIN_MUTATIONS, METRIC_MUTATIONS, MUTATIONS, NotApplicable

HERE = Path(__file__).parent
STAMP = Stamp(release="v0.7.1", profile="real_local", commit_sha=factories.COMMIT,
              generated_at="2026-01-01T00:00:00Z")
PINNED_PRODUCER = {"name": "pytest-dpone", "version": "0.0.0+corpus"}
PINNED_MACHINE = {"platform": "Linux-x86_64", "python": "3.11", "cpu_count": 2,
                  "node": "corpus"}
METRIC_KINDS = ("performance_metrics", "benchmark_baseline")
# Baselines come from earlier releases: no reader binds them, so another release is no defect.
UNBOUND_KINDS = ("benchmark_baseline",)

ORIGINAL_RECEIPT = {
    "schema_version": 1, "status": "FAIL", "profile": "real_local",
    "commit_sha": factories.COMMIT, "junit": "junit.xml",
    "gate": {"min_passed": 1, "max_skipped": 0},
    "totals": {"tests": 2, "passed": 1, "skipped": 0, "failures": 1, "errors": 0},
    "cases": [{"node_id": "tests.test_pg::test_copy", "status": "failed"}],
    "message": "FAIL: failures or errors reported",
}
ANY: dict[str, bytes] = {
    "empty.json": b"",
    "whitespace.json": b" \n\t\n",
    "null.json": b"null\n",
    "top-level-string.json": b'"passed"\n',
    "top-level-number.json": b"1\n",
    "top-level-array.json": b'[{"passed": true}]\n',
    "empty-object.json": b"{}\n",
    "self-declared-pass.json": b'{"passed": true}\n',
    "self-declared-pass-status.json":
        b'{"passed": true, "status": "PASS", "evidence_status": "PASS", "summary": "ok"}\n',
    "generic-pass-with-blockers.json": b'{"passed": true, "blockers": ["gate.failed"]}\n',
    "generic-pass-with-failed-status.json": b'{"passed": true, "status": "failed"}\n',
    "original-receipt-fail.json": json.dumps(ORIGINAL_RECEIPT, indent=2).encode() + b"\n",
    "unknown-dpone-kind.json":
        b'{"schema_version": "dpone.mystery.v1", "kind": "mystery", "passed": true}\n',
    "nan.json": b'{"passed": true, "value": NaN}\n',
    "infinity.json": b'{"passed": true, "value": Infinity}\n',
    "negative-infinity.json": b'{"passed": true, "value": -Infinity}\n',
    "overflowing-float.json": b'{"passed": true, "value": 1e999}\n',
    "huge-integer.json": b'{"passed": true, "value": ' + b"9" * 5000 + b"}\n",
    "duplicate-key.json": b'{"passed": false, "passed": true}\n',
    "bom.json": b'\xef\xbb\xbf{"passed": true}\n',
    "invalid-utf8.json": b'{"passed": true, "summary": "\xc3\x28"}\n',
    "latin1.json": '{"passed": true, "summary": "caf\u00e9"}\n'.encode("latin-1"),
    "nul-byte.json": b'{"passed": true}\x00\n',
    "single-quotes.json": b"{'passed': true}\n",
    "trailing-comma.json": b'{"passed": true,}\n',
    "comment.json": b'// generated\n{"passed": true}\n',
    "unquoted-key.json": b"{passed: true}\n",
    "truncated.json": b'{"passed": tr',
    "not-json.json": b"passed: true\n",
}


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """Artifacts built inside carry the pinned producer, whatever the installed version."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("dpone_ops.models.base.producer", lambda: dict(PINNED_PRODUCER))
        yield


def _release_checks() -> Artifact:
    """Every one of the eight checks proven by one passing test, as the plugin builds it."""
    cases: list[dict[str, Any]] = [
        {"node_id": f"tests/test_checks.py::test_{name}", "status": "passed",
         "marks": {"release_check": [{"name": name}]}}
        for name in sorted(CHECK_NAMES)
    ]
    record = RunRecord(started_at=STAMP.generated_at, complete=True, interrupted=False,
                       exit_status=0)
    return build_release_checks(cases, record, STAMP)


def seeds() -> dict[str, bytes]:
    """One valid artifact of each plugin evidence kind and of the benchmark baseline."""
    with pinned():
        models = {
            "service_markers": factories.service_markers(STAMP),
            "state_evidence": gf.state_evidence(stamp=STAMP),
            "reconciliation_evidence": gf.reconciliation_evidence(stamp=STAMP),
            "certification_report": gf.certification_report(stamp=STAMP),
            "performance_metrics": gf.performance_metrics(stamp=STAMP),
            "run_manifest": gf.run_manifest(stamp=STAMP),
            "benchmark_baseline": gf.baseline(machine=dict(PINNED_MACHINE)).model_copy(
                update={"release": STAMP.release}),
            "release_checks": _release_checks(),
        }
    return {kind: canonical_bytes(model.to_json_dict()) for kind, model in models.items()}


def variants(kind: str, seed: bytes) -> dict[str, bytes]:
    """``<mutation>.json`` -> bytes for one kind's seed."""
    table = dict(MUTATIONS)
    if kind in METRIC_KINDS:
        table.update(METRIC_MUTATIONS)
    if kind in UNBOUND_KINDS:
        del table["other-release"]
    if kind == "evidence_chain_index":
        table.update(CHAIN_MUTATIONS)
    result = {}
    for name, mutate in table.items():
        try:
            result[f"{name}.json"] = mutate(seed)
        except NotApplicable:
            continue
    return result


def corpus() -> dict[str, bytes]:
    """Every committed corpus file, by path relative to ``tests/corpus``."""
    files: dict[str, bytes] = {}
    for kind, seed in seeds().items():
        files[f"good/{kind}.json"] = seed
        for name, payload in variants(kind, seed).items():
            files[f"bad/{kind}/{name}"] = payload
    files.update({f"bad/any/{name}": payload for name, payload in ANY.items()})
    return files


def main() -> None:
    for rel, payload in corpus().items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)


if __name__ == "__main__":
    main()
