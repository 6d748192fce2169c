"""The release pack verifies the evidence chain it is given and binds artifacts to it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dpone_ops import release_evidence_pack as pack
from dpone_ops.artifact_validation import LoadedArtifact
from dpone_ops.cli import main
from dpone_ops.evidence_chain import ChainObservations, Member, Observed, build_index, verify_chain
from dpone_ops.models.chain import EvidenceChainVerification
from dpone_ops.models.pack import InTotoStatement, ReleaseEvidencePack
from dpone_ops.models.status import ArtifactStatus
from tests import factories

RELEASE = "v1.2.3"
OTHERS = ("certification_pack", "performance_certification", "live_state_reconciliation",
          "pre_release_checklist")


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.delenv("DPONE_EVIDENCE_KEY", raising=False)


def _evidence(root: Path) -> dict[str, Path]:
    files = {"service_markers": factories.write(root / "service_markers.json",
                                                factories.service_markers())}
    for name in OTHERS:
        path = root / name / f"{name}.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"passed": True, "release": RELEASE, "summary": name}))
        files[name] = path
    return files


def _chain(root: Path, files: dict[str, Path], *extra: str, release: str = RELEASE) -> Path:
    argv = ["ops", "evidence-chain", "--release", release, "--commit-sha", factories.COMMIT,
            "--output-dir", str(root / "evidence-chain")]
    for name, path in files.items():
        argv += ["--artifact", f"{name}={path}"]
    assert main([*argv, *extra]) == 0
    return root / "evidence-chain" / "evidence_chain_index.json"


def _pack(root: Path, files: dict[str, Path], *extra: str) -> tuple[int, ReleaseEvidencePack]:
    argv = ["ops", "release-evidence-pack", "--release", RELEASE, "--profile", "real_local",
            "--commit-sha", factories.COMMIT, "--output-dir", str(root / "pack")]
    for name, path in files.items():
        argv += ["--artifact", f"{name}={path}"]
    code = main([*argv, *extra])
    return code, ReleaseEvidencePack.model_validate_json(
        (root / "pack" / "release_evidence_pack.json").read_bytes())


CHAIN_CODES = ("evidence_chain.broken", ".digest_mismatch", ".not_in_chain")


def _chain_codes(report: ReleaseEvidencePack) -> list[str]:
    return [b for b in report.blockers if b.endswith(CHAIN_CODES)]


def test_untouched_chained_artifacts_add_no_chain_blockers(tmp_path: Path) -> None:
    files = _evidence(tmp_path)
    index = _chain(tmp_path, files)
    _, report = _pack(tmp_path, {**files, "evidence_chain": index})
    assert report.evidence_chain is not None
    assert report.evidence_chain.verified
    assert _chain_codes(report) == []
    md = (tmp_path / "pack" / "release_evidence_pack.md").read_text()
    assert "## Evidence chain" in md
    assert "- verified: yes" in md


def test_performance_certification_edited_after_chaining_blocks_the_release(
    tmp_path: Path,
) -> None:
    files = _evidence(tmp_path)
    index = _chain(tmp_path, files)
    perf = files["performance_certification"]
    perf.write_text(perf.read_text().replace('"summary"', '"note": "tuned", "summary"'))
    code, report = _pack(tmp_path, {**files, "evidence_chain": index})
    assert code == 1
    assert "performance_certification.digest_mismatch" in report.blockers
    assert "evidence_chain.broken" in report.blockers
    status = next(a for a in report.artifacts if a.name == "performance_certification")
    assert not status.passed
    assert "performance_certification.digest_mismatch" in status.blockers
    assert report.evidence_chain is not None
    assert "performance_certification.digest_mismatch" in report.evidence_chain.blockers


def test_a_copy_that_differs_from_the_chained_file_is_a_digest_mismatch(tmp_path: Path) -> None:
    files = _evidence(tmp_path)
    index = _chain(tmp_path, files)
    copy = tmp_path / "copy.json"
    copy.write_text(files["certification_pack"].read_text() + " ")
    _, report = _pack(tmp_path, {**files, "certification_pack": copy, "evidence_chain": index})
    assert report.evidence_chain is not None
    assert report.evidence_chain.verified
    assert _chain_codes(report) == ["certification_pack.digest_mismatch"]


def test_an_artifact_the_chain_does_not_cover_is_not_in_chain(tmp_path: Path) -> None:
    files = _evidence(tmp_path)
    chained = {k: v for k, v in files.items() if k != "pre_release_checklist"}
    index = _chain(tmp_path, chained)
    code, report = _pack(tmp_path, {**files, "evidence_chain": index})
    assert code == 1
    assert _chain_codes(report) == ["pre_release_checklist.not_in_chain"]


def test_a_chain_for_another_release_is_broken(tmp_path: Path) -> None:
    files = _evidence(tmp_path)
    index = _chain(tmp_path, files, release="v1.2.2")
    code, report = _pack(tmp_path, {**files, "evidence_chain": index})
    assert code == 1
    assert "evidence_chain.broken" in report.blockers
    assert report.evidence_chain is not None
    assert "chain.release_mismatch" in report.evidence_chain.blockers


def test_an_unusable_chain_index_is_a_blocker_not_a_crash(tmp_path: Path) -> None:
    files = _evidence(tmp_path)
    bogus = tmp_path / "evidence_chain_index.json"
    bogus.write_text('{"kind": "evidence_chain_index"}')
    code, report = _pack(tmp_path, {**files, "evidence_chain": bogus})
    assert code == 1
    assert report.evidence_chain is None
    assert "evidence_chain.broken" in report.blockers
    assert not any(b.endswith(".not_in_chain") for b in report.blockers)


def test_with_a_key_the_pack_demands_a_valid_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _evidence(tmp_path)
    index = _chain(tmp_path, files)
    monkeypatch.setenv("DPONE_EVIDENCE_KEY", "release-key")
    _, report = _pack(tmp_path, {**files, "evidence_chain": index})
    assert "evidence_chain.broken" in report.blockers
    assert report.evidence_chain is not None
    assert report.evidence_chain.blockers == ["chain.signature_missing"]
    index = _chain(tmp_path, files)  # signed now: the env key is set
    _, report = _pack(tmp_path, {**files, "evidence_chain": index})
    assert _chain_codes(report) == []
    assert report.evidence_chain is not None
    assert report.evidence_chain.signature.verified is True


def _green(name: str, sha: str) -> LoadedArtifact:
    return LoadedArtifact(ArtifactStatus(
        name=name, path=f"{name}.json", required=True, exists=True, passed=True, sha256=sha,
        size_bytes=10, kind=None, schema_version=None, summary="green", blocker=None,
        blockers=[]))


def _verification(members: list[Member], *, tamper: str | None = None
                  ) -> EvidenceChainVerification:
    stamp = factories.stamp()
    index = build_index(members, stamp=stamp)
    files = {i: Observed(True, "0" * 64 if m.name == tamper else m.sha256, m.size_bytes)
             for i, m in enumerate(members)}
    seen = ChainObservations(index_path="i.json", index_sha256="1" * 64,
                             index_data=index.to_json_dict(), files=files)
    return verify_chain(index, seen, stamp=stamp, expected_release=RELEASE)


def test_the_pure_evaluator_goes_only_with_a_verified_chain_covering_everything() -> None:
    names = [n for n in pack.DEFAULT_REQUIRED if n != "evidence_chain"]
    digests = {n: hashlib.sha256(n.encode()).hexdigest() for n in names}
    loaded = {n: _green(n, digests[n]) for n in names}
    loaded["evidence_chain"] = _green("evidence_chain", "2" * 64)
    members = [Member(n, f"../{n}.json", digests[n], 10) for n in names]
    policy = pack.PackPolicy(release=RELEASE, profile="real_local")
    output = pack.PackOutput("out", "out/p.json", "out/p.md")
    stamp = factories.stamp()
    go = pack.evaluate(loaded, policy, stamp=stamp, output=output,
                       chain=_verification(members))
    assert go.passed
    assert go.blockers == []
    broken = pack.evaluate(loaded, policy, stamp=stamp, output=output,
                           chain=_verification(members, tamper="service_markers"))
    assert broken.blockers == ["evidence_chain.broken"]
    partial = pack.evaluate(loaded, policy, stamp=stamp, output=output,
                            chain=_verification(members[1:]))
    assert partial.blockers == [f"{names[0]}.not_in_chain"]
    unverifiable = pack.evaluate(loaded, policy, stamp=stamp, output=output, chain=None)
    assert unverifiable.blockers == ["evidence_chain.broken"]


def test_intoto_statement_names_every_artifact_and_the_pack_by_digest(tmp_path: Path) -> None:
    files = _evidence(tmp_path)
    index = _chain(tmp_path, files)
    out = tmp_path / "attest" / "pack.intoto.json"
    _, report = _pack(tmp_path, {**files, "evidence_chain": index}, "--intoto", str(out))
    raw = json.loads(out.read_text())
    assert raw["_type"] == "https://in-toto.io/Statement/v1"
    statement = InTotoStatement.model_validate(raw)
    by_name = {s.name: s.digest["sha256"] for s in statement.subject}
    for status in report.artifacts:
        assert by_name[status.name] == status.sha256
    pack_bytes = (tmp_path / "pack" / "release_evidence_pack.json").read_bytes()
    assert by_name["release_evidence_pack.json"] == hashlib.sha256(pack_bytes).hexdigest()
    assert statement.predicateType.endswith("/release-evidence-pack/v1")
    assert statement.predicate["passed"] is report.passed
    assert statement.predicate["blockers"] == report.blockers
    assert statement.predicate["evidence_chain"]["verified"] is True
