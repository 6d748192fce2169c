"""``dpone ops evidence-chain`` and ``evidence-chain-verify`` end to end, in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import ValidationError

from dpone_ops import merkle
from dpone_ops.cli import main
from dpone_ops.evidence_chain import chain_hash
from dpone_ops.models.chain import (
    CHAIN_LENIENT,
    EvidenceChainIndex,
    EvidenceChainVerification,
)

COMMIT = "c" * 40
EPOCH = "1700000000"


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("DPONE_EVIDENCE_KEY", raising=False)


def _artifacts(root: Path, count: int = 3) -> dict[str, Path]:
    files = {}
    for i in range(count):
        path = root / "evidence" / f"artifact_{i}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"n": i, "passed": True}) + "\n")
        files[f"artifact_{i}"] = path
    return files


def _build(tmp_path: Path, files: dict[str, Path], *extra: str, release: str = "v1.0.0",
           out: str = "chain") -> tuple[int, Path]:
    argv = ["ops", "evidence-chain", "--release", release, "--commit-sha", COMMIT,
            "--output-dir", str(tmp_path / out)]
    for name, path in files.items():
        argv += ["--artifact", f"{name}={path}"]
    code = main([*argv, *extra])
    return code, tmp_path / out / "evidence_chain_index.json"


def _verify(tmp_path: Path, index: Path, *extra: str) -> tuple[int, EvidenceChainVerification]:
    out = tmp_path / "verify"
    code = main(["ops", "evidence-chain-verify", "--index", str(index),
                 "--output-dir", str(out), *extra])
    report_path = out / "evidence_chain_verification.json"
    report = EvidenceChainVerification.model_validate_json(report_path.read_bytes())
    assert (out / "evidence_chain_verification.md").is_file()
    return code, report


def test_a_fresh_chain_verifies_and_records_relative_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _artifacts(tmp_path)
    code, index_path = _build(tmp_path, files)
    assert code == 0
    printed = capsys.readouterr().out
    index = EvidenceChainIndex.model_validate_json(index_path.read_bytes())
    assert json.loads(printed) == json.loads(index_path.read_text())
    assert [e.path for e in index.entries] == [f"../evidence/artifact_{i}.json" for i in range(3)]
    assert index.entry_count == 3
    assert index.signature is None
    assert index.entries[0].previous_chain_hash is None
    assert index.latest_chain_hash == index.entries[-1].chain_hash
    first = index.entries[0]
    assert first.chain_hash == chain_hash(
        index=0, name=first.name, sha256=first.sha256, size_bytes=first.size_bytes,
        previous_chain_hash=None, release="v1.0.0", commit_sha=COMMIT)
    assert index.root == merkle.root([bytes.fromhex(e.sha256) for e in index.entries]).hex()
    code, report = _verify(tmp_path, index_path, "--release", "v1.0.0")
    assert code == 0
    assert report.verified
    assert report.passed
    assert report.blockers == []
    assert all(e.actual_sha256 == e.expected_sha256 for e in report.entries)
    assert report.signature.verified is None


def test_the_same_inputs_give_byte_identical_indexes(tmp_path: Path) -> None:
    files = _artifacts(tmp_path)
    _build(tmp_path, files, out="one")
    _build(tmp_path, files, out="two")
    one = (tmp_path / "one" / "evidence_chain_index.json").read_bytes()
    assert one == (tmp_path / "two" / "evidence_chain_index.json").read_bytes()
    assert (tmp_path / "one" / "evidence_chain_index.md").read_bytes() == (
        tmp_path / "two" / "evidence_chain_index.md").read_bytes()


def test_an_edited_artifact_is_reported_with_expected_and_actual_digest(tmp_path: Path) -> None:
    files = _artifacts(tmp_path)
    _, index_path = _build(tmp_path, files)
    before = EvidenceChainIndex.model_validate_json(index_path.read_bytes()).entries[1].sha256
    files["artifact_1"].write_text('{"n": 1, "passed": false}\n')
    files["artifact_2"].unlink()
    code, report = _verify(tmp_path, index_path)
    assert code == 1
    assert report.blockers == ["artifact_1.digest_mismatch", "artifact_2.missing"]
    broken = report.entries[1]
    assert broken.expected_sha256 == before
    assert broken.actual_sha256 is not None
    assert broken.actual_sha256 != before
    assert any(before in f.message and broken.actual_sha256 in f.message
               for f in report.findings)
    assert report.entries[0].passed
    assert not report.entries[2].exists


def test_hmac_key_from_the_environment_signs_and_a_key_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _artifacts(tmp_path)
    monkeypatch.setenv("DPONE_EVIDENCE_KEY", "correct horse")
    _, index_path = _build(tmp_path, files)
    index = EvidenceChainIndex.model_validate_json(index_path.read_bytes())
    assert index.signature is not None
    assert index.signature.algorithm == "hmac-sha256"
    assert "correct horse" not in index_path.read_text()
    assert _verify(tmp_path, index_path)[0] == 0
    monkeypatch.setenv("DPONE_EVIDENCE_KEY", "wrong horse")
    code, report = _verify(tmp_path, index_path)
    assert code == 1
    assert report.blockers == ["chain.signature_invalid"]
    # The key file wins over the environment; a trailing newline is not part of the key.
    key_file = tmp_path / "key"
    key_file.write_bytes(b"correct horse\n")
    assert _verify(tmp_path, index_path, "--key-file", str(key_file))[0] == 0


def test_a_key_given_to_verify_an_unsigned_index_is_a_missing_signature(tmp_path: Path) -> None:
    _, index_path = _build(tmp_path, _artifacts(tmp_path))
    key_file = tmp_path / "key"
    key_file.write_bytes(b"k")
    code, report = _verify(tmp_path, index_path, "--key-file", str(key_file))
    assert code == 1
    assert report.blockers == ["chain.signature_missing"]


def _ed25519_pair(tmp_path: Path) -> tuple[Path, Path]:
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = tmp_path / "signing.pem"
    private_pem.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    public_pem = tmp_path / "verify.pem"
    public_pem.write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_pem, public_pem


def test_ed25519_signs_with_the_private_key_and_verifies_with_the_public_key(
    tmp_path: Path,
) -> None:
    private_pem, public_pem = _ed25519_pair(tmp_path)
    _, index_path = _build(tmp_path, _artifacts(tmp_path), "--signing-key-file", str(private_pem))
    index = EvidenceChainIndex.model_validate_json(index_path.read_bytes())
    assert index.signature is not None
    assert index.signature.algorithm == "ed25519"
    code, report = _verify(tmp_path, index_path, "--key-file", str(public_pem))
    assert code == 0
    assert report.signature.verified is True
    (tmp_path / "other").mkdir()
    _, other_public = _ed25519_pair(tmp_path / "other")
    code, report = _verify(tmp_path, index_path, "--key-file", str(other_public))
    assert code == 1
    assert report.blockers == ["chain.signature_invalid"]
    assert "signed by key" in report.findings[0].message


def test_a_public_key_cannot_sign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, public_pem = _ed25519_pair(tmp_path)
    code, _ = _build(tmp_path, _artifacts(tmp_path), "--signing-key-file", str(public_pem))
    assert code == 2
    assert "public key" in capsys.readouterr().err


def test_ed25519_without_the_signing_extra_is_a_clear_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    private_pem, _ = _ed25519_pair(tmp_path)
    for module in [m for m in sys.modules if m.startswith("cryptography")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    code, _ = _build(tmp_path, _artifacts(tmp_path), "--signing-key-file", str(private_pem))
    assert code == 2
    err = capsys.readouterr().err
    assert "pytest-dpone[signing]" in err
    assert "Traceback" not in err


def test_a_chain_links_to_the_previous_releases_head(tmp_path: Path) -> None:
    files = _artifacts(tmp_path)
    _, old_index = _build(tmp_path, files, release="v0.9.0", out="old")
    old = EvidenceChainIndex.model_validate_json(old_index.read_bytes())
    _, new_index = _build(tmp_path, files, "--previous", str(old_index), out="new")
    new = EvidenceChainIndex.model_validate_json(new_index.read_bytes())
    assert new.previous is not None
    assert new.previous.path == "../old/evidence_chain_index.json"
    assert new.entries[0].previous_chain_hash == old.latest_chain_hash
    assert _verify(tmp_path, new_index)[0] == 0
    old_index.write_text(old_index.read_text().replace('"v0.9.0"', '"v0.9.1"'))
    code, report = _verify(tmp_path, new_index)
    assert code == 1
    assert report.blockers == ["chain.previous_mismatch"]
    old_index.unlink()
    code, report = _verify(tmp_path, new_index)
    assert code == 1
    assert report.blockers == ["chain.previous_missing"]


def test_prove_prints_an_inclusion_proof_that_verifies(tmp_path: Path) -> None:
    files = _artifacts(tmp_path, count=5)
    _, index_path = _build(tmp_path, files)
    index = EvidenceChainIndex.model_validate_json(index_path.read_bytes())
    code, report = _verify(tmp_path, index_path, "--prove", "artifact_3")
    assert code == 0
    proof = report.proof
    assert proof is not None
    assert proof.verified
    assert (proof.leaf_index, proof.tree_size, proof.root) == (3, 5, index.root)
    assert merkle.verify_inclusion(bytes.fromhex(proof.sha256), 3, 5,
                                   [bytes.fromhex(h) for h in proof.audit_path],
                                   bytes.fromhex(index.root))
    md = (tmp_path / "verify" / "evidence_chain_verification.md").read_text()
    assert "## Inclusion proof" in md
    assert proof.audit_path[0] in md
    code, report = _verify(tmp_path, index_path, "--prove", "stranger")
    assert code == 1
    assert report.blockers == ["stranger.not_in_chain"]
    assert report.proof is None


def test_a_path_leaving_the_allowed_root_is_refused_unread(tmp_path: Path) -> None:
    files = _artifacts(tmp_path)
    _, index_path = _build(tmp_path, files)
    code, report = _verify(tmp_path, index_path, "--root", str(tmp_path / "chain"))
    assert code == 1
    assert "chain.path_escape" in report.blockers
    assert all(not e.exists for e in report.entries)
    assert _verify(tmp_path, index_path, "--root", str(tmp_path))[0] == 0
    data = json.loads(index_path.read_text())
    data["entries"][0]["path"] = str(files["artifact_0"].resolve())
    index_path.write_text(json.dumps(data))
    code, report = _verify(tmp_path, index_path)
    assert code == 1
    assert report.blockers == ["artifact_0.missing", "chain.path_escape"]


def test_verify_binds_the_release(tmp_path: Path) -> None:
    _, index_path = _build(tmp_path, _artifacts(tmp_path))
    code, report = _verify(tmp_path, index_path, "--release", "v2.0.0")
    assert code == 1
    assert report.blockers == ["chain.release_mismatch"]
    assert report.release == "v2.0.0"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("{not json", "invalid JSON"),
        ('{"kind": "service_markers"}', "not an evidence_chain_index"),
        ('{"kind": "evidence_chain_index", "entries": 3}', "evidence chain index"),
        ('[1, 2]', "top level is list, not an object"),
    ],
)
def test_an_unusable_index_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    index = tmp_path / "evidence_chain_index.json"
    if content is not None:
        index.write_text(content)
    code = main(["ops", "evidence-chain-verify", "--index", str(index),
                 "--output-dir", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--artifact", "a=missing.json"],
        ["--artifact", "no-equals-sign"],
        ["--artifact", "a=x.json", "--artifact", "a=y.json"],
        ["--artifact", "a=x.json", "--workers", "0"],
        ["--artifact", "a=x.json", "--previous", "nope.json"],
    ],
)
def test_bad_build_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.json").write_text("{}")
    (tmp_path / "y.json").write_text("{}")
    code = main(["ops", "evidence-chain", "--release", "v1", "--commit-sha", COMMIT,
                 "--output-dir", "out", *argv])
    assert code == 2
    assert capsys.readouterr().err.startswith("dpone: error:")
    assert not (tmp_path / "out").exists()


def test_markdown_output_escapes_and_lists_every_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _artifacts(tmp_path)
    _build(tmp_path, files, "--format", "md", release="v1|`<b>`")
    printed = capsys.readouterr().out
    assert printed == (tmp_path / "chain" / "evidence_chain_index.md").read_text()
    assert "v1\\|\\`&lt;b&gt;\\`" in printed
    for name in files:
        assert name.replace("_", "\\_") in printed


def test_an_index_written_through_a_symlinked_directory_still_finds_its_files(
    tmp_path: Path,
) -> None:
    files = _artifacts(tmp_path)
    (tmp_path / "deep" / "real").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "deep" / "real")
    _, index_path = _build(tmp_path, files, out="link")
    index = EvidenceChainIndex.model_validate_json(index_path.read_bytes())
    assert index.entries[0].path == "../../evidence/artifact_0.json"
    assert _verify(tmp_path, index_path)[0] == 0


def test_verify_accepts_key_as_a_short_spelling_of_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPONE_EVIDENCE_KEY", "k1")
    _, index_path = _build(tmp_path, _artifacts(tmp_path))
    monkeypatch.delenv("DPONE_EVIDENCE_KEY")
    key_file = tmp_path / "key"
    key_file.write_text("k1")
    code, report = _verify(tmp_path, index_path, "--key", str(key_file))
    assert code == 0
    assert report.signature.verified is True


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (lambda d: d.update(entry_count=d["entry_count"] + 1), "entry_count must equal"),
        (lambda d: d["entries"].reverse(), "indexes must be 0..n-1"),
        (lambda d: d["entries"][1].update(name=d["entries"][0]["name"]), "names must be unique"),
        (lambda d: d.update(latest_chain_hash="0" * 64), "latest_chain_hash must be"),
    ],
)
def test_the_index_model_refuses_an_inconsistent_index_unless_read_leniently(
    tmp_path: Path, edit: Any, rule: str
) -> None:
    _, index_path = _build(tmp_path, _artifacts(tmp_path))
    data = json.loads(index_path.read_text())
    edit(data)
    with pytest.raises(ValidationError, match=rule):
        EvidenceChainIndex.model_validate(data)
    lenient = EvidenceChainIndex.model_validate(data, context={CHAIN_LENIENT: True})
    assert lenient.entry_count == data["entry_count"]
