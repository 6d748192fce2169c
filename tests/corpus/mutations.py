"""Ways to spoil a valid artifact: each takes its canonical bytes and returns bad bytes.

Every mutation leaves the rest of the artifact valid, so the one defect is the only thing
between the file and a green verdict: a reader that missed it would pass the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dpone_ops.writing import canonical_bytes

Mutation = Callable[[bytes], bytes]
# Count-like fields the models bound at zero, in the order a mutation looks for them.
COUNT_KEYS = ("tests", "passed", "entry_count", "size_bytes", "row_count", "case_count",
              "physical_deletes_checked", "collected", "rounds")
# A kind swapped in by ``wrong-kind``: any other known kind with a matching header.
OTHER_KIND = {"service_markers": "state_evidence"}


class NotApplicable(Exception):
    """The artifact has nothing this mutation could spoil (e.g. no count field)."""


def _doc(seed: bytes) -> dict[str, Any]:
    data = json.loads(seed)
    assert isinstance(data, dict)
    return data


def _edit(change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(seed: bytes) -> bytes:
        data = _doc(seed)
        change(data)
        return canonical_bytes(data)
    return mutate


def _find_count(node: Any) -> tuple[dict[str, Any], str] | None:
    """The first non-negative integer under a count-like key, depth first."""
    if isinstance(node, dict):
        for key in COUNT_KEYS:
            if isinstance(node.get(key), int) and not isinstance(node[key], bool):
                return node, key
        for value in node.values():
            found = _find_count(value)
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _find_count(value)
            if found:
                return found
    return None


def _set_count(value: int) -> Mutation:
    def change(data: dict[str, Any]) -> None:
        found = _find_count(data)
        if found is None:
            raise NotApplicable("no count-like field")
        holder, key = found
        holder[key] = value
    return _edit(change)


def _first_body_key(data: dict[str, Any]) -> str:
    header = {"schema_version", "kind", "producer", "release", "profile", "commit_sha",
              "generated_at", "passed", "evidence_status", "blockers", "summary"}
    return sorted(k for k in data if k not in header)[0]


def _wrong_kind(data: dict[str, Any]) -> None:
    other = "state_evidence" if data["kind"] != "state_evidence" else "service_markers"
    data["kind"] = other
    data["schema_version"] = f"dpone.{other}.v1"


def _duplicate_passed(seed: bytes) -> bytes:
    # The first "passed" says false; a last-one-wins reader would see the green one.
    text = seed.decode("utf-8")
    assert text.startswith("{\n")
    return ('{\n  "passed": false,\n' + text[2:]).encode("utf-8")


def _nan_metric(token: str) -> Mutation:
    def mutate(seed: bytes) -> bytes:
        text = seed.decode("utf-8")
        marker = '"failure_rate": 0.0'
        assert marker in text, "no failure_rate metric to spoil"
        return text.replace(marker, f'"failure_rate": {token}', 1).encode("utf-8")
    return mutate


def _invalid_utf8(seed: bytes) -> bytes:
    data = _doc(seed)
    marker = json.dumps(data["summary"], ensure_ascii=False).encode("utf-8")
    assert marker in seed
    return seed.replace(marker, b'"\xff\xfe summary"', 1)


MUTATIONS: dict[str, Mutation] = {
    "bom": lambda seed: b"\xef\xbb\xbf" + seed,
    "utf16": lambda seed: seed.decode("utf-8").encode("utf-16"),
    "invalid-utf8": _invalid_utf8,
    "duplicate-key": _duplicate_passed,
    "trailing-data": lambda seed: seed + b'{"passed": true}\n',
    "top-level-array": lambda seed: b"[" + seed + b"]",
    "truncated": lambda seed: seed[: len(seed) // 2],
    "future-schema-version": _edit(lambda d: d.update(
        schema_version=d["schema_version"].replace(".v1", ".v2"))),
    "wrong-schema-version": _edit(lambda d: d.update(schema_version=1)),
    "wrong-kind": _edit(_wrong_kind),
    "missing-header-field": _edit(lambda d: d.pop("evidence_status")),
    "missing-body-field": _edit(lambda d: d.pop(_first_body_key(d))),
    "extra-field": _edit(lambda d: d.update(sneaky=True)),
    # producer is in every header and is a closed object, unlike free maps (metrics, ci).
    "extra-nested-field": _edit(lambda d: d["producer"].update(sneaky=True)),
    "passed-with-blockers": _edit(lambda d: d.update(blockers=["gate.failed"])),
    "pass-with-fail-status": _edit(lambda d: d.update(evidence_status="FAIL")),
    "passed-as-string": _edit(lambda d: d.update(passed="true")),
    "invalid-commit": _edit(lambda d: d.update(commit_sha="HEAD")),
    "invalid-timestamp": _edit(lambda d: d.update(generated_at="yesterday")),
    "negative-count": _set_count(-1),
    "huge-count": _set_count(10**40),
    "other-release": _edit(lambda d: d.update(release="v9.9.9")),
}
# Only kinds with the four headline metrics get these.
METRIC_MUTATIONS: dict[str, Mutation] = {
    "nan-metric": _nan_metric("NaN"),
    "infinite-metric": _nan_metric("Infinity"),
    "overflowing-metric": _nan_metric("1e999"),
}


def _entry_path(path: str) -> Mutation:
    def change(data: dict[str, Any]) -> None:
        data["entries"][0]["path"] = path
    return _edit(change)


# Only the evidence chain index gets these: where its first entry's file is looked up.
CHAIN_MUTATIONS: dict[str, Mutation] = {
    "entry-absolute-path": _entry_path("/etc/passwd"),
    "entry-traversal-path": _entry_path("../../../../../../../../etc/passwd"),
    "entry-unnormalised-path": _entry_path("evidence/../../../../etc/passwd"),
    "entry-nul-in-path": _entry_path("service_markers.json\u0000.txt"),
}
