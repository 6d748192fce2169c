"""``docs_check.json``: what ``dpone docs check-docs`` found."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from dpone_ops.models.base import Artifact, NonNegInt, StrictModel

DocsRule = Literal[
    "fence", "yaml", "json", "toml", "example", "link", "anchor", "command", "cli-reference"
]


class DocsFinding(StrictModel):
    """One problem at ``path:line`` (path relative to the docs directory)."""

    path: str
    line: NonNegInt
    rule: DocsRule
    message: str


class DocsCheck(Artifact):
    """The documentation gate: every block parses, every link and command resolves."""

    kind: Literal["docs_check"] = "docs_check"
    docs_dir: str
    files_checked: NonNegInt
    findings: list[DocsFinding]

    @model_validator(mode="after")
    def _docs_rules(self) -> DocsCheck:
        if self.passed and self.findings:
            raise ValueError("a docs check with findings cannot pass")
        if self.passed and self.files_checked == 0:
            raise ValueError("checking no pages cannot pass")
        return self
