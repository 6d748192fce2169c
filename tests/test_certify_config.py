"""certify's ``[tool.dpone]`` config: strict, every problem an exit 2 that names it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dpone_ops import certify
from dpone_ops.certify_config import CertifyConfig, load_config
from dpone_ops.cli import main
from dpone_ops.provenance import git_head

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "quickstart"
GOOD = """
[tool.dpone]
profile = "local_live"
release = "v1.2.3"
release_type = "patch"
required_services = ["postgres"]
required_state = ["postgres:xmin_state"]
test_paths = ["tests"]
row_count = 500

[tool.dpone.thresholds]
minimum = { throughput_rows_per_second = 100 }
maximum = { failure_rate = 0, duration_seconds = 2.5 }
"""


def project(tmp_path: Path, text: str, *, tests: bool = True) -> Path:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    if tests:
        (tmp_path / "tests").mkdir(exist_ok=True)
    return tmp_path


def edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (edit('release = "v1.2.3"', 'relase = "v1.2.3"'), "unknown key 'relase'"),
        (edit("[tool.dpone.thresholds]", "[tool.dpone.thresholds]\nmaximun = {}"),
         "unknown key 'thresholds.maximun'"),
        (edit('release_type = "patch"', 'release_type = "feature"'), "release_type"),
        (edit('release_type = "patch"\n', ""), "missing key 'release_type'"),
        (edit('profile = "local_live"', 'profile = "staging"'), "profile"),
        (edit('["postgres"]', '["postgress"]'), "unknown service 'postgress'"),
        (edit('"postgres:xmin_state"', '"postgres"'), "'postgres' is not backend:check"),
        (edit('"postgres:xmin_state"', '"postgres:lsn"'), "is not backend:check"),
        (edit('test_paths = ["tests"]', 'test_paths = ["/etc"]'), "must be relative"),
        (edit('test_paths = ["tests"]', 'test_paths = ["../tests"]'), "must be relative"),
        (edit('test_paths = ["tests"]', 'test_paths = ["nowhere"]'),
         "test path 'nowhere' does not exist"),
        (edit('test_paths = ["tests"]', "test_paths = []"), "test_paths"),
        (edit("row_count = 500", "row_count = 0"), "row_count"),
        (edit("row_count = 500", "row_count = true"), "row_count"),
        (edit("row_count = 500", 'row_count = "500"'), "row_count"),
        (edit("minimum = { throughput_rows_per_second = 100 }\n"
              "maximum = { failure_rate = 0, duration_seconds = 2.5 }", ""),
         "at least one minimum or maximum threshold"),
        (edit("failure_rate = 0", "failure_rate = nan"), "finite"),
        (edit("failure_rate = 0", 'failure_rate = "0"'), "thresholds.maximum.failure_rate"),
        (GOOD.split("[tool.dpone.thresholds]")[0], "missing key 'thresholds'"),
        ("[project]\nname = 'x'\n", "no [tool.dpone] table"),
        ("[tool.dpone\n", "invalid TOML"),
        ('[tool]\ndpone = "x"\n', "[tool.dpone] must be a table"),
        (edit('release = "v1.2.3"\n', ""), "no release"),
        (edit('profile = "local_live"\n', ""), "no profile"),
    ],
)
def test_an_unusable_config_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str,
) -> None:
    root = project(tmp_path, text)
    code = main(["ops", "certify", "--project", str(root), "--output-dir",
                 str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.startswith("dpone: error: ")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_a_missing_project_or_pyproject_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ops", "certify", "--project", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["ops", "certify", "--project", str(tmp_path)]) == 2
    assert "pyproject.toml: not found" in capsys.readouterr().err


def test_an_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "certify", "--project", str(QUICKSTART), "--format", "xml"]) == 2
    assert "--format" in capsys.readouterr().err


def test_the_quickstart_config_is_a_patch_release_with_thresholds() -> None:
    config = load_config(QUICKSTART)
    assert config == CertifyConfig(
        profile="local_live", release="v0.1.0", release_type="patch",
        required_services=["postgres"], required_state=["postgres:xmin_state"],
        test_paths=["tests"], row_count=2000,
        thresholds={"minimum": {"throughput_rows_per_second": 500.0},  # type: ignore[arg-type]
                    "maximum": {"duration_seconds": 30.0, "memory_peak_mb": 1024.0,
                                "failure_rate": 0.0}},
    )


def test_flags_override_the_config_and_the_pytest_step_carries_the_binding(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, GOOD)
    target = certify.resolve_target(root, output_dir=tmp_path / "ev", profile="real_local",
                                    release="v9.9.9", pytest_args=["-x"])
    argv = certify.pytest_argv(target, environ={})
    assert argv[:4] == [sys.executable, "-m", "pytest", "tests"]
    joined = " ".join(argv)
    assert f"--dpone-evidence-dir {tmp_path / 'ev'}" in joined
    assert "--dpone-profile real_local --dpone-release v9.9.9" in joined
    assert "--dpone-require-service postgres" in joined
    assert argv[argv.index("-o") + 1] == "dpone_required_state_checks=postgres:xmin_state"
    assert argv[-1] == "-x"
    assert "-p" not in argv
    assert certify.pytest_argv(target, environ={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})[3:5] \
        == ["-p", "pytest_dpone.plugin"]
    env = certify.pytest_env(target, {"PATH": "/bin"})
    assert env["DPONE_ROW_COUNT"] == "500"
    # The project's own commit (none here: tmp_path is no git checkout) is what pytest and
    # every gate get.
    assert target.commit_sha is None or target.commit_sha == git_head(str(root))
    assert "--dpone-commit-sha" not in argv or target.commit_sha in argv


def test_the_quickstart_resolves_to_its_repository_head() -> None:
    target = certify.resolve_target(QUICKSTART, output_dir=None, profile=None, release=None)
    assert target.commit_sha == git_head(str(REPO))
    assert target.output_dir == QUICKSTART / "test_artifacts" / "live_certification"
    argv = certify.pytest_argv(target, environ={})
    assert argv[argv.index("--dpone-commit-sha") + 1] == target.commit_sha
    gates = dict(certify.gate_argvs(target))
    for name in ("performance_certification", "live_state_reconciliation",
                 "certification_pack", "pre_release_checklist", "release_evidence_pack"):
        assert gates[name][gates[name].index("--commit-sha") + 1] == target.commit_sha
    assert "--release-type" in gates["release_evidence_pack"]
    assert gates["live_state_reconciliation"][-5:-4] == ["postgres"]
