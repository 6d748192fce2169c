"""Evidence dir files: the journal format and writing the six artifacts.

The journal (``evidence_journal.jsonl``) is one JSON object per line::

    {"type": "header", "format": "dpone.evidence_journal.v1", "run": {...}}
    {"type": "collection", "collection": {...}}      # once collection is known
    {"type": "case", "case": {...}}                   # one per finished test, flushed
    {"type": "footer", "footer": {...}}               # only when the session ended

A hard-killed session leaves no footer and possibly a torn last line; both are expected.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from dpone_ops.case_set import CaseSet, Record
from dpone_ops.errors import InputError
from dpone_ops.evidence_build import (
    ARTIFACT_FILES,
    JOURNAL_FILE,
    Collection,
    RunRecord,
    build_artifacts,
    build_run_manifest,
)
from dpone_ops.journal_format import JOURNAL_FORMAT, header_line
from dpone_ops.models.base import Artifact, NonNegInt, Stamp, StrictModel
from dpone_ops.models.evidence import Attempt, CaseStatus, ManifestEntry, NonNegFloat
from dpone_ops.strict_json import StrictJSONError, loads_strict
from dpone_ops.writing import atomic_write_bytes, canonical_bytes, write_json

FOOTER_FIELDS = ("finished_at", "duration_seconds", "exit_status", "interrupted", "complete")


class CaseLine(StrictModel):
    """The shape of one journal case, checked when a journal is read back."""

    # Built on first use: a session writing its evidence never reads a journal back.
    model_config = ConfigDict(defer_build=True)

    node_id: str
    status: CaseStatus
    duration_ms: NonNegFloat | None = None
    worker: str | None = None
    skip_reason: str | None = None
    longrepr: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    rerun: NonNegInt = 0
    marks: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    facts: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Journal:
    """A journal read back: run facts, the cases, and whether the session ended."""

    run: RunRecord
    cases: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False
    torn_tail: bool = False


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where} is {type(value).__name__}, not an object")
    return value


def read_journal(path: Path) -> Journal:
    """Parse a journal; a torn last line (hard kill mid-write) is dropped, not fatal."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read journal {path}: {exc.strerror or exc}") from None
    lines = raw.split(b"\n")
    torn = False
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        # No trailing newline: the writer died inside this line.
        lines.pop()
        torn = True
    header: dict[str, Any] | None = None
    collection: dict[str, Any] | None = None
    footer: dict[str, Any] | None = None
    cases: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        # The same strict JSON as artifacts: no BOM, NaN, duplicate keys or deep nesting.
        try:
            entry = loads_strict(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: line {number} is not UTF-8 (byte {exc.start})") from None
        except StrictJSONError as exc:
            raise InputError(f"{path}: line {number} is not JSON: {exc}") from None
        kind = entry.get("type") if isinstance(entry, dict) else None
        try:
            if kind == "header":
                if entry.get("format") != JOURNAL_FORMAT or header is not None:
                    raise InputError(f"{path}: line {number}: unexpected journal header")
                header = _object(entry["run"], f"{path}: line {number}: run")
            elif kind == "collection":
                collection = Collection.model_validate(
                    entry["collection"], strict=True
                ).model_dump()
            elif kind == "case":
                cases.append(CaseLine.model_validate(entry["case"], strict=True).model_dump())
            elif kind == "footer":
                footer = _object(entry["footer"], f"{path}: line {number}: footer")
            else:
                raise InputError(f"{path}: line {number}: unknown entry type {kind!r}")
        except (ValidationError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: line {number}: invalid {kind} entry: {exc}") from None
    if header is None:
        raise InputError(f"{path}: no journal header; not a dpone evidence journal")
    facts: dict[str, Any] = {**header, "collection": collection}
    if footer is not None:
        facts.update({k: footer[k] for k in FOOTER_FIELDS if k in footer})
    else:
        facts.update({"exit_status": None, "interrupted": True, "complete": False})
    try:
        run = RunRecord.model_validate(facts, strict=True)
    except ValidationError as exc:
        raise InputError(f"{path}: invalid run facts in the journal: {exc}") from None
    return Journal(run=run, cases=cases, ended=footer is not None, torn_tail=torn)


def file_entry(name: str, path: Path) -> ManifestEntry:
    """``{name, file, sha256, size_bytes}`` of a file, hashed in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return ManifestEntry(name=name, file=path.name, sha256=digest.hexdigest(), size_bytes=size)


def write_evidence(
    out_dir: Path, cases: CaseSet, run: RunRecord, stamp: Stamp
) -> dict[str, Artifact]:
    """Build and write the six artifacts; the manifest last, listing the others.

    All or nothing: when one write fails (disk full, read-only), the artifacts this call
    already replaced are removed again, so the dir never holds half of a session's set
    beside another session's files. Each file itself is atomic (never torn).
    """
    # Not sorted here: the record builders sort the cases they read, and the manifest
    # counts every case, in any order.
    artifacts = build_artifacts(cases, run, stamp)
    entries = []
    written: list[Path] = []
    try:
        for kind, model in artifacts.items():
            path = out_dir / ARTIFACT_FILES[kind]
            payload = canonical_bytes(model)
            atomic_write_bytes(path, payload)
            written.append(path)
            entries.append(ManifestEntry(
                name=kind, file=path.name, sha256=hashlib.sha256(payload).hexdigest(),
                size_bytes=len(payload),
            ))
        journal = out_dir / JOURNAL_FILE
        if journal.is_file():
            entries.append(file_entry("evidence_journal", journal))
        manifest = build_run_manifest(cases, run, stamp, entries)
        write_json(out_dir / ARTIFACT_FILES["run_manifest"], manifest)
    except (InputError, OSError):
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return {**artifacts, "run_manifest": manifest}


def journal_text(run: RunRecord, cases: Iterable[Record]) -> str:
    """A whole journal for an assembled run (merge/recover), footer included."""
    dumped = run.model_dump(mode="json")
    collection = dumped.pop("collection")
    footer = {k: dumped.pop(k) for k in FOOTER_FIELDS}
    lines = [header_line(dumped)]
    if collection is not None:
        lines.append({"type": "collection", "collection": collection})
    lines.extend({"type": "case", "case": dict(case)} for case in cases)
    lines.append({"type": "footer", "footer": footer})
    return "".join(
        json.dumps(entry, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                   sort_keys=True) + "\n"
        for entry in lines
    )
