"""``certification_run.json``: what ``dpone ops certify`` ran and the verdict it reached."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from dpone_ops.models.base import Artifact, BlockerCode, StrictModel
from dpone_ops.models.pack import ReleaseType
from dpone_ops.models.status import ArtifactStatus

StepStatus = Literal["PASS", "FAIL", "UNVERIFIED", "MISSING", "ERROR"]


class PytestRun(StrictModel):
    """The plan's pytest step, run as a subprocess in the project directory."""

    argv: list[str]
    cwd: str
    exit_status: int
    duration_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class CertifyStep(StrictModel):
    """One gate, run in-process through the same handler as its ``dpone ops`` command."""

    name: str
    argv: list[str]
    exit_code: int
    status: StepStatus
    report: str
    summary: str
    error: str | None = Field(
        default=None, description="the one-line message of a gate that could not run (exit 2)"
    )


class BlockerLine(StrictModel):
    """A blocker, the artifact it came from, and what to do about it."""

    code: BlockerCode
    source: str
    runbook: str


class CertificationRun(Artifact):
    """The whole gate for one project: pytest, every gate, the chain and the pack."""

    kind: Literal["certification_run"] = "certification_run"
    project: str
    output_dir: str
    release_type: ReleaseType
    pytest: PytestRun
    steps: list[CertifyStep]
    pack: ArtifactStatus
    artifacts: list[ArtifactStatus]
    causes: list[BlockerLine]

    @model_validator(mode="after")
    def _run_rules(self) -> CertificationRun:
        if self.passed and not self.pack.passed:
            raise ValueError("a certification run cannot pass while its pack is red")
        if self.passed and self.pytest.exit_status != 0:
            raise ValueError("a certification run cannot pass while pytest exited non-zero")
        if sorted({c.code for c in self.causes}) != self.blockers:
            raise ValueError("causes must explain exactly the blockers")
        return self
