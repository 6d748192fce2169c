"""Build and verify the tamper-evident evidence chain (SPEC §5.1).

Everything here is pure except :func:`observe`, which hashes the files an index names.
``chain_hash`` and the signature are computed over domain-tagged canonical bytes so a
hash from one context can never be replayed in another.

Verification codes (all reported together, never just the first):

* ``<name>.missing`` — the entry's file is absent or not a regular file.
* ``<name>.digest_mismatch`` — the file's sha256 or size differs from the entry.
* ``chain.hash_mismatch`` — an entry's ``chain_hash`` does not recompute from its fields.
* ``chain.link_broken`` — an entry does not link to the one before it (or the first entry
  to the previous index's head), or ``latest_chain_hash`` is not the last entry's hash.
* ``chain.order_broken`` — entry indexes are not 0..n-1 in order.
* ``chain.entry_count_mismatch`` — ``entry_count`` differs from the number of entries.
* ``chain.root_mismatch`` — the Merkle root does not recompute from the entries' digests.
* ``chain.duplicate_name`` — two entries share a name.
* ``chain.path_escape`` — an entry path is absolute, not normalised, or leaves ``--root``.
* ``chain.empty`` — no entries.
* ``chain.release_mismatch`` — the index is not for the release the verifier expects.
* ``chain.signature_missing`` — a key was given but the index is unsigned.
* ``chain.signature_invalid`` — the signature does not verify with the given key.
* ``chain.previous_missing`` / ``chain.previous_mismatch`` — the previous index the chain
  links to is absent, or its digest or head differ from what the index recorded.
* ``<name>.not_in_chain`` — ``--prove NAME`` names no entry.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dpone_ops import merkle
from dpone_ops.artifact_validation import read_file
from dpone_ops.errors import InputError, UsageError
from dpone_ops.hashing import hash_files
from dpone_ops.models.base import Stamp
from dpone_ops.models.chain import (
    CHAIN_LENIENT,
    ChainEntry,
    ChainSignature,
    EntryCheck,
    EvidenceChainIndex,
    EvidenceChainVerification,
    Finding,
    InclusionProof,
    PreviousIndex,
    SignatureCheck,
    is_safe_relative,
)
from dpone_ops.signing import ChainKey
from dpone_ops.strict_json import StrictJSONError, loads_strict
from dpone_ops.writing import compact_canonical_bytes

CHAIN_TAG = b"dpone-evidence-chain/v1\x00"
INDEX_SIGNATURE_TAG = b"dpone-evidence-chain-index/v1\x00"
INDEX_FILENAME = "evidence_chain_index.json"
VERIFICATION_NAME = "evidence_chain_verification"


def chain_hash(
    *,
    index: int,
    name: str,
    sha256: str,
    size_bytes: int,
    previous_chain_hash: str | None,
    release: str | None,
    commit_sha: str | None,
) -> str:
    """sha256 over the domain tag and the canonical JSON of the entry's bound fields."""
    body = {
        "index": index, "name": name, "sha256": sha256, "size_bytes": size_bytes,
        "previous_chain_hash": previous_chain_hash, "release": release,
        "commit_sha": commit_sha,
    }
    return hashlib.sha256(CHAIN_TAG + compact_canonical_bytes(body)).hexdigest()


def merkle_root_hex(digests: Sequence[str]) -> str:
    return merkle.root([bytes.fromhex(d) for d in digests]).hex()


