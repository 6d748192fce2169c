"""Every single tampering of a chain is detected with the right code (issue 5 acceptance).

For a random artifact set, build a signed chain, apply one random mutation, verify, and
require exit 1 with the code that names the mutation. Mutations that only a signature can
catch are verified with the key; all others without it, so the chain alone must catch them.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpone_ops.cli import main
from dpone_ops.evidence_chain import chain_hash
from dpone_ops.models.chain import EvidenceChainIndex, EvidenceChainVerification

COMMIT = "d" * 40
RELEASE = "v2.0.0"
KEY = b"tamper-test-key"

names_st = st.lists(
    st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True), min_size=1, max_size=6, unique=True
)


@dataclass
class Case:
    """A freshly built chain and everything a mutation may touch."""

    root: Path
    index_path: Path
    files: dict[str, Path]
    contents: dict[str, bytes]
    key_file: Path

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.index_path.read_text())
        return data

    def save(self, data: dict[str, Any]) -> None:
        self.index_path.write_text(json.dumps(data, indent=2))


def _run(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return main(argv)


def _build(root: Path, files: dict[str, Path], out: Path, release: str, key_file: Path) -> Path:
    argv = ["ops", "evidence-chain", "--release", release, "--commit-sha", COMMIT,
            "--signing-key-file", str(key_file), "--output-dir", str(out)]
    for name, path in files.items():
        argv += ["--artifact", f"{name}={path}"]
    assert _run(argv) == 0
    return out / "evidence_chain_index.json"


def _make_case(root: Path, names: list[str], contents: list[bytes]) -> Case:
    key_file = root / "key"
    key_file.write_bytes(KEY)
    files = {}
    for name, content in zip(names, contents, strict=False):
        path = root / "evidence" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        files[name] = path
    index_path = _build(root, files, root / "chain", RELEASE, key_file)
    return Case(root, index_path, files, dict(zip(names, contents, strict=False)), key_file)


def _random_hex(data: st.DataObject, avoid: str | None) -> str:
    value = data.draw(st.text("0123456789abcdef", min_size=64, max_size=64))
    return value if value != avoid else ("0" if value[0] != "0" else "1") + value[1:]


# Each mutation changes the case in place and returns (expected code, extra verify args).
Mutation = Callable[[Case, st.DataObject], tuple[str, list[str]]]


def _pick(case: Case, data: st.DataObject) -> str:
    return data.draw(st.sampled_from(sorted(case.files)))


def flip_byte(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    name = _pick(case, data)
    content = bytearray(case.contents[name])
    pos = data.draw(st.integers(0, len(content) - 1))
    content[pos] ^= data.draw(st.integers(1, 255))
    case.files[name].write_bytes(bytes(content))
    return f"{name}.digest_mismatch", []


def truncate(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    name = _pick(case, data)
    keep = data.draw(st.integers(0, len(case.contents[name]) - 1))
    case.files[name].write_bytes(case.contents[name][:keep])
    return f"{name}.digest_mismatch", []


def delete(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    name = _pick(case, data)
    case.files[name].unlink()
    return f"{name}.missing", []


def rename_file(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    name = _pick(case, data)
    case.files[name].rename(case.files[name].with_suffix(".renamed"))
    return f"{name}.missing", []


def rename_entry(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    index = case.load()
    entry = data.draw(st.sampled_from(index["entries"]))
    entry["name"] = entry["name"] + "_x"
    case.save(index)
    return "chain.hash_mismatch", []


def insert_entry(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    extra = case.root / "evidence" / "smuggled.json"
    extra.write_bytes(b'{"passed": true}')
    index = case.load()
    position = data.draw(st.integers(0, len(index["entries"])))
    before = index["entries"][position - 1]["chain_hash"] if position else None
    digest = "0f" * 32
    forged = {"index": position, "name": "smuggled", "path": "../evidence/smuggled.json",
              "sha256": digest, "size_bytes": extra.stat().st_size,
              "previous_chain_hash": before}
    forged["chain_hash"] = chain_hash(
        index=position, name="smuggled", sha256=digest, size_bytes=extra.stat().st_size,
        previous_chain_hash=before, release=RELEASE, commit_sha=COMMIT)
    index["entries"].insert(position, forged)
    case.save(index)
    return "chain.entry_count_mismatch", []


def reorder(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    index = case.load()
    entries = index["entries"]
    if len(entries) == 1:  # one entry cannot be reordered; move it behind a copy instead
        entries.append(dict(entries[0]))
        case.save(index)
        return "chain.duplicate_name", []
    i, j = data.draw(st.lists(st.integers(0, len(entries) - 1), min_size=2, max_size=2,
                              unique=True))
    entries[i], entries[j] = entries[j], entries[i]
    case.save(index)
    return "chain.order_broken", []


def replay_artifact(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    """Put back an older version of an artifact that an older release chained."""
    name = _pick(case, data)
    old = case.contents[name] + b" "
    case.files[name].write_bytes(old)
    _build(case.root, case.files, case.root / "old", "v1.0.0", case.key_file)
    case.files[name].write_bytes(old)
    return f"{name}.digest_mismatch", []


def replay_entry(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    """Swap in the older release's entry and file: digests match, the binding does not."""
    name = _pick(case, data)
    old = case.contents[name] + b"\n"
    case.files[name].write_bytes(old)
    old_index = json.loads(_build(case.root, case.files, case.root / "old", "v1.0.0",
                                  case.key_file).read_text())
    index = case.load()
    for position, entry in enumerate(index["entries"]):
        if entry["name"] == name:
            index["entries"][position] = old_index["entries"][position]
    case.save(index)
    return "chain.hash_mismatch", []


