"""Offline check of ``docker/docker-compose.integration.yml`` (no Docker engine needed).

:func:`evaluate` is pure: it takes the parsed YAML document, the environment used for
``${VAR:-default}`` interpolation and, when available, the Compose JSON Schema, and
returns every finding at once. The structural rules encode the contract (SPEC §7,
contract-reference §8): the six services plus the bucket-init job, each with an image,
a healthcheck that runs the agreed probe, host ports whose defaults are the contract's
and which an env var can override, schema-registry waiting for a healthy kafka, and
postgres with ``wal_level=logical``.

The schema is not vendored: :func:`find_compose_schema` looks for the ``compose_spec.json``
that the ``docker-compose`` (v1) distribution from PyPI ships, or ``DPONE_COMPOSE_SCHEMA``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpone_ops.artifact_validation import read_file
from dpone_ops.errors import InputError
from dpone_ops.strict_json import StrictJSONError, loads_strict


@dataclass(frozen=True)
class ServiceContract:
    ports: tuple[int, ...] = ()
    probe_words: tuple[str, ...] = ()
    depends_healthy: tuple[str, ...] = ()
    needs_healthcheck: bool = True
    must_mention: tuple[str, ...] = ()


CONTRACT: dict[str, ServiceContract] = {
    "postgres": ServiceContract(ports=(55432,), probe_words=("pg_isready",),
                                must_mention=("wal_level=logical",)),
    "mssql": ServiceContract(ports=(51433,), probe_words=("sqlcmd", "SELECT 1")),
    "clickhouse": ServiceContract(ports=(59000, 58123),
                                  probe_words=("clickhouse-client", "SELECT 1")),
    "kafka": ServiceContract(ports=(59092,), probe_words=("kafka-broker-api-versions",),
                             must_mention=("KAFKA_PROCESS_ROLES",)),
    "schema-registry": ServiceContract(ports=(58081,), probe_words=("/subjects",),
                                       depends_healthy=("kafka",)),
    "minio": ServiceContract(ports=(59090, 59091)),
    "minio-init": ServiceContract(depends_healthy=("minio",), needs_healthcheck=False,
                                  must_mention=("dpone-stage",)),
}


@dataclass(frozen=True)
class Finding:
    code: str
    message: str


@dataclass(frozen=True)
class ComposeVerdict:
    findings: list[Finding]
    schema_used: str | None
    services: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def blockers(self) -> list[str]:
        return sorted({finding.code for finding in self.findings})


_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<bad>))"
)
_PORT = re.compile(
    r"^(?:(?P<ip>[0-9.]+|\[[0-9a-fA-F:]+\]):)?"
    r"(?P<published>\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*):-(?P<default>\d+)\}|\d+)"
    r":(?P<target>\d+)(?:/(?:tcp|udp))?$"
)


def interpolate_text(text: str, environ: Mapping[str, str]) -> str:
    """Compose-style ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``, ``${VAR:?e}``."""

    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("bad") is not None and not match.group("bare"):
            raise ValueError(f"invalid interpolation in {text!r}")
        name = match.group("braced") or match.group("bare")
        value = environ.get(name)
        op, arg = match.group("op"), match.group("arg") or ""
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                return arg
        elif op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise ValueError(f"required variable {name} is missing: {arg}")
        elif op == ":+":
            return arg if value else ""
        elif op == "+":
            return arg if value is not None else ""
        return value or ""

    return _VAR.sub(substitute, text)


def interpolate(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate_text(value, environ)
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    return value


def find_compose_schema(environ: Mapping[str, str]) -> Path | None:
    """The Compose JSON Schema file: ``DPONE_COMPOSE_SCHEMA``, else docker-compose v1's copy."""
    explicit = environ.get("DPONE_COMPOSE_SCHEMA", "").strip()
    if explicit:
        return Path(explicit)
    # find_spec on a top-level name locates the package without executing it.
    spec = importlib.util.find_spec("compose")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "config" / "compose_spec.json"
        if candidate.is_file():
            return candidate
    return None


def _words(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, dict):
        return " ".join(f"{key}={_words(item)}" for key, item in value.items())
    return "" if value is None else str(value)


def _check_ports(name: str, raw: Any, contract: ServiceContract) -> list[Finding]:
    if not isinstance(raw, list) or not raw:
        return [Finding(f"{name}.ports.missing", f"{name}: no host ports published")]
    findings: list[Finding] = []
    defaults: list[int] = []
    for entry in raw:
        published: str | None
        if isinstance(entry, dict):
            published = None if entry.get("published") is None else str(entry["published"])
            target = entry.get("target")
            text = f"{published}:{target}"
            match = _PORT.match(text) if published is not None and target is not None else None
        else:
            text = str(entry)
            match = _PORT.match(text)
        if match is None:
            findings.append(Finding(f"{name}.ports.invalid",
                                    f"{name}: port {text!r} is not [ip:]published:target"))
            continue
        if match.group("var") is None:
            findings.append(Finding(
                f"{name}.ports.not_overridable",
                f"{name}: published port {match.group('published')} is fixed; "
                "write it as ${VAR:-port} so the environment can override it",
            ))
            defaults.append(int(match.group("published")))
        else:
            defaults.append(int(match.group("default")))
    missing = sorted(set(contract.ports) - set(defaults))
    if missing:
        findings.append(Finding(
            f"{name}.ports.contract_mismatch",
            f"{name}: default host ports {sorted(defaults)} lack the contract's {missing}",
        ))
    return findings


