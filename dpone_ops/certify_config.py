"""``[tool.dpone]`` in a project's pyproject: what ``dpone ops certify`` runs and demands.

The model is strict: an unknown key is an error naming it (a typo such as ``relase``
must not silently drop the release), and every value is checked before anything runs.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator

from dpone_ops.errors import InputError
from dpone_ops.live_certification import KNOWN_SERVICES
from dpone_ops.models.base import StrictModel
from dpone_ops.models.pack import ReleaseType
from dpone_ops.performance_certification import DEFAULT_ROW_COUNT, MAX_ROW_COUNT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib

Profile = Literal["local_live", "real_local", "vendor_live"]
STATE_CHECKS = ("xmin_state", "kafka_offsets", "cdc_offsets", "run_state")
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,99}$")]
PYPROJECT = "pyproject.toml"
TABLE = "[tool.dpone]"


class Thresholds(StrictModel):
    """Performance thresholds, ``{metric: value}``; at least one is needed."""

    minimum: dict[Name, float] = Field(default_factory=dict)
    maximum: dict[Name, float] = Field(default_factory=dict)

    @field_validator("minimum", "maximum")
    @classmethod
    def _finite(cls, values: dict[str, float]) -> dict[str, float]:
        for metric, value in values.items():
            if not math.isfinite(value):
                raise ValueError(f"threshold {metric} must be a finite number")
        return values

    @model_validator(mode="after")
    def _not_empty(self) -> Thresholds:
        if not self.minimum and not self.maximum:
            raise ValueError("give at least one minimum or maximum threshold; performance "
                             "is never certified without one")
        return self


class CertifyConfig(StrictModel):
    """The ``[tool.dpone]`` table; ``--profile`` / ``--release`` flags override it."""

    profile: Profile | None = None
    release: str | None = Field(default=None, min_length=1, max_length=100)
    release_type: ReleaseType
    required_services: list[Name] = Field(default_factory=list)
    required_state: list[str] = Field(default_factory=list)
    test_paths: list[str] = Field(default_factory=lambda: ["tests"], min_length=1)
    row_count: int = Field(default=DEFAULT_ROW_COUNT, ge=1, le=MAX_ROW_COUNT)
    thresholds: Thresholds
    pytest_args: list[str] = Field(default_factory=list)

    @field_validator("required_services")
    @classmethod
    def _known_services(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in KNOWN_SERVICES]
        if unknown:
            raise ValueError(f"unknown service {unknown[0]!r}; known: {', '.join(KNOWN_SERVICES)}")
        return names

    @field_validator("required_state")
    @classmethod
    def _backend_checks(cls, pairs: list[str]) -> list[str]:
        for pair in pairs:
            backend, sep, check = pair.partition(":")
            if not sep or not backend or check not in STATE_CHECKS:
                raise ValueError(f"{pair!r} is not backend:check with check one of "
                                 f"{', '.join(STATE_CHECKS)}")
        return pairs

    @field_validator("test_paths")
    @classmethod
    def _inside_project(cls, paths: list[str]) -> list[str]:
        for path in paths:
            pure = PurePosixPath(path)
            if not path.strip() or pure.is_absolute() or ".." in pure.parts:
                raise ValueError(f"test path {path!r} must be relative and inside the project")
        return paths

    @property
    def state_backends(self) -> list[str]:
        return sorted({pair.partition(":")[0] for pair in self.required_state})


def _describe(exc: ValidationError) -> str:
    """The first problem, naming the key: unknown keys and bad values alike."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    if err["type"] == "missing":
        return f"missing key {where!r}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_config(table: Any, *, source: str) -> CertifyConfig:
    """Validate a ``[tool.dpone]`` table; any problem is an :class:`InputError` (exit 2)."""
    if not isinstance(table, dict):
        raise InputError(f"{source}: {TABLE} must be a table")
    try:
        return CertifyConfig.model_validate(table)
    except ValidationError as exc:
        raise InputError(f"{source} {TABLE}: {_describe(exc)}") from None


def load_config(project: Path) -> CertifyConfig:
    """Read and validate ``<project>/pyproject.toml``'s ``[tool.dpone]``."""
    if not project.is_dir():
        raise InputError(f"--project {project}: not a directory")
    path = project / PYPROJECT
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found; certify needs the project's pyproject") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("dpone") if isinstance(data.get("tool"), dict) else None
    if table is None:
        raise InputError(f"{path}: no {TABLE} table; it names the profile, release, "
                         "release_type, thresholds and test paths")
    config = parse_config(table, source=str(path))
    for test_path in config.test_paths:
        if not (project / test_path).exists():
            raise InputError(f"{path} {TABLE}: test path {test_path!r} does not exist")
    return config
