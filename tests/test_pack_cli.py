"""``dpone ops release-evidence-pack``: exit codes, additive requirements, reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpone_ops.cli import main
from dpone_ops.models.pack import ReleaseEvidencePack
from dpone_ops.release_evidence_pack import DEFAULT_REQUIRED
from tests import factories

BASE = ["ops", "release-evidence-pack", "--release", "v1.2.3", "--profile", "real_local",
        "--commit-sha", factories.COMMIT]


def run_pack(tmp_path: Path, *extra: str) -> tuple[int, ReleaseEvidencePack]:
    out = tmp_path / "pack"
    code = main([*BASE, *extra, "--output-dir", str(out)])
    return code, ReleaseEvidencePack.model_validate_json(
        (out / "release_evidence_pack.json").read_bytes())


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def test_nothing_provided_blocks_on_all_six_defaults(tmp_path: Path) -> None:
    code, pack = run_pack(tmp_path)
    assert code == 1
    assert pack.required == list(DEFAULT_REQUIRED)
    assert pack.blockers == sorted(f"{name}.missing" for name in DEFAULT_REQUIRED)
    assert pack.evidence_status == "FAIL"


def test_require_adds_to_the_defaults_never_replaces_them(tmp_path: Path) -> None:
    markers = factories.write(tmp_path / "sm.json", factories.service_markers())
    code, pack = run_pack(tmp_path, "--artifact", f"service_markers={markers}",
                          "--require", "extra_gate")
    assert code == 1
    assert pack.required == [*DEFAULT_REQUIRED, "extra_gate"]
    assert "extra_gate.missing" in pack.blockers
    for name in DEFAULT_REQUIRED:
        if name != "service_markers":
            assert f"{name}.missing" in pack.blockers
    assert "service_markers.missing" not in pack.blockers


def test_a_provided_red_artifact_is_not_passed(tmp_path: Path) -> None:
    red = factories.write(tmp_path / "sm.json", factories.service_markers(green=False))
    code, pack = run_pack(tmp_path, "--artifact", f"service_markers={red}")
    assert code == 1
    assert "service_markers.not_passed" in pack.blockers
    status = next(a for a in pack.artifacts if a.name == "service_markers")
    assert status.exists
    assert not status.passed
    assert status.sha256


def test_an_optional_artifact_still_has_to_be_green(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text("{}")
    _, pack = run_pack(tmp_path, "--release-type", "patch-docs",
                       "--artifact", f"extra={extra}")
    assert "extra.not_passed" in pack.blockers
    assert next(a for a in pack.artifacts if a.name == "extra").required is False


@pytest.mark.parametrize(
    ("release_type", "required"),
    [
        ("patch-docs", ["pre_release_checklist"]),
        ("patch", ["service_markers", "pre_release_checklist", "evidence_chain"]),
        ("minor", list(DEFAULT_REQUIRED)),
        ("major", list(DEFAULT_REQUIRED)),
    ],
)
def test_release_type_decides_the_required_artifacts(
    tmp_path: Path, release_type: str, required: list[str]
) -> None:
    _, pack = run_pack(tmp_path, "--release-type", release_type)
    assert pack.required == required
    assert pack.release_type == release_type


def test_affected_external_providers_make_a_major_need_vendor_live(tmp_path: Path) -> None:
    _, pack = run_pack(tmp_path, "--release-type", "major", "--external-providers-affected")
    assert pack.required[-1] == "vendor_live"
    assert "vendor_live.missing" in pack.blockers


def test_minor_release_needs_the_real_local_profile(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    code = main(["ops", "release-evidence-pack", "--release", "v1.2.3", "--profile",
                 "local_live", "--release-type", "minor", "--commit-sha", factories.COMMIT,
                 "--output-dir", str(out)])
    pack = ReleaseEvidencePack.model_validate_json(
        (out / "release_evidence_pack.json").read_bytes()
    )
    assert code == 1
    assert "profile.not_release_candidate" in pack.blockers


def test_artifacts_of_another_release_are_mismatches(tmp_path: Path) -> None:
    other = factories.write(tmp_path / "sm.json",
                            factories.service_markers(factories.stamp(release="v0.9.0")))
    _, pack = run_pack(tmp_path, "--artifact", f"service_markers={other}")
    assert "service_markers.release_mismatch" in pack.blockers


@pytest.mark.parametrize(
    "argv",
    [
        ["--artifact", "oops"],
        ["--artifact", "=x.json"],
        ["--artifact", "a=x.json", "--artifact", "a=y.json"],
        ["--require", "bad name"],
        ["--release-type", "hotfix"],
        ["--format", "yaml"],
        ["--commit-sha", "xyz"],
        ["--no-such-flag"],
    ],
)
def test_unusable_flags_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    out = tmp_path / "pack"
    assert main([*BASE, *argv, "--output-dir", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("dpone: error:")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    assert not out.exists()


def test_missing_release_or_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "release-evidence-pack", "--profile", "real_local"]) == 2
    assert "--release" in capsys.readouterr().err
    assert main(["ops", "release-evidence-pack", "--release", "v1"]) == 2
    assert "--profile" in capsys.readouterr().err


def test_same_inputs_and_epoch_give_byte_identical_files(tmp_path: Path) -> None:
    markers = factories.write(tmp_path / "sm.json", factories.service_markers())
    argv = [*BASE, "--artifact", f"service_markers={markers}", "--output-dir",
            str(tmp_path / "pack")]
    main(argv)
    first = {p.name: p.read_bytes() for p in (tmp_path / "pack").iterdir()}
    main(argv)
    second = {p.name: p.read_bytes() for p in (tmp_path / "pack").iterdir()}
    assert sorted(first) == ["release_evidence_pack.json", "release_evidence_pack.md"]
    assert first == second


def test_stdout_carries_the_requested_format(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    main([*BASE, "--output-dir", str(tmp_path / "a"), "--format", "json"])
    assert json.loads(capsys.readouterr().out)["kind"] == "release_evidence_pack"
    main([*BASE, "--output-dir", str(tmp_path / "b"), "--format", "md"])
    out = capsys.readouterr().out
    assert out == (tmp_path / "b" / "release_evidence_pack.md").read_text()
    assert out.startswith("# Release evidence pack v1.2.3")


def test_markdown_has_the_table_blockers_and_runbook(tmp_path: Path) -> None:
    run_pack(tmp_path)
    md = (tmp_path / "pack" / "release_evidence_pack.md").read_text()
    assert "| artifact | required | exists | passed | sha256 | summary | path |" in md
    assert "- `evidence_chain.missing`" in md
    assert "## Runbook" in md
    assert "Never edit evidence by hand" in md
    assert "immutable after tagging" in md
