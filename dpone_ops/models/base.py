"""The strict base every artifact model shares, and the registry of kinds.

The model is the schema, the validator and the serializer: cross-field rules live in
``model_validator(mode="after")`` and quote the rule they enforce.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dpone_ops.provenance import producer

EvidenceStatus = Literal["PASS", "FAIL", "UNVERIFIED"]
CommitSha = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Timestamp = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")
]
# `<subject>.<reason>`; subjects may themselves be dotted (`service.postgres.missing`).
BlockerCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+$", max_length=200)
]
# Counts and sizes stay within what every JSON reader holds exactly (IEEE double): a count
# of 10**40 is a forged or corrupted artifact, not a measurement.
MAX_SAFE_INTEGER = 2**53 - 1
NonNegInt = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]
PosInt = Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)]

KINDS: dict[str, type[Artifact]] = {}

A = TypeVar("A", bound="Artifact")


class StrictModel(BaseModel):
    """Frozen, no extra fields, no silent coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Producer(StrictModel):
    name: str
    version: str


class Stamp(StrictModel):
    """What a consumer binds an artifact to, plus the moment it was written."""

    release: str | None = None
    profile: str | None = None
    commit_sha: CommitSha | None = None
    generated_at: Timestamp


class Artifact(StrictModel):
    """The common header of SPEC §3.1. Subclasses pin ``kind`` with a ``Literal``."""

    schema_version: str
    kind: str
    producer: Producer
    release: str | None
    profile: str | None
    commit_sha: CommitSha | None
    generated_at: Timestamp
    passed: bool
    evidence_status: EvidenceStatus
    blockers: list[BlockerCode]
    summary: str

    KIND: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        default = cls.model_fields["kind"].default
        if isinstance(default, str) and default:
            if default in KINDS and KINDS[default].__qualname__ != cls.__qualname__:
                raise TypeError(f"artifact kind {default!r} registered twice")
            cls.KIND = default
            KINDS[default] = cls

    @model_validator(mode="after")
    def _header_rules(self) -> Artifact:
        expected = f"dpone.{self.kind}.v1"
        if self.schema_version != expected:
            raise ValueError(f"schema_version must be {expected!r} for kind {self.kind!r}")
        if self.blockers != sorted(set(self.blockers)):
            raise ValueError("blockers must be sorted and unique")
        if self.passed == bool(self.blockers):
            raise ValueError("blockers must be empty if and only if passed is true")
        if self.passed != (self.evidence_status == "PASS"):
            raise ValueError("evidence_status must be PASS if and only if passed is true")
        # Models that record completeness (the plugin's artifacts) share this rule.
        if self.passed and getattr(self, "complete", True) is False:
            raise ValueError("an incomplete run cannot pass")
        return self

    @classmethod
    def build(
        cls: type[A],
        stamp: Stamp,
        *,
        blockers: Iterable[str],
        summary: str,
        complete: bool = True,
        executed: bool = True,
        **fields: Any,
    ) -> A:
        """Fill the header from ``stamp`` and the verdict from ``blockers``.

        An incomplete artifact always carries ``<kind>.incomplete`` (and ``complete: false``
        on models that have that field). A red artifact is
        ``UNVERIFIED`` when it is incomplete or nothing was executed, else ``FAIL``.
        """
        if "complete" in cls.model_fields:  # models that record completeness get it too
            fields["complete"] = complete
        codes = set(blockers)
        if not complete:
            codes.add(f"{cls.KIND}.incomplete")
        ordered = sorted(codes)
        passed = not ordered
        status: EvidenceStatus = (
            "PASS" if passed else ("FAIL" if complete and executed else "UNVERIFIED")
        )
        return cls.model_validate(
            {
                "schema_version": f"dpone.{cls.KIND}.v1",
                "kind": cls.KIND,
                "producer": producer(),
                "release": stamp.release,
                "profile": stamp.profile,
                "commit_sha": stamp.commit_sha,
                "generated_at": stamp.generated_at,
                "passed": passed,
                "evidence_status": status,
                "blockers": ordered,
                "summary": summary,
                **fields,
            }
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON-mode dump that the canonical writer serialises."""
        return self.model_dump(mode="json")