def _edit_entry(field: str, code: str) -> Mutation:
    def mutate(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
        index = case.load()
        entry = data.draw(st.sampled_from(index["entries"]))
        if field == "size_bytes":
            entry[field] += data.draw(st.integers(1, 1000))
        elif field == "index":
            entry[field] += data.draw(st.integers(1, 50))
        else:
            entry[field] = _random_hex(data, entry[field])
        case.save(index)
        return code, []
    mutate.__name__ = f"edit_entry_{field}"
    return mutate


def _edit_index(field: str, code: str) -> Mutation:
    def mutate(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
        index = case.load()
        if field == "entry_count":
            index[field] += data.draw(st.sampled_from([-1, 1, 7]))
        elif field == "commit_sha":
            index[field] = "e" * 40
        else:
            index[field] = _random_hex(data, index[field])
        case.save(index)
        return code, []
    mutate.__name__ = f"edit_index_{field}"
    return mutate


def edit_path(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    """Point an entry at a decoy file with other bytes."""
    index = case.load()
    entry = data.draw(st.sampled_from(index["entries"]))
    decoy = case.root / "evidence" / "decoy.json"
    decoy.write_bytes(case.contents[entry["name"]] + b"decoy")
    entry["path"] = "../evidence/decoy.json"
    case.save(index)
    return f"{entry['name']}.digest_mismatch", []


def change_release(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    index = case.load()
    index["release"] = data.draw(st.sampled_from(["v2.0.1", "v1.9.9", "v2.0.0-rc1"]))
    case.save(index)
    return "chain.hash_mismatch", []


def change_release_bound(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    """The whole chain rebuilt honestly for another release is refused by --release."""
    _build(case.root, case.files, case.root / "chain", "v9.9.9", case.key_file)
    return "chain.release_mismatch", ["--release", RELEASE]


def strip_signature(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    index = case.load()
    if data.draw(st.booleans()):
        index["signature"] = None
    else:
        del index["signature"]
    case.save(index)
    return "chain.signature_missing", ["--key-file", str(case.key_file)]


def alter_signature(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    index = case.load()
    value = index["signature"]["value"]
    index["signature"]["value"] = _random_hex(data, value)
    case.save(index)
    return "chain.signature_invalid", ["--key-file", str(case.key_file)]


def edit_unbound_field(case: Case, data: st.DataObject) -> tuple[str, list[str]]:
    """Fields outside every chain hash are still covered by the signature."""
    index = case.load()
    field = data.draw(st.sampled_from(["summary", "generated_at", "profile"]))
    index[field] = {"summary": "all green, trust me", "generated_at": "2031-01-01T00:00:00Z",
                    "profile": "real_local"}[field]
    case.save(index)
    return "chain.signature_invalid", ["--key-file", str(case.key_file)]


MUTATIONS: list[Mutation] = [
    flip_byte, truncate, delete, rename_file, rename_entry, insert_entry, reorder,
    replay_artifact, replay_entry, edit_path, change_release, change_release_bound,
    strip_signature, alter_signature, edit_unbound_field,
    _edit_entry("sha256", "chain.hash_mismatch"),
    _edit_entry("size_bytes", "chain.hash_mismatch"),
    _edit_entry("chain_hash", "chain.hash_mismatch"),
    _edit_entry("previous_chain_hash", "chain.link_broken"),
    _edit_entry("index", "chain.order_broken"),
    _edit_index("entry_count", "chain.entry_count_mismatch"),
    _edit_index("latest_chain_hash", "chain.link_broken"),
    _edit_index("root", "chain.root_mismatch"),
    _edit_index("commit_sha", "chain.hash_mismatch"),
]


def _verify(case: Case, extra: list[str]) -> tuple[int, EvidenceChainVerification]:
    out = case.root / "verify"
    code = _run(["ops", "evidence-chain-verify", "--index", str(case.index_path),
                 "--output-dir", str(out), *extra])
    report = EvidenceChainVerification.model_validate_json(
        (out / "evidence_chain_verification.json").read_bytes())
    return code, report


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
@settings(max_examples=12, deadline=None)
@given(
    names=names_st,
    contents=st.lists(st.binary(min_size=1, max_size=300), min_size=6, max_size=6),
    data=st.data(),
)
def test_every_single_mutation_is_detected_with_its_code(
    mutation: Mutation, names: list[str], contents: list[bytes], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        case = _make_case(Path(tmp), names, contents)
        EvidenceChainIndex.model_validate_json(case.index_path.read_bytes())
        code, report = _verify(case, ["--key-file", str(case.key_file), "--release", RELEASE])
        assert (code, report.blockers) == (0, [])
        expected, extra = mutation(case, data)
        code, report = _verify(case, extra)
        assert code == 1, report.findings
        assert expected in report.blockers, (expected, report.blockers)
        assert not report.verified