def _check_service(name: str, spec: Any, contract: ServiceContract) -> list[Finding]:
    if not isinstance(spec, dict):
        return [Finding(f"{name}.invalid", f"{name}: service definition is not a mapping")]
    findings: list[Finding] = []
    image = spec.get("image")
    if not isinstance(image, str) or not image.strip():
        findings.append(Finding(f"{name}.image.missing", f"{name}: no image"))
    if contract.needs_healthcheck:
        health = spec.get("healthcheck")
        test = health.get("test") if isinstance(health, dict) else None
        disabled = isinstance(health, dict) and health.get("disable") is True
        if not test or disabled or test == ["NONE"]:
            findings.append(Finding(f"{name}.healthcheck.missing",
                                    f"{name}: no healthcheck with a test"))
        else:
            command = _words(test)
            absent = [word for word in contract.probe_words if word not in command]
            if absent:
                findings.append(Finding(
                    f"{name}.healthcheck.wrong_probe",
                    f"{name}: healthcheck {command!r} does not run {' / '.join(absent)}",
                ))
    if contract.ports or "ports" in spec:
        findings += _check_ports(name, spec.get("ports"), contract)
    depends = spec.get("depends_on")
    for needed in contract.depends_healthy:
        condition = depends.get(needed, {}).get("condition") if isinstance(depends, dict) else None
        if condition != "service_healthy":
            findings.append(Finding(
                f"{name}.depends_on.{needed}_not_healthy",
                f"{name}: must wait for {needed} with condition: service_healthy",
            ))
    mentioned = _words({k: spec.get(k) for k in ("command", "entrypoint", "environment")})
    for word in contract.must_mention:
        if word not in mentioned:
            findings.append(Finding(f"{name}.config.missing_{_slug(word)}",
                                    f"{name}: command/environment must set {word}"))
    return findings


def _slug(word: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_")


def evaluate(document: Any, *, environ: Mapping[str, str],
             schema: Mapping[str, Any] | None = None, schema_name: str | None = None,
             contract: Mapping[str, ServiceContract] | None = None) -> ComposeVerdict:
    """Judge one compose document.

    1. The top level must be a mapping with a ``services`` mapping.
    2. Interpolate ``${...}`` with ``environ``; a malformed or required-but-unset
       variable is a finding.
    3. When a schema is given, validate the interpolated document against it and
       report every error with its JSON path.
    4. Check every service of the contract: present, image, healthcheck running the
       agreed probe, overridable host ports with the contract's defaults, healthy
       dependencies, and required settings (``wal_level=logical``, KRaft, bucket).
    """
    contract = CONTRACT if contract is None else contract
    findings: list[Finding] = []
    # 1.
    if not isinstance(document, dict):
        return ComposeVerdict([Finding("compose.invalid", "top level is not a mapping")],
                              schema_name)
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        return ComposeVerdict([Finding("compose.services.missing", "no services mapping")],
                              schema_name)
    # 2.
    try:
        resolved = interpolate(document, environ)
    except ValueError as exc:
        findings.append(Finding("compose.interpolation.invalid", str(exc)))
        resolved = None
    # 3.
    if schema is not None and resolved is not None:
        findings += _schema_findings(resolved, schema)
    # 4.
    for name, service_contract in contract.items():
        if name not in services:
            findings.append(Finding(f"{name}.missing", f"service {name!r} is not defined"))
            continue
        findings += _check_service(name, services[name], service_contract)
    return ComposeVerdict(sorted(findings, key=lambda f: (f.code, f.message)), schema_name,
                          sorted(str(name) for name in services))


def _schema_findings(document: Any, schema: Mapping[str, Any]) -> list[Finding]:
    from jsonschema import validators

    # compose_spec.json names its draft as "http://...draft/2019-09/schema#", a spelling
    # jsonschema does not look up; pick the draft by its tag instead.
    declared = str(schema.get("$schema", ""))
    by_tag = {"2020-12": validators.Draft202012Validator,
              "2019-09": validators.Draft201909Validator,
              "draft-07": validators.Draft7Validator, "draft-04": validators.Draft4Validator}
    tagged = [cls for tag, cls in by_tag.items() if tag in declared]
    validator_class = tagged[0] if tagged else validators.validator_for(schema)
    validator = validator_class(schema)
    findings = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        findings.append(Finding("compose.schema_invalid", f"{where}: {error.message}"))
    return findings


def load_document(path: Path) -> Any:
    """Parse a compose file; unreadable or non-YAML input is an :class:`InputError`."""
    try:
        import yaml
    except ImportError:
        raise InputError(
            "compose-check needs PyYAML: pip install 'pytest-dpone[services]'"
        ) from None
    text = _read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(f"{path} is not usable YAML: nested too deeply") from None


def _read_text(path: Path) -> str:
    """A regular file within the artifact size limit, as UTF-8 (a FIFO would block)."""
    read = read_file(path)
    if read.payload is None:
        raise InputError(f"cannot read {path}: {read.problem}")
    try:
        return read.payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {path}: not UTF-8 (byte {exc.start})") from None


def load_schema(path: Path) -> dict[str, Any]:
    try:
        data = loads_strict(_read_text(path))
    except StrictJSONError as exc:
        raise InputError(f"cannot use Compose schema {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"Compose schema {path} is not a JSON object")
    return data
