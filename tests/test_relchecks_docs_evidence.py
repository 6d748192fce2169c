"""docs_check.json from `dpone docs check-docs --output-dir` proves the documentation check."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpone_ops.cli import main
from dpone_ops.models.gates import PreReleaseChecklist
from tests.gates_factories import EPOCH

COMMIT = "0123456789abcdef0123456789abcdef01234567"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _broken_docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Guide\n\nSee [a page that is gone](gone.md).\n", "utf-8")
    return docs


@pytest.mark.parametrize(
    ("docs", "code", "blockers"),
    [(lambda p: ROOT / "docs", 0, []), (_broken_docs, 1, ["documentation.not_passed"])],
    ids=["this project's docs", "broken link"],
)
def test_the_docs_check_artifact_proves_the_documentation_check(
    tmp_path: Path, docs: object, code: int, blockers: list[str]
) -> None:
    assert callable(docs)
    main(["docs", "check-docs", "--docs-dir", str(docs(tmp_path)), "--commit-sha", COMMIT,
          "--output-dir", str(tmp_path / "docs-out"), "--format", "json"])
    artifact = tmp_path / "docs-out" / "docs_check.json"
    out = tmp_path / "out"
    assert main(["ops", "pre-release-checklist", "--release", "v0.7.1", "--commit-sha", COMMIT,
                 "--release-type", "patch-docs", "--check-artifact",
                 f"documentation={artifact}", "--require-evidence", "--output-dir",
                 str(out)]) == code
    report = PreReleaseChecklist.model_validate_json(
        (out / "pre_release_checklist.json").read_bytes())
    assert report.blockers == blockers
    (item,) = report.checks
    assert item.source == "evidence"
    assert item.artifact is not None
    assert item.artifact.kind == "docs_check"