def signing_payload(index_data: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the canonical index without ``signature``."""
    unsigned = {k: v for k, v in index_data.items() if k != "signature"}
    return INDEX_SIGNATURE_TAG + compact_canonical_bytes(unsigned)


@dataclass(frozen=True)
class Member:
    """One artifact to chain: its slot name, stored path and digest."""

    name: str
    path: str
    sha256: str
    size_bytes: int


def build_index(
    members: Sequence[Member],
    *,
    stamp: Stamp,
    previous: PreviousIndex | None = None,
    key: ChainKey | None = None,
) -> EvidenceChainIndex:
    """Chain ``members`` in the given order and sign the result.

    1. Link entry 0 to ``previous.latest_chain_hash`` (or null), each next entry to the last.
    2. Compute the Merkle root over the members' digests.
    3. Build the index (passed: the chain exists; judging it is the verifier's job).
    4. Sign the canonical index without its signature when a key is given.
    """
    entries: list[ChainEntry] = []
    head = previous.latest_chain_hash if previous else None
    for position, member in enumerate(members):
        digest = chain_hash(
            index=position, name=member.name, sha256=member.sha256,
            size_bytes=member.size_bytes, previous_chain_hash=head,
            release=stamp.release, commit_sha=stamp.commit_sha,
        )
        entries.append(ChainEntry(
            index=position, name=member.name, path=member.path, sha256=member.sha256,
            size_bytes=member.size_bytes, previous_chain_hash=head, chain_hash=digest,
        ))
        head = digest
    link = f", linked to {previous.release or 'the previous index'}" if previous else ""
    index = EvidenceChainIndex.build(
        stamp,
        blockers=[],
        summary=f"{len(entries)} artifacts chained{link}",
        entries=entries,
        entry_count=len(entries),
        latest_chain_hash=entries[-1].chain_hash if entries else None,
        root=merkle_root_hex([m.sha256 for m in members]),
        previous=previous,
        signature=None,
    )
    if key is None:
        return index
    signature = key.sign(signing_payload(index.to_json_dict()))
    return index.model_copy(update={"signature": signature})


@dataclass(frozen=True)
class Observed:
    """What was found on disk for one entry (``sha256`` None when absent/unreadable)."""

    exists: bool
    sha256: str | None
    size_bytes: int | None
    problem: str | None = None


@dataclass(frozen=True)
class PreviousObserved:
    """The previous index file as found: its digest and head, or why it is unusable."""

    sha256: str | None
    latest_chain_hash: str | None
    problem: str | None = None


@dataclass(frozen=True)
class ChainObservations:
    """Everything :func:`verify_chain` needs from the outside world."""

    index_path: str
    index_sha256: str
    index_data: Mapping[str, Any]
    files: Mapping[int, Observed]
    escaped: frozenset[int] = frozenset()
    previous: PreviousObserved | None = None


@dataclass
class _Findings:
    items: list[Finding] = field(default_factory=list)

    def add(self, code: str, message: str) -> str:
        self.items.append(Finding(code=code, message=message))
        return code


def verify_chain(
    index: EvidenceChainIndex,
    seen: ChainObservations,
    *,
    stamp: Stamp,
    expected_release: str | None = None,
    key: ChainKey | None = None,
    prove: str | None = None,
) -> EvidenceChainVerification:
    """Recompute every digest, link, the root and the signature; report every problem.

    1. Chain-level shape: empty, ``entry_count``, order of indexes, duplicate names.
    2. Per entry: path confinement, file presence and digest, ``chain_hash``, link.
    3. The head: ``latest_chain_hash`` is the last entry's hash; the previous index matches.
    4. The Merkle root over the recorded digests.
    5. Release binding when the verifier names a release.
    6. The signature (required when a key is given).
    7. The inclusion proof for ``prove``, checked against the recorded root.
    """
    found = _Findings()
    entries = index.entries
    # 1. shape
    if not entries:
        found.add("chain.empty", "the index has no entries; an empty chain proves nothing")
    if index.entry_count != len(entries):
        found.add("chain.entry_count_mismatch",
                  f"entry_count says {index.entry_count}, the index has {len(entries)} entries")
    for position, entry in enumerate(entries):
        if entry.index != position:
            found.add("chain.order_broken",
                      f"entry {position} `{entry.name}` carries index {entry.index}")
    names: dict[str, int] = {}
    for position, entry in enumerate(entries):
        if entry.name in names:
            found.add("chain.duplicate_name",
                      f"entries {names[entry.name]} and {position} are both `{entry.name}`")
        names.setdefault(entry.name, position)

    # 2. per entry
    checks: list[EntryCheck] = []
    head = index.previous.latest_chain_hash if index.previous else None
    for position, entry in enumerate(entries):
        codes: list[str] = []
        label = f"entry {position} `{entry.name}`"
        if position in seen.escaped:
            codes.append(found.add("chain.path_escape",
                                   f"{label}: path {entry.path!r} is absolute, not normal "
                                   "or outside the allowed root"))
        obs = seen.files.get(position, Observed(False, None, None, "not looked up"))
        if obs.sha256 is None:
            codes.append(found.add(f"{entry.name}.missing",
                                   f"{label}: {entry.path}: {obs.problem or 'not found'}"))
        elif obs.sha256 != entry.sha256 or obs.size_bytes != entry.size_bytes:
            codes.append(found.add(
                f"{entry.name}.digest_mismatch",
                f"{label}: expected sha256:{entry.sha256} ({entry.size_bytes} bytes), "
                f"got sha256:{obs.sha256} ({obs.size_bytes} bytes)",
            ))
        recomputed = chain_hash(
            index=position, name=entry.name, sha256=entry.sha256, size_bytes=entry.size_bytes,
            previous_chain_hash=entry.previous_chain_hash, release=index.release,
            commit_sha=index.commit_sha,
        )
        hash_ok = recomputed == entry.chain_hash
        if not hash_ok:
            codes.append(found.add(
                "chain.hash_mismatch",
                f"{label}: expected chain_hash {recomputed}, index says {entry.chain_hash}",
            ))
        link_ok = entry.previous_chain_hash == head
        if not link_ok:
            what = "the previous index's head" if position == 0 else f"entry {position - 1}"
            codes.append(found.add(
                "chain.link_broken",
                f"{label}: links to {entry.previous_chain_hash}, {what} is {head}",
            ))
        head = entry.chain_hash
        unique = sorted(set(codes))
        checks.append(EntryCheck(
            index=entry.index, name=entry.name, path=entry.path,
            exists=obs.exists, expected_sha256=entry.sha256, actual_sha256=obs.sha256,
            expected_size_bytes=entry.size_bytes, actual_size_bytes=obs.size_bytes,
            chain_hash_ok=hash_ok, link_ok=link_ok, passed=not unique, blockers=unique,
        ))

    # 3. head and previous index
    last = entries[-1].chain_hash if entries else None
    if index.latest_chain_hash != last:
        found.add("chain.link_broken",
                  f"latest_chain_hash is {index.latest_chain_hash}, the last entry's is {last}")
    if index.previous is not None:
        prev = seen.previous
        if prev is None or prev.sha256 is None:
            why = prev.problem if prev and prev.problem else "not found"
            found.add("chain.previous_missing",
                      f"previous index {index.previous.path}: {why}")
        else:
            if prev.sha256 != index.previous.sha256:
                found.add("chain.previous_mismatch",
                          f"previous index {index.previous.path}: expected sha256:"
                          f"{index.previous.sha256}, got sha256:{prev.sha256}")
            if prev.latest_chain_hash != index.previous.latest_chain_hash:
                found.add("chain.previous_mismatch",
                          f"previous index head is {prev.latest_chain_hash}, the index "
                          f"recorded {index.previous.latest_chain_hash}")

    # 4. Merkle root
    digests = [e.sha256 for e in entries]
    computed_root = merkle_root_hex(digests)
    if computed_root != index.root:
        found.add("chain.root_mismatch",
                  f"root is {index.root}, the entries' digests give {computed_root}")

    # 5. release binding
    if expected_release is not None and index.release != expected_release:
        found.add("chain.release_mismatch",
                  f"index is for release {index.release!r}, expected {expected_release!r}")

    # 6. signature
    signature = _check_signature(index.signature, seen.index_data, key, found)

    # 7. inclusion proof
    proof = None
    if prove is not None:
        if prove in names:
            proof = _prove(digests, names[prove], prove, index.root)
        else:
            found.add(f"{prove}.not_in_chain", f"`{prove}` is not an entry of the chain")

    blockers = [f.code for f in found.items]
    verified = not found.items
    summary = (f"chain of {len(entries)} entries verified" if verified
               else f"chain broken: {len(set(blockers))} distinct problems")
    return EvidenceChainVerification.build(
        stamp,
        blockers=blockers,
        summary=summary,
        index_path=seen.index_path,
        index_sha256=seen.index_sha256,
        verified=verified,
        entry_count=index.entry_count,
        actual_entry_count=len(entries),
        recorded_root=index.root,
        computed_root=computed_root,
        latest_chain_hash=index.latest_chain_hash,
        entries=checks,
        signature=signature,
        proof=proof,
        findings=found.items,
    )


def _check_signature(
    signature: ChainSignature | None,
    index_data: Mapping[str, Any],
    key: ChainKey | None,
    found: _Findings,
) -> SignatureCheck:
    verified: bool | None = None
    if key is not None:
        if signature is None:
            found.add("chain.signature_missing",
                      f"a {key.algorithm} key ({key.key_id}) was given but the index is unsigned")
            verified = False
        else:
            verified, why = key.verify(signing_payload(index_data), signature)
            if not verified:
                found.add("chain.signature_invalid", why)
    return SignatureCheck(
        present=signature is not None,
        algorithm=signature.algorithm if signature else None,
        key_id=signature.key_id if signature else None,
        verifying_key_id=key.key_id if key else None,
        verified=verified,
    )


def _prove(digests: Sequence[str], position: int, name: str, root_hex: str) -> InclusionProof:
    leaves = [bytes.fromhex(d) for d in digests]
    path = merkle.inclusion_proof(leaves, position)
    ok = merkle.verify_inclusion(leaves[position], position, len(leaves), path,
                                 bytes.fromhex(root_hex))
    return InclusionProof(
        name=name, sha256=digests[position], leaf_index=position, tree_size=len(leaves),
        leaf_hash=merkle.leaf_hash(leaves[position]).hex(),
        audit_path=[p.hex() for p in path], root=root_hex, verified=ok,
    )


# --- I/O: the only part that touches the file system -------------------------------------


def _within(target: Path, root: Path) -> bool:
    try:
        target.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def read_index(path: Path) -> tuple[EvidenceChainIndex, dict[str, Any], str]:
    """Read an index for verification: strict JSON, the model without consistency rules.

    Raises :class:`InputError` when the file cannot serve as an index at all.
    """
    read = read_file(path)
    if not read.exists or not read.regular or read.payload is None or read.sha256 is None:
        raise InputError(f"evidence chain index {path}: {read.problem}")
    index, data = _parse_index(read.payload, f"evidence chain index {path}", lenient=True)
    return index, data, read.sha256


def _parse_index(payload: bytes, where: str, *, lenient: bool
                 ) -> tuple[EvidenceChainIndex, dict[str, Any]]:
    """Strict JSON first (pydantic's parser keeps the last of duplicate keys), then the model.

    ``lenient`` skips the index's consistency rules so a verifier can report each broken
    one as a blocker; a linker (``--previous``) needs a consistent index.
    """
    try:
        data = loads_strict(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (byte {exc.start})") from None
    except StrictJSONError as exc:
        raise InputError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: top level is {type(data).__name__}, not an object")
    if data.get("kind") != EvidenceChainIndex.KIND:
        raise InputError(f"{where}: not an evidence_chain_index artifact "
                         f"(kind {data.get('kind')!r})")
    try:
        index = EvidenceChainIndex.model_validate_json(
            payload, context={CHAIN_LENIENT: True} if lenient else None)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise InputError(f"{where}: {loc}: {err['msg']}") from None
    return index, data


def observe(
    index: EvidenceChainIndex,
    *,
    index_path: Path,
    index_sha256: str,
    index_data: Mapping[str, Any],
    root: Path | None = None,
    workers: int | None = None,
) -> ChainObservations:
    """Hash every file the index names (in parallel) and read the previous index."""
    base = index_path.parent
    escaped: set[int] = set()
    files: dict[int, Observed] = {}
    targets: list[tuple[int, Path]] = []
    for position, entry in enumerate(index.entries):
        target = base / entry.path
        if not is_safe_relative(entry.path) or (root is not None and not _within(target, root)):
            escaped.add(position)
            files[position] = Observed(False, None, None, "not read: the path escapes")
        else:
            targets.append((position, target))
    digests = hash_files([t for _, t in targets], workers=workers)
    for (position, _), digest in zip(targets, digests, strict=True):
        files[position] = Observed(digest.exists, digest.sha256, digest.size_bytes,
                                   digest.problem)
    previous = None
    if index.previous is not None:
        previous = _observe_previous(base, index.previous.path)
    return ChainObservations(
        index_path=str(index_path), index_sha256=index_sha256, index_data=index_data,
        files=files, escaped=frozenset(escaped), previous=previous,
    )


def _observe_previous(base: Path, stored: str) -> PreviousObserved:
    if "\x00" in stored or not stored or stored.startswith("/"):
        return PreviousObserved(None, None, "the recorded path is not a relative path")
    read = read_file(base / stored)
    if read.payload is None or read.sha256 is None:
        return PreviousObserved(None, None, read.problem)
    try:
        data = loads_strict(read.payload.decode("utf-8"))
    except (UnicodeDecodeError, StrictJSONError):
        return PreviousObserved(read.sha256, None, "not valid JSON")
    head = data.get("latest_chain_hash") if isinstance(data, dict) else None
    return PreviousObserved(read.sha256, head if isinstance(head, str) else None)


def previous_reference(previous_path: Path, *, index_dir: Path) -> PreviousIndex:
    """Read the previous release's index (it must be a consistent index) for linking."""
    read = read_file(previous_path)
    if read.payload is None or read.sha256 is None:
        raise InputError(f"--previous {previous_path}: {read.problem}")
    previous, _ = _parse_index(read.payload, f"--previous {previous_path}", lenient=False)
    if previous.latest_chain_hash is None:
        raise InputError(f"--previous {previous_path}: the previous chain is empty")
    return PreviousIndex(
        path=relative_posix(previous_path, index_dir, flag="--previous"),
        sha256=read.sha256, release=previous.release, entry_count=previous.entry_count,
        latest_chain_hash=previous.latest_chain_hash,
    )


def relative_posix(path: Path, index_dir: Path, *, flag: str) -> str:
    """``path`` relative to the directory the index is written into, with ``/``.

    Both sides are resolved first: the OS resolves ``..`` after following symlinks, so a
    purely lexical relative path could point elsewhere when a directory is a symlink.
    """
    try:
        rel = os.path.relpath(os.path.realpath(path), os.path.realpath(index_dir))
    except ValueError:  # another drive on Windows: no relative path exists
        raise UsageError(f"{flag} {path}: not reachable relative to {index_dir}") from None
    return Path(rel).as_posix()
